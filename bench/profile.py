#!/usr/bin/env python3
"""Where the time goes: time per operator type, Ember beside onnxruntime.

    python3 bench/profile.py MODEL.onnx [--providers onednn,cpu] [--threads 1]
        [--runs 20] [--warmup 3] [--ember build/tools/ember]
        [--ort-opt-level all|extended|basic|disabled] [--ember-opt-level 0|99]
        [--ember-profile FILE.json]

Both engines run the model on the same seeded inputs (bench/compare.py's),
one after the other, --warmup untimed runs and then --runs timed ones.

Ember: `ember bench MODEL --profile FILE.json --runs N --warmup W`, which
writes a JSON list of {"node", "op", "provider", "nodes", "calls",
"total_ns"}, one entry per step (a node, or a provider group of "nodes"
nodes run as one kernel, op "group"), totals over the timed runs (warm-up
excluded); --ember-opt-level 0 turns groups off to see each op type. When the
ember in use has no --profile yet (it exits 2 with a usage error), only the
onnxruntime half is printed, with a note. --ember-profile reads such a file
instead of running Ember.

onnxruntime: SessionOptions.enable_profiling; its JSON trace's "Node" events
(args.op_name, dur in microseconds) that fall inside the last --runs
"model_run" events, summed per operator type.

Prints a Markdown table sorted by Ember's time: op type, Ember ms/run,
onnxruntime ms/run, ratio (Ember / onnxruntime), node counts (Ember's by
provider), then the totals and each engine's whole-run latency. At the
default optimization level onnxruntime fuses nodes (FusedConv, FusedGemm,
Attention, SkipLayerNormalization, ...), so some op types appear in one
column only; --ort-opt-level disabled compares op by op.
"""
import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import cpu_model, ember_environment, make_inputs  # noqa: E402

DEFAULT_EMBER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "build", "tools", "ember")

# Per op type: total ms per run, node count, node count per provider.
OpTimes = collections.namedtuple("OpTimes", "ms nodes providers")


class EmberProfile:
    """Ember's half: per-op times, whole-run median, or why there are none."""

    def __init__(self, ops=None, median_ms=None, note=None):
        self.ops = ops or {}
        self.median_ms = median_ms
        self.note = note


# ---- Ember -------------------------------------------------------------------


def parse_ember_profile(entries, runs):
    """{op: OpTimes} from the entries of `ember bench --profile`; `runs` is
    the number of timed runs (the usual value of "calls")."""
    sums = collections.defaultdict(float)
    nodes = collections.Counter()
    providers = collections.defaultdict(collections.Counter)
    for entry in entries:
        op = entry["op"]
        sums[op] += entry["total_ns"] / 1e6 / runs
        nodes[op] += 1
        providers[op][entry.get("provider") or "?"] += 1
    return {op: OpTimes(sums[op], nodes[op], dict(providers[op])) for op in sums}


def timed_runs(entries, requested):
    """The number of timed runs the entries cover: the most common "calls"
    (a node in a loop body may run more often), else the runs requested."""
    calls = collections.Counter(e.get("calls", 0) for e in entries)
    if not calls:
        return requested
    common, _ = calls.most_common(1)[0]
    return common if common > 0 else requested


def read_ember_profile(path, requested_runs):
    with open(path) as f:
        entries = json.load(f)
    runs = timed_runs(entries, requested_runs)
    note = None
    if runs != requested_runs:
        note = f"Ember's profile covers {runs} runs ({requested_runs} requested)"
    return EmberProfile(parse_ember_profile(entries, runs), note=note)


def run_ember(args, inputs, folder):
    path = os.path.join(folder, "ember_profile.json")
    command = [args.ember, "bench", args.model, "--providers", args.providers,
               "--threads", str(args.threads), "--runs", str(args.runs),
               "--warmup", str(args.warmup), "--profile", path]
    if args.ember_opt_level is not None:
        command += ["--opt-level", str(args.ember_opt_level)]
    for name, file in inputs.items():
        command += ["--input", f"{name}={file}"]
    run = subprocess.run(command, capture_output=True, text=True,
                         env=ember_environment(args.ember))
    if run.returncode == 2 and "--profile" in run.stderr:
        return EmberProfile(note="this ember has no `bench --profile` yet (usage error: "
                                 f"{run.stderr.strip().splitlines()[-1]}); onnxruntime only")
    if run.returncode != 0:
        sys.exit(f"profile.py: ember bench failed:\n{run.stderr.strip()}")
    profile = read_ember_profile(path, args.runs)
    for line in run.stdout.splitlines():
        if line.startswith("median: "):
            profile.median_ms = float(line.split()[1])
    return profile


# ---- onnxruntime -------------------------------------------------------------


def ort_levels():
    import onnxruntime as ort
    level = ort.GraphOptimizationLevel
    return {"all": level.ORT_ENABLE_ALL, "extended": level.ORT_ENABLE_EXTENDED,
            "basic": level.ORT_ENABLE_BASIC, "disabled": level.ORT_DISABLE_ALL}


def parse_ort_trace(events, runs):
    """({op: OpTimes}, [ms of each timed run]) from onnxruntime's trace: the
    node events inside the last `runs` model_run events."""
    model_runs = sorted((e for e in events if e.get("cat") == "Session"
                         and e.get("name") == "model_run"), key=lambda e: e["ts"])[-runs:]
    windows = [(e["ts"], e["ts"] + e["dur"]) for e in model_runs]
    sums = collections.defaultdict(float)
    nodes = collections.defaultdict(set)
    for e in events:
        name, op = e.get("name", ""), e.get("args", {}).get("op_name")
        if e.get("cat") != "Node" or not op or name.endswith(("_fence_before", "_fence_after")):
            continue
        if any(start <= e["ts"] <= end for start, end in windows):
            sums[op] += e["dur"] / 1e3 / len(windows)
            nodes[op].add(name)
    ops = {op: OpTimes(sums[op], len(nodes[op]), {}) for op in sums}
    return ops, [e["dur"] / 1e3 for e in model_runs]


def run_ort(args, inputs, folder):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.enable_profiling = True
    opts.profile_file_prefix = os.path.join(folder, "ort_profile")
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort_levels()[args.ort_opt_level]
    session = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
    feeds = {name: np.load(path) for name, path in inputs.items()}
    for _ in range(args.warmup + args.runs):
        session.run(None, feeds)
    path = session.end_profiling()
    with open(path) as f:
        return parse_ort_trace(json.load(f), args.runs)


# ---- the table -----------------------------------------------------------------


def fmt_ms(value):
    return "-" if value is None else f"{value:.3f}"


def fmt_nodes(times):
    if times is None:
        return "-"
    if not times.providers:
        return str(times.nodes)
    by_provider = ", ".join(f"{p} {n}" for p, n in sorted(times.providers.items()))
    return f"{times.nodes} ({by_provider})"


def print_table(ember, ort_ops):
    ops = set(ember.ops) | set(ort_ops)

    def key(op):
        e, o = ember.ops.get(op), ort_ops.get(op)
        return (-(e.ms if e else 0.0), -(o.ms if o else 0.0), op)

    print("| op type | Ember ms/run | ORT ms/run | ratio | Ember nodes | ORT nodes |")
    print("|---|---|---|---|---|---|")
    for op in sorted(ops, key=key):
        e, o = ember.ops.get(op), ort_ops.get(op)
        ratio = f"{e.ms / o.ms:.2f}" if e and o and o.ms > 0 else "-"
        print(f"| {op} | {fmt_ms(e.ms if e else None)} | {fmt_ms(o.ms if o else None)} | "
              f"{ratio} | {fmt_nodes(e)} | {o.nodes if o else '-'} |")
    e_total = sum(t.ms for t in ember.ops.values()) if ember.ops else None
    o_total = sum(t.ms for t in ort_ops.values())
    ratio = f"{e_total / o_total:.2f}" if e_total and o_total > 0 else "-"
    e_nodes = sum(t.nodes for t in ember.ops.values()) if ember.ops else "-"
    print(f"| **total** | {fmt_ms(e_total)} | {fmt_ms(o_total)} | {ratio} | {e_nodes} | "
          f"{sum(t.nodes for t in ort_ops.values())} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--providers", default="onednn,cpu", help="Ember's providers")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads of both")
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each engine")
    parser.add_argument("--ember-opt-level", type=int, choices=[0, 99],
                        help="Ember's --opt-level: 0 runs each node alone (no provider "
                             "groups), so its time shows per op type")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first")
    parser.add_argument("--ember", default=DEFAULT_EMBER, help="the ember CLI")
    parser.add_argument("--ort-opt-level", default="all", choices=["all", "extended", "basic",
                                                                    "disabled"])
    parser.add_argument("--ember-profile", help="read Ember's profile from this file "
                                                "instead of running ember bench")
    args = parser.parse_args()
    if args.runs < 1 or args.threads < 0 or args.warmup < 0:
        parser.error("--runs must be positive, --threads and --warmup not negative")
    import onnxruntime as ort
    with tempfile.TemporaryDirectory() as folder:
        inputs = make_inputs(args.model, folder)
        if args.ember_profile:
            ember = read_ember_profile(args.ember_profile, args.runs)
        else:
            ember = run_ember(args, inputs, folder)
        ort_ops, ort_runs = run_ort(args, inputs, folder)
    print(f"model {os.path.basename(args.model)}; CPU: {cpu_model()}, {os.cpu_count()} cores; "
          f"threads {args.threads}; {args.runs} timed runs after {args.warmup} warm-up; "
          f"Ember providers {args.providers}; onnxruntime {ort.__version__}, "
          f"optimization level {args.ort_opt_level}")
    if ember.note:
        print(f"note: {ember.note}")
    print()
    print_table(ember, ort_ops)
    print()
    e_run = f"{ember.median_ms:.3f} ms" if ember.median_ms is not None else "-"
    o_run = f"{statistics.median(ort_runs):.3f} ms" if ort_runs else "-"
    print(f"whole run, median: Ember {e_run} (ember bench), onnxruntime {o_run} "
          "(model_run events, profiling on)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
