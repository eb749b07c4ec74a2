#!/usr/bin/env python3
"""Rewrites expected_failures.txt from a conformance run.

    ember_conformance DATA --providers cpu > run.log
    python3 tests/conformance/update_expected.py run.log [LIST]

LIST defaults to expected_failures.txt beside this script.

Every FAIL and XFAIL line of the log becomes an entry `test  # reason`. Reasons
written by hand in the current file (any reason that is not one this script
derives) are kept for tests that still fail, so the list only ever says why.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LIST = os.path.join(HERE, "expected_failures.txt")
UNSUPPORTED = re.compile(r"\(op (\w+), domain '([^']*)'.*is not supported by any provider")
HEADER = """\
# Conformance tests the CPU provider does not pass yet, one per line with the reason.
# The runner fails CI when a test not listed here fails, and when a listed test
# passes (then remove it: this list only shrinks). Regenerate the derived reasons
# with tests/conformance/update_expected.py; hand-written reasons are kept.
"""


def derived_reason(message):
    m = UNSUPPORTED.search(message)
    if m:
        domain = m.group(2) or "ai.onnx"
        return f"op {m.group(1)} ({domain}) is not implemented yet"
    return None


def current_reasons(path):
    reasons = {}
    if not os.path.exists(path):
        return reasons
    for line in open(path):
        name, _, reason = line.partition("#")
        if name.strip():
            reasons[name.strip()] = reason.strip()
    return reasons


def main():
    path = sys.argv[2] if len(sys.argv) > 2 else LIST
    kept = current_reasons(path)
    entries = []
    for line in open(sys.argv[1]):
        if not line.startswith(("FAIL ", "XFAIL ")):
            continue
        name, _, message = line.split(" ", 1)[1].partition(": ")
        reason = derived_reason(message)
        old = kept.get(name, "")
        if old and not old.endswith("is not implemented yet"):
            reason = old  # a hand-written reason
        entries.append((name, reason or message.strip()[:160]))
    with open(path, "w") as f:
        f.write(HEADER)
        for name, reason in sorted(entries):
            f.write(f"{name}  # {reason}\n")
    print(f"{len(entries)} expected failures written to {path}")


if __name__ == "__main__":
    main()
