#!/bin/sh
# One-shot, once the Temporal server is up: the namespace Baton uses and the search attributes it writes on every task
# (contracts/names.py; `baton dev` registers the same ones on the dev server). Safe to run again: it only adds what is
# missing. Runs in temporalio/admin-tools (busybox sh and the `temporal` CLI).
set -eu

ATTRIBUTES="BatonAgent BatonRequester BatonChannel BatonPhase"   # each a Keyword
address="${TEMPORAL_ADDRESS:?}"
namespace="${TEMPORAL_NAMESPACE:-default}"
retention="${TEMPORAL_RETENTION:-720h}"
tries_max="${SETUP_TRIES:-60}"

# The CLI may resolve the server's name to an address the server does not listen on: ask for IPv4, as Temporal's own
# compose samples do.
host="${address%:*}"
ip="$(getent ahosts "$host" | awk '/STREAM/ && $1 ~ /^[0-9.]+$/ { print $1; exit }')" || true
target="${ip:-$host}:${address##*:}"

say() {
    echo "setup-baton: $*"
}

retry() {  # retry CMD...: until it succeeds, 2 s apart (the server, then its namespace cache, take a while)
    tries=0
    until "$@"; do
        tries=$((tries + 1))
        [ "$tries" -lt "$tries_max" ] || { say "gave up after $tries tries: $*" >&2; return 1; }
        sleep 2
    done
}

serving() {
    temporal operator cluster health --address "$target" 2>/dev/null | grep -q SERVING
}

namespace_exists() {
    temporal operator namespace describe --address "$target" --namespace "$namespace" >/dev/null 2>&1
}

ensure_namespace() {
    namespace_exists || temporal operator namespace create --address "$target" --namespace "$namespace" \
        --retention "$retention"
}

ensure_attribute() {  # ensure_attribute NAME: a Keyword search attribute on the namespace
    listed="$(temporal operator search-attribute list --address "$target" --namespace "$namespace")" || return 1
    if printf '%s\n' "$listed" | grep -qw "$1"; then
        say "search attribute $1 is there"
        return 0
    fi
    temporal operator search-attribute create --address "$target" --namespace "$namespace" --name "$1" \
        --type Keyword
}

retry serving
retry ensure_namespace
for name in $ATTRIBUTES; do
    retry ensure_attribute "$name"
done
say "namespace $namespace is ready for Baton"
