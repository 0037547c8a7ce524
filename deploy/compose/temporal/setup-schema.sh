#!/bin/sh
# One-shot, before the Temporal server starts: create Temporal's two databases on temporal-db and bring their schemas
# to the version this admin-tools image ships (the server's own). Safe to run again: it only applies what is missing.
# Runs in temporalio/admin-tools (busybox sh); the password comes in SQL_PASSWORD.
set -eu

host="${TEMPORAL_DB_HOST:?}"
port="${TEMPORAL_DB_PORT:-5432}"
user="${TEMPORAL_DB_USER:?}"
schemas=/etc/temporal/schema/postgresql/v12

sql() {
    temporal-sql-tool --plugin postgres12 --ep "$host" -p "$port" -u "$user" "$@"
}

tries=0
until nc -z "$host" "$port"; do
    tries=$((tries + 1))
    [ "$tries" -lt 60 ] || { echo "setup-schema: no PostgreSQL at $host:$port after 60 s" >&2; exit 1; }
    sleep 1
done

for db in temporal temporal_visibility; do
    # `create` fails when the database exists (any run after the first); a real failure makes setup-schema fail next.
    sql --db "$db" create >/dev/null 2>&1 || echo "setup-schema: database $db already exists"
done
sql --db temporal setup-schema -v 0.0
sql --db temporal update-schema -d "$schemas/temporal/versioned"
sql --db temporal_visibility setup-schema -v 0.0
sql --db temporal_visibility update-schema -d "$schemas/visibility/versioned"
echo "setup-schema: Temporal's schemas are current"
