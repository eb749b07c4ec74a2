#!/usr/bin/env python3
"""Writes the ONNX backend node tests as data files for ember_conformance.

The onnx pip package ships the node test *cases* (Python code) but not their
data, and its generate-data command writes only the model tests. This script
turns onnx.backend.test.case.node.collect_testcases() into onnx's standard
layout:

    DIR/node/<test>/model.onnx
    DIR/node/<test>/test_data_set_N/input_K.pb, output_K.pb
    DIR/node/<test>/tolerance.txt      (only when a test overrides rtol/atol)

Tensors are serialized TensorProto; sequences, optionals and maps use
SequenceProto, OptionalProto and MapProto (onnx.numpy_helper.from_list,
from_optional, from_dict). The package's own `simple`, `pytorch-converted`
and `pytorch-operator` sets are copied beside `node`.

Usage: gen_node_data.py DIR [--force]
Generation is skipped when DIR/.stamp names the installed onnx version.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import warnings

import onnx
from onnx import TensorProto, numpy_helper

STAMP = ".stamp"
SHIPPED_SETS = ("simple", "pytorch-converted", "pytorch-operator")
DEFAULT_RTOL = 1e-3
DEFAULT_ATOL = 1e-7


TOLERANCES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tolerances.txt")


def read_tolerances() -> dict:
    """tolerances.txt: `test_name rtol atol  # reason` lines."""
    wider = {}
    with open(TOLERANCES, encoding="utf-8") as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            if fields:
                wider[fields[0]] = (float(fields[1]), float(fields[2]))
    return wider


def stamp_text() -> str:
    with open(TOLERANCES, encoding="utf-8") as f:
        tolerances = f.read()
    return f"onnx {onnx.__version__}\n{tolerances}"


def is_up_to_date(out_dir: str) -> bool:
    path = os.path.join(out_dir, STAMP)
    if not os.path.isfile(path):
        return False
    with open(path, encoding="utf-8") as f:
        return f.read() == stamp_text()


def serialize_value(value, value_info: onnx.ValueInfoProto) -> bytes:
    """One input or output value in the proto that matches its graph type."""
    vtype = value_info.type
    if vtype.HasField("map_type"):
        return numpy_helper.from_dict(value, value_info.name).SerializeToString()
    if vtype.HasField("sequence_type"):
        return numpy_helper.from_list(value, value_info.name).SerializeToString()
    if vtype.HasField("optional_type"):
        return numpy_helper.from_optional(value, value_info.name).SerializeToString()
    if isinstance(value, TensorProto):
        return value.SerializeToString()
    return numpy_helper.from_array(value, value_info.name).SerializeToString()


def write_data_set(set_dir: str, graph: onnx.GraphProto, inputs, outputs) -> None:
    os.makedirs(set_dir)
    for prefix, values, infos in (("input", inputs, graph.input),
                                  ("output", outputs, graph.output)):
        for k, value in enumerate(values):
            path = os.path.join(set_dir, f"{prefix}_{k}.pb")
            with open(path, "wb") as f:
                f.write(serialize_value(value, infos[k]))


def write_case(node_dir: str, case) -> None:
    case_dir = os.path.join(node_dir, case.name)
    if os.path.exists(case_dir):
        shutil.rmtree(case_dir)
    os.makedirs(case_dir)
    with open(os.path.join(case_dir, "model.onnx"), "wb") as f:
        f.write(case.model.SerializeToString())
    for n, (inputs, outputs) in enumerate(case.data_sets):
        set_dir = os.path.join(case_dir, f"test_data_set_{n}")
        write_data_set(set_dir, case.model.graph, inputs, outputs)
    rtol, atol = read_tolerances().get(case.name, (case.rtol, case.atol))
    if rtol != DEFAULT_RTOL or atol != DEFAULT_ATOL:
        with open(os.path.join(case_dir, "tolerance.txt"), "w", encoding="utf-8") as f:
            f.write(f"{rtol!r} {atol!r}\n")


def write_node_tests(out_dir: str) -> int:
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        # Some cases compute inf/NaN on purpose (casts, log of zero).
        warnings.simplefilter("ignore")
        cases = collect_testcases(None)
    node_dir = os.path.join(out_dir, "node")
    n_written = 0
    for case in cases:
        if case.kind != "node" or case.model is None or not case.data_sets:
            continue
        write_case(node_dir, case)
        n_written += 1
    return n_written


def copy_shipped_sets(out_dir: str) -> list[str]:
    data_root = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
    copied = []
    for name in SHIPPED_SETS:
        src = os.path.join(data_root, name)
        if not os.path.isdir(src):
            continue
        dst = os.path.join(out_dir, name)
        if os.path.exists(dst):
            shutil.rmtree(dst)
        shutil.copytree(src, dst)
        copied.append(name)
    return copied


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="directory to write (created if absent)")
    parser.add_argument("--force", action="store_true", help="regenerate even if up to date")
    args = parser.parse_args()

    if not args.force and is_up_to_date(args.out_dir):
        print(f"{args.out_dir}: node test data for onnx {onnx.__version__} already present")
        return 0
    os.makedirs(args.out_dir, exist_ok=True)
    stamp = os.path.join(args.out_dir, STAMP)
    if os.path.exists(stamp):
        os.remove(stamp)
    n_written = write_node_tests(args.out_dir)
    copied = copy_shipped_sets(args.out_dir)
    with open(stamp, "w", encoding="utf-8") as f:
        f.write(stamp_text())
    print(f"{args.out_dir}: wrote {n_written} node tests (onnx {onnx.__version__})"
          + (f"; copied {', '.join(copied)}" if copied else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
