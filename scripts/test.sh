#!/usr/bin/env bash
# The README's test command: sets up, then runs every test twice: in a
# normal build and in an AddressSanitizer + UndefinedBehaviorSanitizer
# build. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

PY=.venv/bin/python
DATA=build/onnx-data
$PY tests/conformance/gen_node_data.py "$DATA"

run_suite() {
    local dir=$1
    EMBER_NODE_DATA="$PWD/$DATA" meson test -C "$dir" --print-errorlogs --num-processes 2 \
        --timeout-multiplier 3
}

echo "== unit, plugin and conformance tests (build/)"
run_suite build

echo "== end-to-end tests (build/)"
EMBER_BIN="$PWD/build/tools/ember" EMBER_PROVIDER_PATH="$PWD/build/providers/cpu" \
    $PY -m pytest -q tests/e2e

echo "== the same under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)"
[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbuildtype=debug >/dev/null
ninja -C build-asan >/dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_suite build-asan
