"""End-to-end tests of the `ember` command line: results against
onnxruntime, `ember info`, and one precise error line (never a crash) for
bad models, bad inputs and missing providers."""
from __future__ import annotations

import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

RTOL = 1e-4
# A tiny absolute tolerance, scaled to the output's magnitude, so that
# elements that are almost zero compare by their absolute error.
ATOL_SCALE = 1e-5


def assert_close_to_onnxruntime(model_path, feeds, outputs_dir, output_name):
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    [expected] = session.run([output_name], feeds)
    actual = np.load(outputs_dir / f"{output_name}.npy")
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    atol = ATOL_SCALE * float(np.abs(expected).max())
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=atol)


def save_model(model, path):
    onnx.save_model(model, str(path))
    return path


def identity_model(dtype, name_in="x", name_out="y", shape=(2, 3)):
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    graph = helper.make_graph(
        [helper.make_node("Identity", [name_in], [name_out])], "identity",
        [helper.make_tensor_value_info(name_in, elem, list(shape))],
        [helper.make_tensor_value_info(name_out, elem, list(shape))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


# ---- results -------------------------------------------------------------------


@pytest.mark.parametrize("model_name, shape, output, output_shape", [
    ("resnet_small", (2, 3, 64, 64), "logits", "[2,10]"),
    ("mlp", (64, 1024), "y", "[64,1024]"),
])
def test_run_matches_onnxruntime(run_ember, models, tmp_path, model_name, shape, output,
                                 output_shape):
    x = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    model = models / f"{model_name}.onnx"
    res = run_ember("run", model, "--input", f"x={tmp_path / 'x.npy'}",
                    "--output-dir", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    assert f"output '{output}': float32 {output_shape}" in res.stdout
    assert_close_to_onnxruntime(model, {"x": x}, tmp_path / "out", output)


def test_run_fills_missing_inputs_and_reports_placement(run_ember, models):
    res = run_ember("run", models / "resnet_small.onnx", "--providers", "cpu", "--threads", "1")
    assert res.returncode == 0, res.stderr
    assert "input 'x': dim 'N' set to 1" in res.stdout
    assert "input 'x': float32 [1,3,64,64] (random, seed 0)" in res.stdout
    assert "output 'logits': float32 [1,10]" in res.stdout
    assert "min " in res.stdout and "mean " in res.stdout
    assert "placement (53 nodes):" in res.stdout
    assert any(line.split()[:2] == ["CPU", "53"] for line in res.stdout.splitlines())
    assert "copies: 0" in res.stdout


def test_run_seed_makes_inputs_reproducible(run_ember, models, tmp_path):
    for run_dir, seed in (("a", 5), ("b", 5), ("c", 6)):
        res = run_ember("run", models / "tiny_add.onnx", "--seed", seed,
                        "--output-dir", tmp_path / run_dir)
        assert res.returncode == 0, res.stderr
    a, b, c = (np.load(tmp_path / d / "y.npy") for d in "abc")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("names", ["CPU", "cpu", "Cpu"])
def test_run_provider_names_are_case_insensitive(run_ember, models, names):
    res = run_ember("run", models / "tiny_add.onnx", "--providers", names, "--strict")
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("dtype", ["<f4", "<f8", "<f2", "|i1", "<i2", "<i4", "<i8",
                                   "|u1", "<u2", "<u4", "<u8", "|b1"])
def test_npy_round_trip_through_identity(run_ember, tmp_path, dtype):
    model = save_model(identity_model(dtype), tmp_path / "identity.onnx")
    x = (np.arange(6).reshape(2, 3) % 2 == 1) if dtype == "|b1" else \
        (np.arange(6).reshape(2, 3) * 3 + 1).astype(dtype)
    np.save(tmp_path / "x.npy", x)
    res = run_ember("run", model, "--input", f"x={tmp_path / 'x.npy'}",
                    "--output-dir", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    y = np.load(tmp_path / "out" / "y.npy")
    assert y.dtype == x.dtype and y.shape == x.shape
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_npy_header_versions(run_ember, models, tmp_path, version):
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(1, 16)
    with open(tmp_path / "x.npy", "wb") as f:
        np.lib.format.write_array(f, x, version=version)
    res = run_ember("run", models / "tiny_add.onnx", "--input", f"x={tmp_path / 'x.npy'}",
                    "--output-dir", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    assert_close_to_onnxruntime(models / "tiny_add.onnx", {"x": x}, tmp_path / "out", "y")


def test_output_names_become_safe_file_names(run_ember, tmp_path):
    model = save_model(identity_model("<f4", name_out="../up/out:0"), tmp_path / "m.onnx")
    out = tmp_path / "deep" / "out"
    out.parent.mkdir()
    res = run_ember("run", model, "--output-dir", out)
    assert res.returncode == 0, res.stderr
    assert sorted(os.listdir(out)) == ["_._up_out_0.npy"]
    assert sorted(os.listdir(out.parent)) == ["out"]


# ---- info ----------------------------------------------------------------------------


def test_info_describes_the_model(run_ember, models):
    res = run_ember("info", models / "resnet_small.onnx")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "x: float32 [N,3,64,64]" in out
    assert "logits: float32 [N,10]" in out
    assert "opsets: ai.onnx 17" in out
    assert "producer: ember-bench" in out
    assert "source: bench/make_models.py" in out
    counts = {parts[0]: int(parts[1]) for parts in
              (line.split() for line in out.splitlines() if line.startswith("  "))
              if len(parts) == 2 and parts[1].isdigit()}
    assert counts["Conv"] == 15 and counts["BatchNormalization"] == 15
    assert counts["Add"] == 6 and counts["Gemm"] == 1


# ---- errors: one line, precise, exit status 1 (2 for usage) ---------------------------


def test_wrong_input_name(run_ember, models, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 16), np.float32))
    res = run_ember("run", models / "tiny_add.onnx", "--input", f"wrong={tmp_path / 'x.npy'}")
    assert res.returncode == 1
    assert "no input 'wrong'" in res.error_line and "'x'" in res.error_line


def test_wrong_input_dtype(run_ember, models, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 16), np.int64))
    res = run_ember("run", models / "tiny_add.onnx", "--input", f"x={tmp_path / 'x.npy'}")
    assert res.returncode == 1
    line = res.error_line
    assert "input 'x'" in line and "int64" in line and "float32" in line


def test_wrong_input_rank(run_ember, models, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 64, 64), np.float32))
    res = run_ember("run", models / "resnet_small.onnx", "--input", f"x={tmp_path / 'x.npy'}")
    assert res.returncode == 1
    line = res.error_line
    assert "input 'x'" in line and "rank 3" in line and "rank 4" in line


def test_wrong_input_dim(run_ember, models, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 3, 32, 64), np.float32))
    res = run_ember("run", models / "resnet_small.onnx", "--input", f"x={tmp_path / 'x.npy'}")
    assert res.returncode == 1
    assert "input 'x'" in res.error_line and "[1,3,32,64]" in res.error_line


@pytest.mark.parametrize("array, words", [
    (np.asfortranarray(np.zeros((2, 8), np.float32)), "fortran"),
    (np.zeros((1, 16), ">f4"), "big-endian"),
    (np.array([[object()] * 16]), "object"),
])
def test_unsupported_npy_layouts(run_ember, models, tmp_path, array, words):
    np.save(tmp_path / "x.npy", array, allow_pickle=True)
    res = run_ember("run", models / "tiny_add.onnx", "--input", f"x={tmp_path / 'x.npy'}")
    assert res.returncode == 1
    assert words in res.error_line and "x.npy" in res.error_line


def test_truncated_npy(run_ember, models, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 16), np.float32))
    data = (tmp_path / "x.npy").read_bytes()
    (tmp_path / "x.npy").write_bytes(data[:-10])
    res = run_ember("run", models / "tiny_add.onnx", "--input", f"x={tmp_path / 'x.npy'}")
    assert res.returncode == 1
    assert "truncated" in res.error_line and "x.npy" in res.error_line


def test_missing_model_file(run_ember, tmp_path):
    missing = tmp_path / "nope.onnx"
    res = run_ember("run", missing)
    assert res.returncode == 1
    assert str(missing) in res.error_line and "No such file" in res.error_line


def test_missing_input_file(run_ember, models, tmp_path):
    res = run_ember("run", models / "tiny_add.onnx", "--input", f"x={tmp_path / 'gone.npy'}")
    assert res.returncode == 1
    assert "gone.npy" in res.error_line


def test_truncated_model(run_ember, models, tmp_path):
    data = (models / "resnet_small.onnx").read_bytes()
    bad = tmp_path / "truncated.onnx"
    bad.write_bytes(data[: len(data) // 2])
    res = run_ember("run", bad)
    assert res.returncode == 1
    assert "truncated.onnx" in res.error_line


def test_corrupt_model(run_ember, tmp_path):
    bad = tmp_path / "random.onnx"
    bad.write_bytes(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    res = run_ember("info", bad)
    assert res.returncode == 1
    assert "random.onnx" in res.error_line


def test_unknown_op(run_ember, tmp_path):
    graph = helper.make_graph(
        [helper.make_node("NoSuchOp", ["x"], ["y"], name="mystery")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = save_model(model, tmp_path / "unknown_op.onnx")
    res = run_ember("run", path)
    assert res.returncode == 1
    assert "NoSuchOp" in res.error_line


def test_no_provider_found(run_ember, models, tmp_path):
    empty = tmp_path / "no_providers"
    empty.mkdir()
    res = run_ember("run", models / "tiny_add.onnx", env={"EMBER_PROVIDER_PATH": str(empty)})
    assert res.returncode == 1
    line = res.error_line
    assert "provider 'CPU'" in line and ("not found" in line or "not available" in line)


@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["run"],
    ["run", "m.onnx", "--threads", "many"],
    ["run", "m.onnx", "--bogus"],
    ["run", "m.onnx", "--input", "no_equals_sign"],
    ["run", "m.onnx", "--providers", "cpu,,cuda"],
    ["info"],
])
def test_usage_errors(run_ember, args):
    res = run_ember(*args)
    assert res.returncode == 2
    assert res.error_line


def test_bench_reports_latency_statistics(run_ember, models):
    result = run_ember("bench", models / "tiny_add.onnx", "--runs", "50", "--warmup", "2",
                       "--threads", "1")
    assert result.returncode == 0, result.stderr
    stats = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert stats["runs"] == "50"
    assert stats["warm-up runs"] == "2"
    median, p90, fastest = (float(stats[k].split()[0]) for k in ("median", "p90", "min"))
    assert 0 < fastest <= median <= p90


def test_bench_rejects_run_only_and_bad_options(run_ember, models):
    result = run_ember("bench", models / "tiny_add.onnx", "--runs", "0")
    assert result.returncode == 2
    assert "--runs" in result.error_line
    result = run_ember("run", models / "tiny_add.onnx", "--seconds", "1")
    assert result.returncode == 2
    assert "unknown option '--seconds' for 'ember run'" in result.error_line
