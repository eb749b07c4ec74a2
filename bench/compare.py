#!/usr/bin/env python3
"""Times Ember beside onnxruntime on the same models, inputs and thread count.

Each engine runs in its own child process (so that load time and peak RSS are
measured the same way for both), and the two alternate for --rounds rounds; the
latency reported is the median over all rounds of each round's median.

    python3 bench/compare.py MODEL.onnx [MODEL.onnx ...] [--threads 1,2]
        [--rounds 3] [--seconds 3] [--ember build/tools/ember] [--providers onednn,cpu]

for example, on the models bench/make_models.py writes into models/:

    OMP_WAIT_POLICY=passive python3 bench/compare.py models/resnet50.onnx \
        models/mobilenetv2.onnx models/bert_base.onnx models/mlp.onnx \
        models/resnet_small.onnx models/tiny_add.onnx --providers onednn,cpu

Prints a Markdown table: model, threads, Ember median, onnxruntime median, the
ratio (Ember / onnxruntime: below 1 means Ember is faster), load times and peak
RSS of each engine. The same seeded inputs feed both engines: floats uniform in
[-1, 1]; integers in [0, 4), or below the size of the table when the input is
the indices of a Gather on an initializer (BERT's input_ids: 0..30521).
Without EMBER_PROVIDER_PATH, Ember looks for its providers in the build tree
of --ember (BUILD/providers/*). bench/check_models.py and bench/profile.py
use the helpers here.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

import numpy as np


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def gather_index_bounds(graph):
    """{input name: rows} for graph inputs used as the indices of a Gather
    on an initializer: valid indices stay below the number of rows."""
    dims = {t.name: list(t.dims) for t in graph.initializer}
    bounds = {}
    for node in graph.node:
        if node.op_type != "Gather" or len(node.input) < 2 or node.input[0] not in dims:
            continue
        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
        table = dims[node.input[0]]
        rows = table[axis % len(table)]
        bounds[node.input[1]] = min(rows, bounds.get(node.input[1], rows))
    return bounds


def model_inputs(model):
    """[(name, numpy dtype, shape)] of the inputs that are not initializers;
    symbolic or unknown dims become 1. Also the Gather index bounds."""
    import onnx
    from onnx import helper
    graph = onnx.load(model, load_external_data=False).graph
    initializers = {t.name for t in graph.initializer}
    inputs = []
    for inp in graph.input:
        if inp.name in initializers:
            continue
        tensor = inp.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else 1
                 for d in tensor.shape.dim]
        inputs.append((inp.name, helper.tensor_dtype_to_np_dtype(tensor.elem_type), shape))
    return inputs, gather_index_bounds(graph)


def make_inputs(model, folder, seed=0):
    """Seeded inputs for every model input, saved as .npy: {name: path}."""
    inputs, bounds = model_inputs(model)
    rng = np.random.default_rng(seed)
    files = {}
    for i, (name, dtype, shape) in enumerate(inputs):
        if np.issubdtype(dtype, np.floating):
            x = rng.uniform(-1, 1, shape).astype(dtype)
        elif dtype == np.bool_:
            x = rng.integers(0, 2, shape).astype(dtype)
        else:
            x = rng.integers(0, bounds.get(name, 4), shape).astype(dtype)
        path = os.path.join(folder, f"input_{i}.npy")
        np.save(path, x)
        files[name] = path
    return files


def ember_environment(ember):
    """The environment for running `ember`: EMBER_PROVIDER_PATH, when unset,
    names the providers built beside it (BUILD/tools/ember ->
    BUILD/providers/*)."""
    env = dict(os.environ)
    if env.get("EMBER_PROVIDER_PATH"):
        return env
    providers = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(ember))),
                             "providers")
    if os.path.isdir(providers):
        folders = sorted(os.path.join(providers, d) for d in os.listdir(providers))
        env["EMBER_PROVIDER_PATH"] = ":".join(f for f in folders if os.path.isdir(f))
    return env


def ember_round(args, model, inputs, threads):
    command = [args.ember, "bench", model, "--threads", str(threads),
               "--seconds", str(args.seconds), "--providers", args.providers]
    for name, path in inputs.items():
        command += ["--input", f"{name}={path}"]
    command = [sys.executable, __file__, "--rss-of", "--"] + command
    out = subprocess.run(command, capture_output=True, text=True,
                         env=ember_environment(args.ember))
    if out.returncode != 0:
        sys.exit(f"compare.py: ember bench failed:\n{out.stderr.strip()}")
    lines = dict(line.split(": ", 1) for line in out.stdout.splitlines() if ": " in line)
    return {
        "median": float(lines["median"].split()[0]),
        "load": float(lines["load"].split()[0]),
        "rss": float(lines["peak_rss_mib"]),
    }


def ort_round(args, model, inputs, threads):
    command = [sys.executable, __file__, "--rss-of", "--", sys.executable, __file__,
               "--ort-worker", model, "--threads", str(threads), "--seconds",
               str(args.seconds), "--inputs", json.dumps(inputs)]
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"compare.py: onnxruntime worker failed:\n{out.stderr.strip()}")
    lines = dict(line.split(": ", 1) for line in out.stdout.splitlines() if ": " in line)
    return {"median": float(lines["median"]), "load": float(lines["load"]),
            "rss": float(lines["peak_rss_mib"])}


def ort_worker(argv):
    """Child process: load the model in onnxruntime and time session.run."""
    import time
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--inputs")
    a = parser.parse_args(argv)
    import onnxruntime as ort
    feeds = {k: np.load(v) for k, v in json.loads(a.inputs).items()}
    t0 = time.perf_counter()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = a.threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(a.model, opts, providers=["CPUExecutionProvider"])
    load = (time.perf_counter() - t0) * 1e3
    for _ in range(3):
        session.run(None, feeds)
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < a.seconds:
        t = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - t) * 1e3)
    print(f"load: {load}\nmedian: {statistics.median(times)}\nruns: {len(times)}")


def rss_of(command):
    """Runs command, passes its output on, and adds its peak RSS."""
    import resource
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the only child: the command
    sys.stdout.write(out)
    print(f"peak_rss_mib: {usage.ru_maxrss / 1024:.1f}")
    sys.exit(proc.returncode)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--ort-worker":
        return ort_worker(sys.argv[2:])
    if len(sys.argv) > 2 and sys.argv[1] == "--rss-of":
        return rss_of(sys.argv[3:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--ember", default="build/tools/ember")
    parser.add_argument("--providers", default="cpu", help="Ember's providers, e.g. onednn,cpu")
    args = parser.parse_args()
    import onnxruntime as ort
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; onnxruntime {ort.__version__}; "
          f"Ember providers {args.providers}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print()
    print("| model | threads | Ember median ms | onnxruntime median ms | ratio | "
          "Ember load ms | ORT load ms | Ember peak RSS MiB | ORT peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for model in args.models:
            inputs = make_inputs(model, folder)
            for threads in [int(t) for t in args.threads.split(",")]:
                ember, ortr = [], []
                for _ in range(args.rounds):
                    ember.append(ember_round(args, model, inputs, threads))
                    ortr.append(ort_round(args, model, inputs, threads))
                med = lambda rows, key: statistics.median(r[key] for r in rows)
                e, o = med(ember, "median"), med(ortr, "median")
                print(f"| {os.path.basename(model)} | {threads} | {e:.4f} | {o:.4f} | "
                      f"{e / o:.2f} | {med(ember, 'load'):.1f} | {med(ortr, 'load'):.1f} | "
                      f"{max(r['rss'] for r in ember):.0f} | {max(r['rss'] for r in ortr):.0f} |",
                      flush=True)


if __name__ == "__main__":
    main()
