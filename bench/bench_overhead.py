#!/usr/bin/env python3
"""Per-call overhead of session.run from Python: Ember beside onnxruntime.

    python3 bench/bench_overhead.py [--model tiny_add.onnx] [--batches 40] [--calls 2000]

Times InferenceSession.run on a tiny model (one Add on 1x16 floats, written by
bench/make_models.py when --model is not given) with ember and onnxruntime in
one process, one intra-op thread each. The two alternate batch by batch (each
batch: --calls runs of one runtime), so that drifts of the machine hit both
alike; prints the median, the 10th and 90th percentiles of the time per call
over the batches, and the ratio ember / onnxruntime (below 1: Ember's
overhead is smaller).

Run it from the build tree (PYTHONPATH=BUILD/python:python, EMBER_PROVIDER_PATH
naming BUILD/providers/cpu) or with an installed package.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def tiny_model(path: str | None) -> str:
    if path:
        return path
    out = tempfile.mkdtemp(prefix="ember_bench_")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "make_models.py")
    subprocess.run([sys.executable, script, out], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(out, "tiny_add.onnx")


def ember_session(path: str):
    import ember

    options = ember.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ember.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def ort_session(path: str):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def time_batch(session, feed: dict, calls: int) -> float:
    """Seconds per call over one batch."""
    run = session.run
    start = time.perf_counter()
    for _ in range(calls):
        run(None, feed)
    return (time.perf_counter() - start) / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="the model (default: tiny_add.onnx, generated)")
    parser.add_argument("--batches", type=int, default=40, help="batches per runtime")
    parser.add_argument("--calls", type=int, default=2000, help="runs per batch")
    args = parser.parse_args()

    path = tiny_model(args.model)
    import ember
    import onnxruntime

    sessions = {"ember": ember_session(path), "onnxruntime": ort_session(path)}
    name = sessions["ember"].get_inputs()[0].name
    shape = [d if isinstance(d, int) else 1 for d in sessions["ember"].get_inputs()[0].shape]
    feed = {name: np.random.default_rng(0).standard_normal(shape).astype(np.float32)}
    ours, theirs = (s.run(None, feed) for s in sessions.values())
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)

    times: dict[str, list[float]] = {key: [] for key in sessions}
    for key, session in sessions.items():  # warm-up
        time_batch(session, feed, args.calls)
    for _ in range(args.batches):
        for key, session in sessions.items():
            times[key].append(time_batch(session, feed, args.calls))

    print(f"date: {datetime.date.today().isoformat()}")
    print(f"cpu: {cpu_model()} ({os.cpu_count()} logical cores)")
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"ember {ember.__version__}, onnxruntime {onnxruntime.__version__}")
    print(f"model: {os.path.basename(path)}; {args.batches} batches x {args.calls} runs each, "
          "alternating; 1 intra-op thread")
    medians = {}
    for key, values in times.items():
        us = np.array(values) * 1e6
        medians[key] = float(np.median(us))
        print(f"{key:12s} median {medians[key]:7.2f} us/run   p10 {np.percentile(us, 10):7.2f}"
              f"   p90 {np.percentile(us, 90):7.2f}")
    print(f"ratio ember/onnxruntime: {medians['ember'] / medians['onnxruntime']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
