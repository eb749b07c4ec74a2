"""End-to-end tests of the optional providers through the `ember` command line:
oneDNN with and without provider groups against onnxruntime, per-step
profiles, and the CUDA provider on a machine without a GPU."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from test_cli import assert_close_to_onnxruntime


def plugin_built(name: str) -> bool:
    dirs = os.environ.get("EMBER_PROVIDER_PATH", "").split(":")
    return any((Path(d) / f"libember_provider_{name}.so").exists() for d in dirs if d)


def has_gpu() -> bool:
    return Path("/dev/nvidia0").exists() or Path("/dev/nvidiactl").exists()


needs_onednn = pytest.mark.skipif(not plugin_built("onednn"),
                                  reason="the oneDNN provider is not built (no libdnnl-dev)")


@needs_onednn
@pytest.mark.parametrize("model_name, shape, output", [
    ("resnet_small", (2, 3, 64, 64), "logits"),
    ("mlp", (64, 1024), "y"),
])
@pytest.mark.parametrize("opt_level", ["0", "99"])
def test_onednn_matches_onnxruntime_with_and_without_groups(run_ember, models, tmp_path,
                                                            model_name, shape, output,
                                                            opt_level):
    x = np.random.default_rng(11).standard_normal(shape).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    model = models / f"{model_name}.onnx"
    res = run_ember("run", model, "--providers", "onednn,cpu", "--opt-level", opt_level,
                    "--input", f"x={tmp_path / 'x.npy'}", "--output-dir", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    assert any(line.split()[:1] == ["oneDNN"] for line in res.stdout.splitlines())
    assert_close_to_onnxruntime(model, {"x": x}, tmp_path / "out", output)


@needs_onednn
@pytest.mark.parametrize("opt_level, want_groups", [("0", False), ("99", True)])
def test_bench_profile_lists_every_step(run_ember, models, tmp_path, opt_level, want_groups):
    path = tmp_path / "profile.json"
    res = run_ember("bench", models / "resnet_small.onnx", "--providers", "onednn,cpu",
                    "--runs", "4", "--warmup", "2", "--opt-level", opt_level,
                    "--profile", path)
    assert res.returncode == 0, res.stderr
    steps = json.loads(path.read_text())
    assert steps and all(s["calls"] == 4 for s in steps), steps
    assert all(s["total_ns"] > 0 for s in steps if s["op"] != "copy")
    groups = [s for s in steps if s["op"] == "group"]
    assert bool(groups) == want_groups
    assert all(s["provider"] == "oneDNN" and s["nodes"] >= 2 for s in groups)
    # Every node of the model is counted once, in a group or alone.
    assert sum(s["nodes"] for s in steps) == 53


def test_profile_needs_bench(run_ember, models, tmp_path):
    res = run_ember("run", models / "tiny_add.onnx", "--profile", tmp_path / "p.json")
    assert res.returncode == 2
    assert "unknown option '--profile' for 'ember run'" in res.error_line


@pytest.mark.skipif(not plugin_built("cuda"), reason="the CUDA provider is not built")
@pytest.mark.skipif(has_gpu(), reason="checks the message of a machine without a GPU")
def test_cuda_without_gpu_warns_and_falls_back(run_ember, models):
    res = run_ember("run", models / "tiny_add.onnx", "--providers", "cuda,cpu")
    assert res.returncode == 0, res.stderr
    assert "ember: warning: CUDA driver not found" in res.stderr
    assert "falling back to the next provider" in res.stderr
    assert "providers: CPU" in res.stdout
    strict = run_ember("run", models / "tiny_add.onnx", "--providers", "cuda,cpu", "--strict")
    assert strict.returncode == 1
    assert strict.error_line.startswith("ember: CUDA driver not found")


def transformer_block(rng, seq=16, hidden=32, ffn=64):
    """A small BERT-style block with the patterns oneDNN groups fuse: MatMul + bias,
    the five-node GELU, a residual Add after MatMul + bias, a scaling Div, and
    LayerNormalization."""
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def node(op, inputs, out, **attrs):
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    w = lambda *shape: rng.standard_normal(shape) * 0.2  # noqa: E731
    h = node("MatMul", ["x", const("w_in", w(hidden, ffn))], "h0")
    h = node("Add", [h, const("b_in", w(ffn))], "h1")
    g = node("Div", [h, const("sqrt2", np.array(np.sqrt(2.0)))], "g0")
    g = node("Erf", [g], "g1")
    g = node("Add", [g, const("one", np.array(1.0))], "g2")
    g = node("Mul", [h, g], "g3")
    g = node("Mul", [g, const("half", np.array(0.5))], "g4")
    o = node("MatMul", [g, const("w_out", w(ffn, hidden))], "o0")
    o = node("Add", [o, const("b_out", w(hidden))], "o1")
    r = node("Add", [o, "x"], "r")
    s = node("Div", [r, const("eight", np.array(8.0))], "s")
    node("LayerNormalization", [s, const("gamma", w(hidden) + 1), const("beta", w(hidden))],
         "y", axis=-1, epsilon=1e-5)
    graph = helper.make_graph(
        nodes, "block", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, seq, hidden])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, seq, hidden])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@needs_onednn
def test_onednn_fused_transformer_block_matches_onnxruntime(run_ember, tmp_path):
    import onnx

    rng = np.random.default_rng(3)
    model_path = tmp_path / "block.onnx"
    onnx.save_model(transformer_block(rng), str(model_path))
    x = rng.standard_normal((1, 16, 32)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    res = run_ember("run", model_path, "--providers", "onednn,cpu", "--input",
                    f"x={tmp_path / 'x.npy'}", "--output-dir", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    assert_close_to_onnxruntime(model_path, {"x": x}, tmp_path / "out", "y")
    profile = tmp_path / "p.json"
    res = run_ember("bench", model_path, "--providers", "onednn,cpu", "--runs", "2",
                    "--input", f"x={tmp_path / 'x.npy'}", "--profile", profile)
    assert res.returncode == 0, res.stderr
    steps = json.loads(profile.read_text())
    # oneDNN claims all twelve nodes, so they run as one group ...
    assert [(s["op"], s["nodes"]) for s in steps if s["op"] != "copy"] == [("group", 12)]
    # ... of three primitives: bias, GELU, residual and scaling are post-ops.
    res = run_ember("run", model_path, "--providers", "onednn,cpu", "--input",
                    f"x={tmp_path / 'x.npy'}", env={"DNNL_VERBOSE": "1"})
    assert res.returncode == 0, res.stderr
    executed = [line.split(",")[3] for line in res.stdout.splitlines()
                if line.startswith(("onednn_verbose,exec,cpu", "dnnl_verbose,exec,cpu"))]
    run_part = [p for p in executed if p != "reorder"]  # weights are reordered at load
    assert sorted(run_part) == ["layer_normalization", "matmul", "matmul"], executed


def bf16_mlp(rng):
    """float32 in, Cast to bfloat16, MatMul + bias, Relu, Gemm, Softmax in bfloat16, Cast back."""
    from onnx import TensorProto, helper, numpy_helper

    def bf16(name, array):
        t = helper.make_tensor(name, TensorProto.BFLOAT16, array.shape,
                               array.astype(np.float32).flatten().tolist())
        return t

    w1 = rng.standard_normal((64, 32)) * 0.2
    b1 = rng.standard_normal(32) * 0.2
    w2 = rng.standard_normal((16, 32)) * 0.2
    nodes = [
        helper.make_node("Cast", ["x"], ["xb"], to=TensorProto.BFLOAT16),
        helper.make_node("MatMul", ["xb", "w1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h2"]),
        helper.make_node("Gemm", ["h2", "w2"], ["h3"], transB=1),
        helper.make_node("Softmax", ["h3"], ["yb"], axis=-1),
        helper.make_node("Cast", ["yb"], ["y"], to=TensorProto.FLOAT),
    ]
    graph = helper.make_graph(
        nodes, "bf16_mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 16])],
        [bf16("w1", w1), bf16("b1", b1), bf16("w2", w2)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, (w1, b1, w2)


def bf16_round(a):
    bits = np.asarray(a, np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000).view(np.float32)


@needs_onednn
def test_onednn_runs_bfloat16(run_ember, tmp_path):
    import onnx

    rng = np.random.default_rng(5)
    model, (w1, b1, w2) = bf16_mlp(rng)
    path = tmp_path / "bf16.onnx"
    onnx.save_model(model, str(path))
    x = rng.standard_normal((8, 64)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    outs = {}
    for providers in ("onednn,cpu", "cpu"):
        res = run_ember("run", path, "--providers", providers, "--input",
                        f"x={tmp_path / 'x.npy'}", "--output-dir", tmp_path / providers)
        assert res.returncode == 0, res.stderr
        outs[providers] = np.load(tmp_path / providers / "y.npy")
        if providers == "onednn,cpu":
            placed = dict(line.split()[:2] for line in res.stdout.splitlines()
                          if line.startswith("  ") and line.split()[0] in ("oneDNN", "CPU"))
            if "oneDNN" not in placed:
                pytest.skip("oneDNN has no bfloat16 kernels on this CPU (no AVX512-BF16/AMX)")
            assert placed["oneDNN"] == "5", res.stdout  # all but the two Casts
    # Reference: float32 math on bfloat16-rounded values; bfloat16 keeps 8 bits of mantissa.
    h = np.maximum(bf16_round(bf16_round(x) @ bf16_round(w1)) + bf16_round(b1), 0)
    logits = bf16_round(h) @ bf16_round(w2).T
    ref = np.exp(logits - logits.max(-1, keepdims=True))
    ref /= ref.sum(-1, keepdims=True)
    np.testing.assert_allclose(outs["onednn,cpu"], ref, atol=2e-2)
    np.testing.assert_allclose(outs["onednn,cpu"], outs["cpu"], atol=2e-2)
    # The five bfloat16 nodes run as one oneDNN group (bias and Relu fused into the MatMul).
    profile = tmp_path / "p.json"
    res = run_ember("bench", path, "--providers", "onednn,cpu", "--runs", "2", "--input",
                    f"x={tmp_path / 'x.npy'}", "--profile", profile)
    assert res.returncode == 0, res.stderr
    steps = json.loads(profile.read_text())
    assert ("group", 5) in [(s["op"], s["nodes"]) for s in steps], steps


def qlinear_matmul(rng, a_type, per_column):
    """QLinearMatMul with int8 weights and constant scales/zero points, the way
    quantized models carry them; A is [2, 8, 64] of a_type."""
    from onnx import TensorProto, helper, numpy_helper

    k, n = 64, 48
    elem = TensorProto.UINT8 if a_type == np.uint8 else TensorProto.INT8
    zp = 128 if a_type == np.uint8 else 3
    w_scale = (rng.random(n) * 0.01 + 0.001) if per_column else np.array(0.004)
    inits = [numpy_helper.from_array(v, name) for name, v in [
        ("a_s", np.array(0.02, np.float32)), ("a_zp", np.array(zp, a_type)),
        ("w", rng.integers(-127, 128, (k, n)).astype(np.int8)),
        ("w_s", w_scale.astype(np.float32)), ("w_zp", np.array(0, np.int8)),
        ("y_s", np.array(0.5, np.float32)), ("y_zp", np.array(zp - 20, a_type))]]
    node = helper.make_node("QLinearMatMul", ["a", "a_s", "a_zp", "w", "w_s", "w_zp", "y_s",
                                              "y_zp"], ["y"])
    graph = helper.make_graph([node], "qmm",
                              [helper.make_tensor_value_info("a", elem, [2, 8, k])],
                              [helper.make_tensor_value_info("y", elem, [2, 8, n])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    info = np.iinfo(a_type)
    return model, rng.integers(info.min, info.max + 1, (2, 8, k)).astype(a_type)


@needs_onednn
@pytest.mark.parametrize("a_type", [np.uint8, np.int8])
@pytest.mark.parametrize("per_column", [False, True])
def test_onednn_runs_qlinear_matmul_in_int8(run_ember, tmp_path, a_type, per_column):
    import onnx
    import onnxruntime as ort

    model, a = qlinear_matmul(np.random.default_rng(9), a_type, per_column)
    path = tmp_path / "qmm.onnx"
    onnx.save_model(model, str(path))
    np.save(tmp_path / "a.npy", a)
    res = run_ember("run", path, "--providers", "onednn,cpu", "--strict", "--input",
                    f"a={tmp_path / 'a.npy'}", "--output-dir", tmp_path / "out")
    assert res.returncode == 0, res.stderr  # --strict: oneDNN ran the node
    actual = np.load(tmp_path / "out" / "y.npy")
    [expected] = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"a": a})
    assert actual.dtype == expected.dtype
    # Both round half to even after scaling; float rounding may differ by one unit.
    assert np.abs(actual.astype(int) - expected.astype(int)).max() <= 1


def qlinear_conv(rng, x_type, group):
    """QLinearConv 3x3, stride 2, pads 1, per-channel int8 weights, an int32 bias."""
    from onnx import TensorProto, helper, numpy_helper

    c, o = 16, 32
    elem = TensorProto.UINT8 if x_type == np.uint8 else TensorProto.INT8
    zp = 128 if x_type == np.uint8 else 2
    inits = [numpy_helper.from_array(v, name) for name, v in [
        ("xs", np.array(0.02, np.float32)), ("xzp", np.array(zp, x_type)),
        ("w", rng.integers(-127, 128, (o, c // group, 3, 3)).astype(np.int8)),
        ("ws", (rng.random(o) * 0.01 + 0.001).astype(np.float32)),
        ("wzp", np.zeros(o, np.int8)), ("ys", np.array(0.3, np.float32)),
        ("yzp", np.array(zp - 10, x_type)),
        ("b", rng.integers(-2000, 2000, o).astype(np.int32))]]
    node = helper.make_node("QLinearConv", ["x", "xs", "xzp", "w", "ws", "wzp", "ys", "yzp", "b"],
                            ["y"], pads=[1, 1, 1, 1], strides=[2, 2], group=group)
    graph = helper.make_graph([node], "qconv",
                              [helper.make_tensor_value_info("x", elem, [1, c, 15, 15])],
                              [helper.make_tensor_value_info("y", elem, [1, o, 8, 8])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    info = np.iinfo(x_type)
    return model, rng.integers(info.min, info.max + 1, (1, c, 15, 15)).astype(x_type)


@needs_onednn
@pytest.mark.parametrize("x_type", [np.uint8, np.int8])
@pytest.mark.parametrize("group", [1, 4])
def test_onednn_runs_qlinear_conv_in_int8(run_ember, tmp_path, x_type, group):
    import onnx
    import onnxruntime as ort

    model, x = qlinear_conv(np.random.default_rng(1), x_type, group)
    path = tmp_path / "qconv.onnx"
    onnx.save_model(model, str(path))
    np.save(tmp_path / "x.npy", x)
    res = run_ember("run", path, "--providers", "onednn,cpu", "--strict", "--input",
                    f"x={tmp_path / 'x.npy'}", "--output-dir", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    actual = np.load(tmp_path / "out" / "y.npy")
    [expected] = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"x": x})
    assert actual.dtype == expected.dtype
    assert np.abs(actual.astype(int) - expected.astype(int)).max() <= 1


def bf16_norms(rng):
    """float32 in, Cast to bfloat16, BatchNormalization (bfloat16 parameters), Relu,
    LayerNormalization over the last axis (float32 scale and bias), LRN, Cast back."""
    from onnx import TensorProto, helper, numpy_helper

    c = 6
    params = {"scale": rng.random(c) + 0.5, "bias": rng.standard_normal(c) * 0.1,
              "mean": rng.standard_normal(c) * 0.1, "var": rng.random(c) + 0.5}
    inits = [helper.make_tensor(name, TensorProto.BFLOAT16, [c], v.astype(np.float32).tolist())
             for name, v in params.items()]
    gamma, beta = rng.random(10) + 0.5, rng.standard_normal(10) * 0.1
    inits += [numpy_helper.from_array(gamma.astype(np.float32), "gamma"),
              numpy_helper.from_array(beta.astype(np.float32), "beta")]
    nodes = [
        helper.make_node("Cast", ["x"], ["xb"], to=TensorProto.BFLOAT16),
        helper.make_node("BatchNormalization", ["xb", "scale", "bias", "mean", "var"], ["bn"],
                         epsilon=1e-5),
        helper.make_node("Relu", ["bn"], ["r"]),
        helper.make_node("LayerNormalization", ["r", "gamma", "beta"], ["ln"], axis=-1,
                         epsilon=1e-5),
        helper.make_node("LRN", ["ln"], ["lrn"], size=3, alpha=0.3, beta=0.75, bias=1.0),
        helper.make_node("Cast", ["lrn"], ["y"], to=TensorProto.FLOAT),
    ]
    graph = helper.make_graph(
        nodes, "bf16_norms", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, c, 4, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, c, 4, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, params, (gamma, beta)


@needs_onednn
def test_onednn_runs_bfloat16_normalizations(run_ember, tmp_path):
    import onnx

    rng = np.random.default_rng(6)
    model, p, (gamma, beta) = bf16_norms(rng)
    path = tmp_path / "norms.onnx"
    onnx.save_model(model, str(path))
    x = rng.standard_normal((2, 6, 4, 10)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    res = run_ember("run", path, "--providers", "onednn,cpu", "--input",
                    f"x={tmp_path / 'x.npy'}", "--output-dir", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    placed = dict(line.split()[:2] for line in res.stdout.splitlines()
                  if line.startswith("  ") and line.split()[0] in ("oneDNN", "CPU"))
    if "oneDNN" not in placed:
        pytest.skip("oneDNN has no bfloat16 kernels on this CPU (no AVX512-BF16/AMX)")
    assert placed["oneDNN"] == "4", res.stdout  # BatchNormalization, Relu, LayerNormalization, LRN
    shape = (1, 6, 1, 1)
    q = {k: bf16_round(v).reshape(shape) for k, v in p.items()}
    bn = (bf16_round(x) - q["mean"]) / np.sqrt(q["var"] + 1e-5) * q["scale"] + q["bias"]
    r = np.maximum(bf16_round(bn), 0)
    mu, var = r.mean(-1, keepdims=True), r.var(-1, keepdims=True)
    ln = bf16_round((r - mu) / np.sqrt(var + 1e-5) * gamma + beta)
    sq = np.pad(ln * ln, ((0, 0), (1, 1), (0, 0), (0, 0)))  # channels c-1..c+1
    window = sq[:, :-2] + sq[:, 1:-1] + sq[:, 2:]
    ref = ln / (1.0 + 0.3 / 3 * window) ** 0.75
    np.testing.assert_allclose(np.load(tmp_path / "out" / "y.npy"), ref, atol=5e-2)


@needs_onednn
def test_onednn_group_runs_an_empty_batch(run_ember, tmp_path):
    """A symbolic batch of 0 through a Conv -> Relu -> MaxPool group gives an empty output
    of the right shape (oneDNN runs zero-sized primitives as no-ops)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["y"], kernel_shape=[2, 2], strides=[2, 2])]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 4, 4])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "empty.onnx"
    onnx.save_model(model, str(path))
    np.save(tmp_path / "x.npy", np.zeros((0, 3, 8, 8), np.float32))
    res = run_ember("run", path, "--providers", "onednn,cpu", "--strict", "--input",
                    f"x={tmp_path / 'x.npy'}", "--output-dir", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    assert np.load(tmp_path / "out" / "y.npy").shape == (0, 4, 4, 4)


def winograd_model(rng, variant):
    """Two 3x3 stride-1 convolutions that oneDNN runs as Winograd convolutions:
    'f4': 16 -> 32 -> 32 channels on 30x34 (72 tiles of 4x4, partial at the edges), bias,
    Relu, a residual Add and Relu (in a group: sum and Relu post-ops);
    'f2': 16 -> 48 -> 16 channels on 15x13, no padding then asymmetric padding, no bias,
    LeakyRelu and Clip (too few 4x4 tiles: 2x2 tiles)."""
    from onnx import TensorProto, helper, numpy_helper

    def weights(name, k, c):
        return numpy_helper.from_array(
            (rng.standard_normal((k, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32), name)

    if variant == "f4":
        x_shape, y_shape = ["N", 16, 30, 34], ["N", 32, 30, 34]
        inits = [weights("w1", 32, 16), weights("w2", 32, 32),
                 numpy_helper.from_array(rng.standard_normal(32).astype(np.float32), "b1"),
                 numpy_helper.from_array(rng.standard_normal(32).astype(np.float32), "b2")]
        nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
                 helper.make_node("Relu", ["c1"], ["r1"]),
                 helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], kernel_shape=[3, 3],
                                  auto_pad="SAME_UPPER"),
                 helper.make_node("Add", ["c2", "r1"], ["s"]),
                 helper.make_node("Relu", ["s"], ["y"])]
    else:
        x_shape, y_shape = ["N", 16, 15, 13], ["N", 16, 14, 10]
        inits = [weights("w1", 48, 16), weights("w2", 16, 48)]
        nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"]),
                 helper.make_node("LeakyRelu", ["c1"], ["r1"], alpha=0.1),
                 helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 0, 2, 1]),
                 helper.make_node("Clip", ["c2", "lo", "hi"], ["y"])]
        inits += [numpy_helper.from_array(np.array(-1, np.float32), "lo"),
                  numpy_helper.from_array(np.array(1, np.float32), "hi")]
    graph = helper.make_graph(
        nodes, "winograd", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@needs_onednn
@pytest.mark.parametrize("variant", ["f4", "f2"])
@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("opt_level, threads", [("0", "1"), ("99", "1"), ("99", "2")])
def test_onednn_winograd_matches_onnxruntime(run_ember, tmp_path, variant, batch, opt_level,
                                             threads):
    """Winograd convolutions (the default) give onnxruntime's results node by node and in
    groups with fused post-ops; they differ from oneDNN's direct convolutions (winograd=0)
    by rounding, which shows they ran."""
    import onnx

    rng = np.random.default_rng(5)
    path = tmp_path / "winograd.onnx"
    onnx.save_model(winograd_model(rng, variant), str(path))
    hw = (30, 34) if variant == "f4" else (15, 13)
    x = rng.standard_normal((batch, 16, *hw)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    outputs = {}
    for winograd in ("1", "0"):
        out = tmp_path / f"out{winograd}"
        res = run_ember("run", path, "--providers", f"onednn:winograd={winograd},cpu",
                        "--strict", "--opt-level", opt_level, "--threads", threads,
                        "--input", f"x={tmp_path / 'x.npy'}", "--output-dir", out)
        assert res.returncode == 0, res.stderr
        assert_close_to_onnxruntime(path, {"x": x}, out, "y")
        outputs[winograd] = np.load(out / "y.npy")
    assert not np.array_equal(outputs["1"], outputs["0"])


@needs_onednn
def test_onednn_rejects_a_bad_winograd_option(run_ember, models):
    res = run_ember("run", models / "tiny_add.onnx", "--providers", "onednn:winograd=yes,cpu")
    assert res.returncode != 0
    assert "winograd 'yes' is not 0 or 1" in res.stderr


@needs_onednn
@pytest.mark.parametrize("opt_level, want_norms", [("0", 15), ("99", 0)])
def test_onednn_group_folds_batch_normalization_into_conv(run_ember, models, tmp_path,
                                                          opt_level, want_norms):
    """resnet_small's fifteen Conv -> BatchNormalization pairs: in groups each normalization
    folds into its Conv's weights and bias (no batch-normalization primitive runs), node by
    node each runs; onnxruntime's results either way."""
    x = np.random.default_rng(2).standard_normal((1, 3, 64, 64)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    model = models / "resnet_small.onnx"
    res = run_ember("run", model, "--providers", "onednn,cpu", "--opt-level", opt_level,
                    "--input", f"x={tmp_path / 'x.npy'}", "--output-dir", tmp_path / "out",
                    env={"DNNL_VERBOSE": "1"})
    assert res.returncode == 0, res.stderr
    executed = [line.split(",")[3] for line in res.stdout.splitlines()
                if line.startswith(("onednn_verbose,exec,cpu", "dnnl_verbose,exec,cpu"))]
    assert executed.count("batch_normalization") == want_norms, executed
    assert_close_to_onnxruntime(model, {"x": x}, tmp_path / "out", "logits")
