#!/usr/bin/env python3
"""Builds the example models used by the benchmarks and the end-to-end tests.

    python3 bench/make_models.py OUT_DIR [--only NAME[,NAME...]] [--no-fold-bn]

writes, with fixed-seed random weights (the same bytes on every run):

    resnet_small.onnx  a small ResNet: stem Conv+BN+Relu+MaxPool, six basic
                       residual blocks (Conv/BatchNormalization/Relu/Add) in
                       three stages, GlobalAveragePool, Flatten, Gemm;
                       input x: float32 [N, 3, 64, 64] with a symbolic batch N
    mlp.onnx           four 1024-wide Gemm layers with Relu; input x: [64, 1024]
    tiny_add.onnx      one Add: x [1, 16] + a constant
    resnet50.onnx      ResNet-50 v1.5 (torchvision layout: the stride of a
                       bottleneck sits on its 3x3 Conv): stem 7x7 Conv+Relu,
                       MaxPool, 3+4+6+3 bottlenecks with residual Add,
                       GlobalAveragePool, Flatten, Gemm 2048->1000;
                       input x: float32 [N, 3, 224, 224] -> logits [N, 1000]
    mobilenetv2.onnx   MobileNetV2 1.0: inverted residuals (expansion 6),
                       depthwise 3x3 Conv (group = channels), Clip(0, 6) as
                       ReLU6 (min and max as inputs), Conv 320->1280,
                       GlobalAveragePool, Flatten, Gemm 1280->1000;
                       input x: float32 [N, 3, 224, 224] -> logits [N, 1000]
    bert_base.onnx     a BERT-base encoder, about 440 MB: input_ids int64
                       [1, 128] through Gather on a [30522, 768] embedding,
                       plus position and token-type embeddings,
                       LayerNormalization, 12 layers of 12-head self-attention
                       (MatMul/Add/Reshape/Transpose/Div/Softmax) and a GELU
                       feed-forward 768->3072->768 written as PyTorch exports
                       it (x * (1 + Erf(x / sqrt 2)) * 0.5);
                       output last_hidden_state float32 [1, 128, 768]

--only writes a subset (names with or without .onnx: --only resnet50,mlp).
ResNet-50 and MobileNetV2 have their BatchNormalization folded into the Conv
weights and biases, as torch.onnx.export writes a model in eval mode;
--no-fold-bn keeps Conv (no bias) + BatchNormalization nodes instead.
Weights are He-scaled (the last normalization of each residual branch is
scaled down), so activations stay of order one through the whole network.
All models use opset 17 and IR version 8 and pass onnx.checker's full check.
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

    def const(self, prefix: str, array, dtype=np.float32) -> str:
        name = self.name(prefix)
        array = np.asarray(array, dtype=dtype)
        self.initializers.append(numpy_helper.from_array(array, name))
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


# ---- ResNet-50 and MobileNetV2 ----------------------------------------------


class ConvNetBuilder(GraphBuilder):
    """Conv + BatchNormalization layers, the normalization folded into the
    Conv (as exporters write an eval-mode model) or kept as its own node."""

    def __init__(self, rng: np.random.Generator, fold_bn: bool):
        super().__init__(rng)
        self.fold_bn = fold_bn
        self.clip_bounds: tuple[str, str] | None = None

    def conv_norm(self, x: str, c_in: int, c_out: int, k: int, stride: int, group: int = 1,
                  gain: float = 2.0, gamma: tuple[float, float] = (0.5, 1.5)) -> str:
        """Conv (He-scaled by `gain`) then a normalization whose scale is
        drawn from `gamma`; with fold_bn one Conv with a bias."""
        fan_in = c_in // group * k * k
        w = self.rng.normal(0.0, np.sqrt(gain / fan_in), (c_out, c_in // group, k, k))
        scale = self.rng.uniform(gamma[0], gamma[1], c_out)
        shift = self.rng.normal(0.0, 0.1, c_out)
        mean = self.rng.normal(0.0, 0.1, c_out)
        var = self.rng.uniform(0.5, 1.5, c_out)
        attrs = dict(kernel_shape=[k, k], strides=[stride, stride],
                     pads=[k // 2] * 4, group=group)
        if self.fold_bn:
            factor = scale / np.sqrt(var + 1e-5)
            inputs = [x, self.const("conv_w", w * factor[:, None, None, None]),
                      self.const("conv_b", shift - mean * factor)]
            return self.node("Conv", inputs, "conv", **attrs)
        y = self.node("Conv", [x, self.const("conv_w", w)], "conv", **attrs)
        inputs = [y] + [self.const(p, a) for p, a in (("bn_scale", scale), ("bn_bias", shift),
                                                       ("bn_mean", mean), ("bn_var", var))]
        return self.node("BatchNormalization", inputs, "bn", epsilon=1e-5)

    def relu6(self, x: str) -> str:
        """Clip(0, 6) with min and max as inputs (opset 11 and later)."""
        if self.clip_bounds is None:
            self.clip_bounds = (self.const("clip_min", np.float32(0.0)),
                                self.const("clip_max", np.float32(6.0)))
        return self.node("Clip", [x, *self.clip_bounds], "relu6")

    def classifier(self, x: str, c: int, n_classes: int) -> str:
        y = self.node("GlobalAveragePool", [x], "gap")
        y = self.node("Flatten", [y], "flatten", axis=1)
        return self.gemm(y, c, n_classes, out="logits")


def bottleneck(b: ConvNetBuilder, x: str, c_in: int, width: int, stride: int) -> str:
    """ResNet v1.5 bottleneck: 1x1, 3x3 (strided), 1x1 to 4 x width."""
    c_out = 4 * width
    y = b.node("Relu", [b.conv_norm(x, c_in, width, 1, 1)], "relu")
    y = b.node("Relu", [b.conv_norm(y, width, width, 3, stride)], "relu")
    y = b.conv_norm(y, width, c_out, 1, 1, gamma=(0.1, 0.3))
    shortcut = x
    if stride != 1 or c_in != c_out:
        shortcut = b.conv_norm(x, c_in, c_out, 1, stride, gain=1.0)
    return b.node("Relu", [b.node("Add", [y, shortcut], "add")], "relu")


def resnet50(rng: np.random.Generator, fold_bn: bool = True) -> onnx.ModelProto:
    b = ConvNetBuilder(rng, fold_bn)
    y = b.node("Relu", [b.conv_norm("x", 3, 64, 7, 2)], "relu")
    y = b.node("MaxPool", [y], "pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    channels = 64
    for width, n_blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(n_blocks):
            y = bottleneck(b, y, channels, width, stride if i == 0 else 1)
            channels = 4 * width
    b.classifier(y, channels, 1000)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 224, 224])
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000])
    return make_model(b, "resnet50", [x], [out],
                      "ResNet-50 v1.5 with random weights"
                      + (", BatchNormalization folded." if fold_bn else "."))


def inverted_residual(b: ConvNetBuilder, x: str, c_in: int, c_out: int, stride: int,
                      expansion: int) -> str:
    """MobileNetV2 block: 1x1 expand + ReLU6, depthwise 3x3 + ReLU6, 1x1
    linear projection; residual Add when the shape is kept."""
    hidden = c_in * expansion
    y = x
    if expansion != 1:
        y = b.relu6(b.conv_norm(y, c_in, hidden, 1, 1))
    y = b.relu6(b.conv_norm(y, hidden, hidden, 3, stride, group=hidden))
    residual = stride == 1 and c_in == c_out
    y = b.conv_norm(y, hidden, c_out, 1, 1, gain=1.0,
                    gamma=(0.2, 0.5) if residual else (0.5, 1.5))
    return b.node("Add", [x, y], "add") if residual else y


def mobilenetv2(rng: np.random.Generator, fold_bn: bool = True) -> onnx.ModelProto:
    b = ConvNetBuilder(rng, fold_bn)
    y = b.relu6(b.conv_norm("x", 3, 32, 3, 2))
    channels = 32
    # (expansion, output channels, blocks, stride of the first block)
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(n):
            y = inverted_residual(b, y, channels, c, s if i == 0 else 1, t)
            channels = c
    y = b.relu6(b.conv_norm(y, channels, 1280, 1, 1))
    b.classifier(y, 1280, 1000)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 224, 224])
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000])
    return make_model(b, "mobilenetv2", [x], [out],
                      "MobileNetV2 1.0 with random weights"
                      + (", BatchNormalization folded." if fold_bn else "."))


# ---- BERT-base ----------------------------------------------------------------

BERT_VOCAB, BERT_HIDDEN, BERT_HEADS, BERT_FFN, BERT_LAYERS, BERT_SEQ = 30522, 768, 12, 3072, 12, 128


class BertBuilder(GraphBuilder):
    """Weights ~ N(0, 0.02) as BERT initializes them."""

    def normal(self, prefix: str, shape) -> str:
        w = self.rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
        return self.const(prefix, w)

    def linear(self, x: str, n_in: int, n_out: int, prefix: str) -> str:
        y = self.node("MatMul", [x, self.normal(prefix + "_w", (n_in, n_out))], prefix + "_mm")
        return self.node("Add", [y, self.normal(prefix + "_b", (n_out,))], prefix + "_add")

    def layer_norm(self, x: str, prefix: str, out: str | None = None) -> str:
        gamma = self.const(prefix + "_g", 1.0 + 0.02 * self.rng.standard_normal(BERT_HIDDEN))
        beta = self.normal(prefix + "_b", (BERT_HIDDEN,))
        return self.node("LayerNormalization", [x, gamma, beta], prefix, out=out,
                         axis=-1, epsilon=1e-12)

    def heads(self, x: str, perm: list[int], prefix: str) -> str:
        """[1, S, H] -> [1, S, heads, H / heads] -> transposed by perm."""
        shape = self.const(prefix + "_shape", [1, BERT_SEQ, BERT_HEADS, BERT_HIDDEN // BERT_HEADS],
                           np.int64)
        y = self.node("Reshape", [x, shape], prefix + "_reshape")
        return self.node("Transpose", [y], prefix + "_transpose", perm=perm)

    def attention(self, x: str, p: str) -> str:
        q = self.heads(self.linear(x, BERT_HIDDEN, BERT_HIDDEN, p + "q"), [0, 2, 1, 3], p + "q")
        k = self.heads(self.linear(x, BERT_HIDDEN, BERT_HIDDEN, p + "k"), [0, 2, 3, 1], p + "k")
        v = self.heads(self.linear(x, BERT_HIDDEN, BERT_HIDDEN, p + "v"), [0, 2, 1, 3], p + "v")
        scores = self.node("MatMul", [q, k], p + "scores")
        scale = self.const(p + "scale", np.float32(np.sqrt(BERT_HIDDEN // BERT_HEADS)))
        scores = self.node("Div", [scores, scale], p + "scaled")
        probs = self.node("Softmax", [scores], p + "softmax", axis=-1)
        context = self.node("MatMul", [probs, v], p + "context")
        context = self.node("Transpose", [context], p + "context_transpose", perm=[0, 2, 1, 3])
        shape = self.const(p + "context_shape", [1, BERT_SEQ, BERT_HIDDEN], np.int64)
        context = self.node("Reshape", [context, shape], p + "context_reshape")
        return self.linear(context, BERT_HIDDEN, BERT_HIDDEN, p + "o")

    def gelu(self, x: str, p: str) -> str:
        """x * (1 + Erf(x / sqrt 2)) * 0.5, the nodes torch.onnx.export writes."""
        y = self.node("Div", [x, self.const(p + "sqrt2", np.float32(np.sqrt(2.0)))], p + "div")
        y = self.node("Erf", [y], p + "erf")
        y = self.node("Add", [y, self.const(p + "one", np.float32(1.0))], p + "add")
        y = self.node("Mul", [x, y], p + "mul")
        return self.node("Mul", [y, self.const(p + "half", np.float32(0.5))], p + "mul")

    def encoder_layer(self, x: str, i: int, out: str | None) -> str:
        p = f"l{i}_"
        y = self.node("Add", [self.attention(x, p), x], p + "attn_residual")
        y = self.layer_norm(y, p + "attn_ln")
        h = self.gelu(self.linear(y, BERT_HIDDEN, BERT_FFN, p + "ffn_in"), p + "gelu_")
        h = self.linear(h, BERT_FFN, BERT_HIDDEN, p + "ffn_out")
        return self.layer_norm(self.node("Add", [h, y], p + "ffn_residual"), p + "ffn_ln", out)


def bert_base(rng: np.random.Generator) -> onnx.ModelProto:
    b = BertBuilder(rng)
    y = b.node("Gather", [b.normal("word_embeddings", (BERT_VOCAB, BERT_HIDDEN)), "input_ids"],
               "word_gather", axis=0)
    y = b.node("Add", [y, b.normal("position_embeddings", (1, BERT_SEQ, BERT_HIDDEN))],
               "position_add")
    y = b.node("Add", [y, b.normal("token_type_embedding", (BERT_HIDDEN,))], "token_type_add")
    y = b.layer_norm(y, "embeddings_ln")
    for i in range(BERT_LAYERS):
        y = b.encoder_layer(y, i, "last_hidden_state" if i == BERT_LAYERS - 1 else None)
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, BERT_SEQ])
    out = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                        [1, BERT_SEQ, BERT_HIDDEN])
    return make_model(b, "bert_base", [ids], [out],
                      "A BERT-base encoder (12 layers, hidden 768, 12 heads, sequence 128) "
                      "with random weights.")


MODELS = {
    "resnet_small.onnx": resnet_small,
    "mlp.onnx": mlp,
    "tiny_add.onnx": tiny_add,
    "resnet50.onnx": resnet50,
    "mobilenetv2.onnx": mobilenetv2,
    "bert_base.onnx": bert_base,
}
FOLDABLE = {resnet50, mobilenetv2}


def selected_models(only: str | None) -> list[str]:
    """The file names --only names (all models without it)."""
    if not only:
        return list(MODELS)
    names = []
    for word in only.split(","):
        file_name = word.strip() if word.strip().endswith(".onnx") else word.strip() + ".onnx"
        if file_name not in MODELS:
            known = ", ".join(n[:-len(".onnx")] for n in MODELS)
            raise SystemExit(f"make_models.py: unknown model '{word}' (known: {known})")
        names.append(file_name)
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="directory to write the .onnx files into")
    parser.add_argument("--only", metavar="NAME[,NAME]", help="write only these models")
    parser.add_argument("--fold-bn", action=argparse.BooleanOptionalAction, default=True,
                        help="fold BatchNormalization into the Conv weights of resnet50 and "
                             "mobilenetv2 (default: on)")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    for file_name in selected_models(args.only):
        build = MODELS[file_name]
        # One generator per model, so that each model's weights stay the
        # same when another model changes.
        rng = np.random.default_rng([SEED, len(file_name)] + [ord(c) for c in file_name])
        model = build(rng, args.fold_bn) if build in FOLDABLE else build(rng)
        path = os.path.join(args.out_dir, file_name)
        onnx.save_model(model, path)
        print(f"{path}: {len(model.graph.node)} nodes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
