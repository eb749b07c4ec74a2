#!/usr/bin/env bash
# The README's test command: sets up, then runs every test twice: in a
# normal build and in an AddressSanitizer + UndefinedBehaviorSanitizer
# build. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH" # the Python that has the test packages

DATA="$PWD/build/onnx-data"
python tests/conformance/gen_node_data.py "$DATA"

run_suite() {
    local dir=$1
    # Every suite must be there: a missing one would pass silently.
    local listed
    listed=$(meson test -C "$dir" --list 2>/dev/null)
    for suite in unit.api conformance.cpu e2e.cli python.api; do
        grep -q "$suite" <<<"$listed" ||
            { echo "test.sh: test $suite is not registered in $dir" >&2; exit 1; }
    done
    EMBER_NODE_DATA="$DATA" meson test -C "$dir" --print-errorlogs --num-processes 2 \
        --timeout-multiplier 3
}

echo "== all tests (build/)"
run_suite build

echo "== all tests under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)"
[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbuildtype=debug >/dev/null
ninja -C build-asan >/dev/null
# LeakSanitizer cannot scan the thread-local storage of libgomp's threads
# (oneDNN's OpenMP) unless told not to intercept __tls_get_addr.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}intercept_tls_get_addr=0" run_suite build-asan

# One closing line over both builds, counted from meson's test logs.
python - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    for line in filter(str.strip, open(path)):
        result = json.loads(line)["result"]
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
