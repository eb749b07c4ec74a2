#!/usr/bin/env python3
"""Copies the ONNX node tests whose ops are all in an op list.

    python3 tests/gpu/select_node_tests.py OPS_FILE SRC_DATA_DIR DST_DATA_DIR

SRC_DATA_DIR holds node/<test>/model.onnx (tests/conformance/gen_node_data.py
writes it); the selected test folders are copied to DST_DATA_DIR/node/.
Prints how many tests were selected and their size.
"""
import os
import shutil
import sys

import onnx


def read_ops(path):
    with open(path, encoding="utf-8") as f:
        return {line.strip() for line in f if line.strip() and not line.startswith("#")}


def model_ops(path):
    model = onnx.load(path, load_external_data=False)
    return {node.op_type for node in model.graph.node}


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    ops = read_ops(sys.argv[1])
    src = os.path.join(sys.argv[2], "node")
    dst = os.path.join(sys.argv[3], "node")
    os.makedirs(dst, exist_ok=True)
    n, size = 0, 0
    for name in sorted(os.listdir(src)):
        model = os.path.join(src, name, "model.onnx")
        if not os.path.isfile(model) or not model_ops(model) <= ops:
            continue
        shutil.copytree(os.path.join(src, name), os.path.join(dst, name), dirs_exist_ok=True)
        for root, _, files in os.walk(os.path.join(dst, name)):
            size += sum(os.path.getsize(os.path.join(root, f)) for f in files)
        n += 1
    print(f"selected {n} node tests, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
