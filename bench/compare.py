#!/usr/bin/env python3
"""Times Ember beside onnxruntime on the same models, inputs and thread count.

Each engine runs in its own worker process (so that load time and memory
are measured the same way for both), both through their Python API. After
loading and a warm-up, the two take turns: in each of --rounds rounds, one
runs the model for --seconds, then the other (the first alternates). The
ratio is the median over rounds of (Ember's median / onnxruntime's median in
that round): each round's pair ran within a second of each other, so drift
of the machine's speed, which on shared virtual machines reaches 15% within
a minute, cancels in the ratio. The medians printed are over all timed runs.

    python3 bench/compare.py MODEL.onnx [MODEL.onnx ...] [--threads 1,2]
        [--rounds 20] [--seconds 0.5] [--ember build/tools/ember]
        [--providers onednn,cpu]

for example, on the models bench/make_models.py writes into models/:

    python3 bench/compare.py models/resnet50.onnx models/mobilenetv2.onnx \
        models/bert_base.onnx models/mlp.onnx models/resnet_small.onnx \
        models/tiny_add.onnx --providers onednn,cpu

Prints a Markdown table: model, threads, Ember median, onnxruntime median, the
ratio (Ember / onnxruntime: below 1 means Ember is faster) with the spread of
the per-round ratios (25th-75th percentile), load times, and each engine's
resident memory at its peak and after the timed runs. The same seeded inputs feed both engines: floats uniform in [-1, 1];
integers in [0, 4), or below the size of the table when the input is the
indices of a Gather on an initializer (BERT's input_ids: 0..30521).
--providers takes Ember's provider list as `ember run` does, options
included (onednn:winograd=0,cpu); --baseline PROVIDERS puts Ember on
those providers in onnxruntime's place, to measure one change. Ember is imported from the build tree of
--ember (BUILD/python); without EMBER_PROVIDER_PATH, it looks for its
providers there too (BUILD/providers/*). bench/check_models.py and
bench/profile.py use the helpers here.
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


def ember_providers(spec):
    """Ember's provider list for Python from `ember run`'s syntax:
    'onednn:winograd=0,cpu' -> [('onednn', {'winograd': '0'}), ('cpu', {})]."""
    providers = []
    for item in spec.split(","):
        name, *options = item.split(":")
        providers.append((name, dict(o.split("=", 1) for o in options)))
    return providers


def rss_mib(field):
    """This process's resident memory now (VmRSS) or at its peak since its
    exec (VmHWM; getrusage's ru_maxrss would include the parent's pages at
    fork), in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker(argv):
    """Child process: loads the model in one engine, warms up, then runs it
    for the seconds each line on stdin asks and answers with the latencies
    (one JSON line per request); an empty line ends it with its resident
    memory, peak and now."""
    import time
    parser = argparse.ArgumentParser()
    parser.add_argument("engine", choices=["ember", "ort"])
    parser.add_argument("model")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--inputs")
    parser.add_argument("--providers")
    a = parser.parse_args(argv)
    feeds = {k: np.load(v) for k, v in json.loads(a.inputs).items()}
    if a.engine == "ember":
        import ember as engine
        providers = ember_providers(a.providers)
    else:
        import onnxruntime as engine
        providers = ["CPUExecutionProvider"]
    t0 = time.perf_counter()
    opts = engine.SessionOptions()
    opts.intra_op_num_threads = a.threads
    opts.inter_op_num_threads = 1
    session = engine.InferenceSession(a.model, opts, providers=providers)
    load = (time.perf_counter() - t0) * 1e3
    for _ in range(3):
        session.run(None, feeds)
    print(json.dumps({"load": load}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            break
        seconds, times = float(line), []
        start = time.perf_counter()
        while time.perf_counter() - start < seconds or len(times) < 3:
            t = time.perf_counter()
            session.run(None, feeds)
            times.append((time.perf_counter() - t) * 1e3)
        print(json.dumps({"times": times}), flush=True)
    print(json.dumps({"rss": [rss_mib("VmHWM"), rss_mib("VmRSS")]}), flush=True)


class Worker:
    """A worker process and its answers."""

    def __init__(self, args, engine, model, inputs, threads, providers=None):
        command = [sys.executable, __file__, "--worker", engine, model, "--threads",
                   str(threads), "--inputs", json.dumps(inputs), "--providers",
                   providers or args.providers]
        env = ember_environment(args.ember)
        build = os.path.dirname(os.path.dirname(os.path.abspath(args.ember)))
        source = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        python_path = [os.path.join(build, "python"), os.path.join(source, "python")]
        env["PYTHONPATH"] = os.pathsep.join(python_path + [env.get("PYTHONPATH", "")])
        self.name = engine
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env)
        self.load = self.answer()["load"]

    def answer(self):
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            sys.exit(f"compare.py: the {self.name} worker failed (exit {self.proc.returncode})")
        return json.loads(line)

    def run(self, seconds):
        self.proc.stdin.write(f"{seconds}\n")
        self.proc.stdin.flush()
        return self.answer()["times"]

    def close(self):
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        peak, now = self.answer()["rss"]
        self.proc.wait()
        return f"{peak:.0f} / {now:.0f}"


def quantile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def compare(args, model, inputs, threads):
    """One table row: both workers loaded, then --rounds alternating turns."""
    ember = Worker(args, "ember", model, inputs, threads)
    if args.baseline:
        ort = Worker(args, "ember", model, inputs, threads, providers=args.baseline)
    else:
        ort = Worker(args, "ort", model, inputs, threads)
    ember_times, ort_times, ratios = [], [], []
    for r in range(args.rounds):
        turns = (ember, ort) if r % 2 == 0 else (ort, ember)
        got = [w.run(args.seconds) for w in turns]
        if r % 2:
            got.reverse()
        ember_times += got[0]
        ort_times += got[1]
        ratios.append(statistics.median(got[0]) / statistics.median(got[1]))
    e, o = statistics.median(ember_times), statistics.median(ort_times)
    spread = f"{quantile(ratios, 0.25):.2f}-{quantile(ratios, 0.75):.2f}"
    row = (f"| {os.path.basename(model)} | {threads} | {e:.4f} | {o:.4f} | "
           f"{statistics.median(ratios):.2f} | {spread} | {ember.load:.1f} | {ort.load:.1f} | "
           f"{ember.close()} | {ort.close()} |")
    return row


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        return worker(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=0.5, help="length of one turn")
    parser.add_argument("--ember", default="build/tools/ember",
                        help="Ember's build tree, named by its ember binary")
    parser.add_argument("--providers", default="cpu", help="Ember's providers, e.g. onednn,cpu")
    parser.add_argument("--baseline", metavar="PROVIDERS",
                        help="compare with Ember on these providers instead of onnxruntime "
                             "(onednn:winograd=0,cpu): the onnxruntime columns are its")
    args = parser.parse_args()
    import onnxruntime as ort
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; onnxruntime {ort.__version__}; "
          f"Ember providers {args.providers}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print()
    print("| model | threads | Ember median ms | onnxruntime median ms | ratio | ratio IQR | "
          "Ember load ms | ORT load ms | Ember RSS MiB peak / after | ORT RSS MiB peak / after |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for model in args.models:
            inputs = make_inputs(model, folder)
            for threads in [int(t) for t in args.threads.split(",")]:
                print(compare(args, model, inputs, threads), flush=True)


if __name__ == "__main__":
    main()
