#!/bin/sh
# Builds deploy/serverless/build/, the code the SAM template deploys (CodeUri: build/): Baton and its run-time
# dependencies for the Lambda runtime (CPython 3.12 on Amazon Linux 2023, glibc 2.34, x86_64), at the versions the container image pins
# (deploy/docker/constraints.txt), without the Temporal CLI and test-server binaries, which only `baton dev` and the
# tests use (240 MB, over Lambda's 250 MiB bound with them).
#
#     sh deploy/serverless/package.sh && sam deploy --guided -t deploy/serverless/template.yaml
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}

rm -rf "$here/build" "$here/dist"
"$python" -m pip wheel --quiet --no-deps --wheel-dir "$here/dist" "$root"
"$python" -m pip install --quiet --no-compile --target "$here/build" --constraint "$root/deploy/docker/constraints.txt" \
    --platform manylinux_2_34_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
    --implementation cp --python-version 3.12 --only-binary=:all: \
    "$here"/dist/baton-*.whl
rm -rf "$here/build/bin" "$here/dist"
# Byte code for the runtime's Python, when one is here (the installing Python's would be ignored): a cold start then
# skips compiling, since the function cannot write /var/task.
if python3.12 -c "" >/dev/null 2>&1; then python3.12 -m compileall -q "$here/build"; fi
echo "deploy/serverless/build: $(du -sm --apparent-size "$here/build" | cut -f1) MB (Lambda allows 250 MiB unzipped)"
