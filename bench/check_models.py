#!/usr/bin/env python3
"""Checks Ember's outputs against onnxruntime's on whole models.

    python3 bench/check_models.py MODEL.onnx [MODEL.onnx ...]
        [--providers onednn,cpu] [--providers cpu] [--rtol 1e-4]
        [--ember build/tools/ember] [--seed 0]

Each model runs once in onnxruntime (CPUExecutionProvider, its default
options) and once in Ember per --providers list (the option may be repeated;
default onednn,cpu) through the CLI, `ember run MODEL --input NAME=FILE.npy
--output-dir DIR`, on the same seeded inputs (bench/compare.py's: floats
uniform in [-1, 1], Gather indices within their table). For each output it
prints the largest absolute difference, that difference relative to
max(1, max|reference|), and PASS when

    max|ember - onnxruntime| <= rtol * max(1, max|onnxruntime|)

and the two agree on dtype and shape. A failed Ember run is a FAIL with its
error message. The exit status is 1 when anything failed.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import ember_environment, make_inputs  # noqa: E402

DEFAULT_EMBER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "build", "tools", "ember")


def ort_outputs(model, inputs):
    """{output name: array} from onnxruntime."""
    import onnxruntime as ort
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    feeds = {name: np.load(path) for name, path in inputs.items()}
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def ember_outputs(args, model, inputs, providers, folder):
    """{output name: array} from `ember run`, or an error message (str)."""
    out_dir = os.path.join(folder, "ember_" + re.sub(r"[^A-Za-z0-9]", "_", providers))
    command = [args.ember, "run", model, "--providers", providers, "--output-dir", out_dir]
    for name, path in inputs.items():
        command += ["--input", f"{name}={path}"]
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout,
                             env=ember_environment(args.ember))
    except subprocess.TimeoutExpired:
        return f"ember run timed out after {args.timeout} s"
    if run.returncode != 0:
        message = run.stderr.strip().splitlines()
        return f"ember run exit {run.returncode}: {message[-1] if message else '(no message)'}"
    # "output 'NAME': ..." is followed by "    written to PATH".
    outputs, current = {}, None
    for line in run.stdout.splitlines():
        match = re.match(r"output '(.*)': ", line)
        if match:
            current = match.group(1)
        elif line.startswith("    written to ") and current is not None:
            outputs[current] = np.load(line[len("    written to "):])
            current = None
    return outputs


def compare_output(ours, ref, rtol):
    """(max abs diff, relative diff, problem or None)."""
    if ours.dtype != ref.dtype:
        return np.nan, np.nan, f"dtype {ours.dtype}, expected {ref.dtype}"
    if ours.shape != ref.shape:
        return np.nan, np.nan, f"shape {list(ours.shape)}, expected {list(ref.shape)}"
    if ours.size == 0:
        return 0.0, 0.0, None
    a, b = ours.astype(np.float64), ref.astype(np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(invalid="ignore"):
        diff = np.where(same, 0.0, np.abs(a - b))
    diff = np.where(np.isnan(diff), np.inf, diff)
    max_abs = float(diff.max())
    finite_ref = np.abs(b[np.isfinite(b)])
    scale = max(1.0, float(finite_ref.max()) if finite_ref.size else 1.0)
    rel = max_abs / scale
    return max_abs, rel, None if rel <= rtol else "above tolerance"


def check_model(args, model, folder):
    """Prints one table row per output and providers list; True if all pass."""
    name = os.path.basename(model)
    inputs = make_inputs(model, folder, args.seed)
    ref = ort_outputs(model, inputs)
    ok = True
    for providers in args.providers:
        ours = ember_outputs(args, model, inputs, providers, folder)
        if isinstance(ours, str):
            print(f"| {name} | {providers} | - | - | - | FAIL: {ours} |", flush=True)
            ok = False
            continue
        for out_name, expected in ref.items():
            if out_name not in ours:
                print(f"| {name} | {providers} | {out_name} | - | - | FAIL: not written |")
                ok = False
                continue
            max_abs, rel, problem = compare_output(ours[out_name], expected, args.rtol)
            verdict = "PASS" if problem is None else f"FAIL: {problem}"
            ok = ok and problem is None
            print(f"| {name} | {providers} | {out_name} | {max_abs:.3g} | {rel:.3g} | "
                  f"{verdict} |", flush=True)
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--providers", action="append",
                        help="Ember's providers, e.g. onednn,cpu (repeat for several lists; "
                             "default onednn,cpu)")
    parser.add_argument("--rtol", type=float, default=1e-4,
                        help="tolerance relative to max(1, max|reference|) (default 1e-4)")
    parser.add_argument("--ember", default=DEFAULT_EMBER, help="the ember CLI")
    parser.add_argument("--seed", type=int, default=0, help="seed of the inputs")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per Ember run")
    args = parser.parse_args()
    args.providers = args.providers or ["onednn,cpu"]
    print(f"rtol {args.rtol:g} relative to max(1, max|onnxruntime|); ember {args.ember}")
    print()
    print("| model | Ember providers | output | max abs diff | relative | result |")
    print("|---|---|---|---|---|---|")
    all_ok = True
    for model in args.models:
        with tempfile.TemporaryDirectory() as folder:
            all_ok = check_model(args, model, folder) and all_ok
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
