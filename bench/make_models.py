#!/usr/bin/env python3
"""Builds the example models used by the benchmarks and the end-to-end tests.

    python3 bench/make_models.py OUT_DIR

writes, with fixed-seed random weights (the same bytes on every run):

    resnet_small.onnx  a small ResNet: stem Conv+BN+Relu+MaxPool, six basic
                       residual blocks (Conv/BatchNormalization/Relu/Add) in
                       three stages, GlobalAveragePool, Flatten, Gemm;
                       input x: float32 [N, 3, 64, 64] with a symbolic batch N
    mlp.onnx           four 1024-wide Gemm layers with Relu; input x: [64, 1024]
    tiny_add.onnx      one Add: x [1, 16] + a constant

Only operators that Ember's CPU provider implements are used.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8
SEED = 20240501


class GraphBuilder:
    """Collects nodes and initializers; names each value uniquely."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.counts: dict[str, int] = {}

    def name(self, prefix: str) -> str:
        n = self.counts.get(prefix, 0)
        self.counts[prefix] = n + 1
        return f"{prefix}{n}"

    def const(self, prefix: str, array: np.ndarray) -> str:
        name = self.name(prefix)
        self.initializers.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], prefix: str, out: str | None = None,
             **attrs) -> str:
        """Adds one node; its output is named `out`, or after the prefix."""
        name = self.name(prefix)
        out = out or name
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out

    # ---- layers -------------------------------------------------------------

    def conv(self, x: str, c_in: int, c_out: int, k: int, stride: int) -> str:
        fan_in = c_in * k * k
        w = self.rng.normal(0.0, np.sqrt(2.0 / fan_in), (c_out, c_in, k, k))
        pad = k // 2
        return self.node("Conv", [x, self.const("conv_w", w)], "conv",
                         kernel_shape=[k, k], strides=[stride, stride],
                         pads=[pad, pad, pad, pad])

    def batch_norm(self, x: str, c: int) -> str:
        scale = self.rng.uniform(0.5, 1.5, c)
        bias = self.rng.normal(0.0, 0.1, c)
        mean = self.rng.normal(0.0, 0.1, c)
        var = self.rng.uniform(0.5, 1.5, c)
        inputs = [x] + [self.const(p, a) for p, a in (("bn_scale", scale), ("bn_bias", bias),
                                                       ("bn_mean", mean), ("bn_var", var))]
        return self.node("BatchNormalization", inputs, "bn", epsilon=1e-5)

    def conv_bn(self, x: str, c_in: int, c_out: int, k: int, stride: int, relu: bool) -> str:
        y = self.batch_norm(self.conv(x, c_in, c_out, k, stride), c_out)
        return self.node("Relu", [y], "relu") if relu else y

    def basic_block(self, x: str, c_in: int, c_out: int, stride: int) -> str:
        y = self.conv_bn(x, c_in, c_out, 3, stride, relu=True)
        y = self.conv_bn(y, c_out, c_out, 3, 1, relu=False)
        shortcut = x
        if stride != 1 or c_in != c_out:
            shortcut = self.conv_bn(x, c_in, c_out, 1, stride, relu=False)
        return self.node("Relu", [self.node("Add", [y, shortcut], "add")], "relu")

    def gemm(self, x: str, n_in: int, n_out: int, out: str | None = None) -> str:
        w = self.rng.normal(0.0, np.sqrt(2.0 / n_in), (n_out, n_in))
        b = self.rng.normal(0.0, 0.01, n_out)
        return self.node("Gemm", [x, self.const("fc_w", w), self.const("fc_b", b)], "fc",
                         out=out, transB=1)


def make_model(builder: GraphBuilder, name: str, inputs, outputs, doc: str) -> onnx.ModelProto:
    graph = helper.make_graph(builder.nodes, name, inputs, outputs, builder.initializers)
    model = helper.make_model(graph, producer_name="ember-bench",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    model.doc_string = doc
    helper.set_model_props(model, {"source": "bench/make_models.py", "seed": str(SEED)})
    onnx.checker.check_model(model, full_check=True)
    return model


def resnet_small(rng: np.random.Generator) -> onnx.ModelProto:
    b = GraphBuilder(rng)
    y = b.conv_bn("x", 3, 16, 3, 1, relu=True)
    y = b.node("MaxPool", [y], "pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    channels = 16
    for c_out, stride in ((16, 1), (16, 1), (32, 2), (32, 1), (64, 2), (64, 1)):
        y = b.basic_block(y, channels, c_out, stride)
        channels = c_out
    y = b.node("GlobalAveragePool", [y], "gap")
    y = b.node("Flatten", [y], "flatten", axis=1)
    b.gemm(y, channels, 10, out="logits")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 64, 64])
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])
    return make_model(b, "resnet_small", [x], [out], "A small ResNet with random weights.")


def mlp(rng: np.random.Generator) -> onnx.ModelProto:
    b = GraphBuilder(rng)
    y = "x"
    for _ in range(3):
        y = b.node("Relu", [b.gemm(y, 1024, 1024)], "relu")
    b.gemm(y, 1024, 1024, out="y")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [64, 1024])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [64, 1024])
    return make_model(b, "mlp", [x], [out], "Four 1024-wide Gemm layers with Relu.")


def tiny_add(rng: np.random.Generator) -> onnx.ModelProto:
    b = GraphBuilder(rng)
    bias = b.const("bias", rng.normal(0.0, 1.0, (1, 16)))
    b.node("Add", ["x", bias], "add", out="y")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])
    return make_model(b, "tiny_add", [x], [out], "One Add: the per-run overhead.")


MODELS = {
    "resnet_small.onnx": resnet_small,
    "mlp.onnx": mlp,
    "tiny_add.onnx": tiny_add,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="directory to write the .onnx files into")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    for file_name, build in MODELS.items():
        # One generator per model, so that each model's weights stay the
        # same when another model changes.
        model = build(np.random.default_rng([SEED, len(file_name)] + [ord(c) for c in file_name]))
        path = os.path.join(args.out_dir, file_name)
        onnx.save_model(model, path)
        print(f"{path}: {len(model.graph.node)} nodes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
