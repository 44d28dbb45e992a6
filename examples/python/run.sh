#!/usr/bin/env bash
# Runs the Python partner client against a real node in sandbox mode, on a free port and
# a fresh data directory, and exits non-zero if any check fails. The node is stopped
# either way.
#
#   examples/python/run.sh            # builds target/debug/talent-hub if missing
#   TALENT_HUB_BIN=path/to/talent-hub examples/python/run.sh
#
# The venv and the generated stubs go to $PYTHON_EXAMPLE_BUILD (default
# target/python-example), never into the source tree.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
# Keep the source tree free of __pycache__.
export PYTHONDONTWRITEBYTECODE=1

build="${PYTHON_EXAMPLE_BUILD:-$root/target/python-example}"
bin="${TALENT_HUB_BIN:-$root/target/debug/talent-hub}"
mkdir -p "$build"

if [ ! -x "$bin" ]; then
    echo "building talent-hub ($bin is missing)"
    cargo build -p hub-server --bin talent-hub
    bin="$root/target/debug/talent-hub"
fi

venv="$build/venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

stubs="$build/stubs"
rm -rf "$stubs"
mkdir -p "$stubs"
"$venv/bin/python" -m grpc_tools.protoc -I "$root/proto" \
    --python_out="$stubs" --grpc_python_out="$stubs" \
    "$root"/proto/talenthub/v1/*.proto

port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
data="$(mktemp -d)"
log="$data.log"
"$bin" --sandbox --data-dir "$data" --listen "127.0.0.1:$port" >"$log" 2>&1 &
node=$!
stop_node() {
    kill "$node" 2>/dev/null || true
    wait "$node" 2>/dev/null || true
    rm -rf "$data" "$log"
}
trap stop_node EXIT

status=0
"$venv/bin/python" "$here/worked_examples.py" --check "$root/docs/protocol.md" || status=$?
"$venv/bin/python" "$here/partner_client.py" \
    --endpoint "127.0.0.1:$port" --stubs "$stubs" --roster "$root/config/roster.toml" ||
    status=1
if [ "$status" -ne 0 ]; then
    echo "a check failed; the node's log:"
    tail -n 40 "$log" || true
fi
exit "$status"
