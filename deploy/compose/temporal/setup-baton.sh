#!/bin/sh
# One-shot, once the Temporal server is up: the namespace Baton uses and the search attributes it writes on every task
# (contracts/names.py; `baton dev` registers the same ones on the dev server). Safe to run again.
# Runs in temporalio/admin-tools (busybox sh, the `temporal` CLI).
set -eu

ATTRIBUTES="BatonAgent BatonRequester BatonChannel BatonPhase"   # each a Keyword
address="${TEMPORAL_ADDRESS:?}"
namespace="${TEMPORAL_NAMESPACE:-default}"
retention="${TEMPORAL_RETENTION:-720h}"

# The CLI may resolve the server's name to an address the server does not listen on; ask for IPv4 (as Temporal's own
# compose samples do).
host="${address%:*}"
ip="$(getent ahosts "$host" | awk '/STREAM/ && $1 ~ /^[0-9.]+$/ { print $1; exit }')"
target="${ip:-$host}:${address##*:}"

retry() {  # retry CMD...: up to 60 tries 2 s apart (the server, then its namespace cache, take a while)
    tries=0
    until "$@"; do
        tries=$((tries + 1))
        [ "$tries" -lt 60 ] || { echo "setup-baton: gave up on: $*" >&2; return 1; }
        sleep 2
    done
}

retry temporal operator cluster health --address "$target"
if temporal operator namespace describe --address "$target" --namespace "$namespace" >/dev/null 2>&1; then
    echo "setup-baton: namespace $namespace exists"
else
    temporal operator namespace create --address "$target" --namespace "$namespace" --retention "$retention"
fi

for name in $ATTRIBUTES; do
    if retry temporal operator search-attribute list --address "$target" --namespace "$namespace" > /tmp/attributes \
        && grep -qw "$name" /tmp/attributes; then
        echo "setup-baton: search attribute $name exists"
    else
        retry temporal operator search-attribute create --address "$target" --namespace "$namespace" \
            --name "$name" --type Keyword
    fi
done
echo "setup-baton: namespace $namespace is ready for Baton"
