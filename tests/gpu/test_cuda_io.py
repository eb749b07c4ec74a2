"""Values and io binding on the CUDA device, from Python, with numpy and torch.

Runs on a machine with an NVIDIA GPU (tests/gpu/run.sh runs it with
gpu-carry/python on PYTHONPATH); elsewhere every test skips with the reason.
Where tests/gpu/run.sh saw a GPU (EMBER_EXPECT_GPU=1), a CUDA provider that
cannot be used fails the tests instead. Results are compared with numpy and
with the CPU provider; "no copy" is checked by comparing device addresses.

    python3 -m pytest -q tests/gpu/test_cuda_io.py
"""
from __future__ import annotations

import os

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import ember  # noqa: E402

try:
    import torch
except ImportError:  # numpy scenarios still run
    torch = None

CUDA = ["CUDAExecutionProvider", "CPUExecutionProvider"]
CPU = ["CPUExecutionProvider"]
A = np.arange(6, dtype=np.float32).reshape(2, 3)
B = np.full((2, 3), 0.5, np.float32)
RNG = np.random.default_rng(5)
X = RNG.standard_normal((4, 64)).astype(np.float32)
W = (RNG.standard_normal((64, 32)) / 8).astype(np.float32)
BIAS = RNG.standard_normal(32).astype(np.float32)


def _cuda_reason() -> str | None:
    """None when Ember's CUDA provider is usable here, else why not."""
    is_available, why = ember._providers.availability("CUDA")
    return None if is_available else f"Ember's CUDA provider is not usable here: {why}"


@pytest.fixture(scope="session", autouse=True)
def cuda():
    why = _cuda_reason()
    if why and os.environ.get("EMBER_EXPECT_GPU") == "1":
        pytest.fail(f"a GPU is present (EMBER_EXPECT_GPU=1) but {why}")
    if why:
        pytest.skip(why)


@pytest.fixture(scope="session")
def th():
    """torch with CUDA, or a skip."""
    if torch is None:
        pytest.skip("torch is not installed")
    if not torch.cuda.is_available():
        pytest.skip("torch sees no CUDA device")
    return torch


# ---- models ---------------------------------------------------------------------------

def _model(nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _info(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


@pytest.fixture(scope="session")
def two_inputs():
    """z = (a + b) * a; a, b float [2, 3]: both nodes on CUDA."""
    return _model([helper.make_node("Add", ["a", "b"], ["s"]),
                   helper.make_node("Mul", ["s", "a"], ["z"])],
                  [_info("a", [2, 3]), _info("b", [2, 3])], [_info("z", [2, 3])])


@pytest.fixture(scope="session")
def mlp():
    """y = Relu(x @ w + bias); x float [4, 64]: cuBLAS and own kernels."""
    return _model([helper.make_node("MatMul", ["x", "w"], ["m"]),
                   helper.make_node("Add", ["m", "bias"], ["s"]),
                   helper.make_node("Relu", ["s"], ["y"])],
                  [_info("x", [4, 64])], [_info("y", [4, 32])],
                  [numpy_helper.from_array(W, "w"), numpy_helper.from_array(BIAS, "bias")])


@pytest.fixture(scope="session")
def mixed():
    """y = Sin(x) + x; x float [2, 3]: Sin stays on the CPU, Add runs on CUDA."""
    return _model([helper.make_node("Sin", ["x"], ["s"]),
                   helper.make_node("Add", ["s", "x"], ["y"])],
                  [_info("x", [2, 3])], [_info("y", [2, 3])])


def expected_mlp(x):
    return np.maximum(x @ W + BIAS, 0)


def cpu_result(model, feeds):
    return ember.InferenceSession(model, providers=CPU).run(None, feeds)[0]


def cuda_session(model):
    session = ember.InferenceSession(model, providers=CUDA)
    assert session.get_providers()[0] == "CUDAExecutionProvider"
    return session


# ---- sessions and OrtValues on cuda (numpy) ------------------------------------------------

def test_session_runs_on_cuda_like_the_cpu(mlp):
    session = cuda_session(mlp)
    placed = {op: provider for _, op, _, provider in session.get_node_placement()}
    assert placed["MatMul"] == "CUDA" and placed["Relu"] == "CUDA"
    got = session.run(None, {"x": X})[0]
    np.testing.assert_allclose(got, cpu_result(mlp, {"x": X}), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got, expected_mlp(X), rtol=1e-4, atol=1e-5)


def test_ortvalue_from_numpy_on_cuda():
    value = ember.OrtValue.ortvalue_from_numpy(A, "cuda", 0)
    assert value.device_name() == "cuda"
    assert value.shape() == [2, 3] and value.data_type() == "tensor(float)"
    assert value.data_ptr() not in (0, A.ctypes.data)
    assert value.__dlpack_device__() == (2, 0)
    np.testing.assert_array_equal(value.numpy(), A)  # copied back to the host


def test_ortvalue_from_shape_and_type_on_cuda():
    value = ember.OrtValue.ortvalue_from_shape_and_type([3, 4], np.float16, "cuda", 0)
    assert value.device_name() == "cuda" and value.shape() == [3, 4]
    assert value.data_type() == "tensor(float16)"
    data = np.arange(12, dtype=np.float16).reshape(3, 4)
    value.update_inplace(data)
    np.testing.assert_array_equal(value.numpy(), data)


def test_device_to_device_update():
    dst = ember.OrtValue.ortvalue_from_shape_and_type([2, 3], np.float32, "cuda", 0)
    dst.update_inplace(ember.OrtValue.ortvalue_from_numpy(A * 7, "cuda", 0))
    np.testing.assert_array_equal(dst.numpy(), A * 7)


def test_large_value_round_trip_in_chunks():
    big = RNG.standard_normal(12 << 20).astype(np.float32)  # 48 MiB: above the staging size
    np.testing.assert_array_equal(ember.OrtValue.ortvalue_from_numpy(big, "cuda", 0).numpy(),
                                  big)


# ---- io binding (numpy) ---------------------------------------------------------------------

def test_binding_device_input_and_ember_allocated_output(two_inputs):
    session = cuda_session(two_inputs)
    binding = session.io_binding()
    binding.bind_ortvalue_input("a", ember.OrtValue.ortvalue_from_numpy(A, "cuda", 0))
    binding.bind_ortvalue_input("b", ember.OrtValue.ortvalue_from_numpy(B, "cuda", 0))
    binding.bind_output("z", "cuda", 0)
    session.run_with_iobinding(binding)
    out = binding.get_outputs()[0]
    assert out.device_name() == "cuda" and out.shape() == [2, 3]  # stays on the device
    expected = cpu_result(two_inputs, {"a": A, "b": B})
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(binding.copy_outputs_to_cpu()[0], (A + B) * A, rtol=1e-6)
    kept = out
    binding.bind_cpu_input("a", -A)  # a host input with a device output
    session.run_with_iobinding(binding)  # kept is copied on the device first
    assert kept.device_name() == "cuda"
    np.testing.assert_allclose(kept.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(binding.get_outputs()[0].numpy(), (-A + B) * -A, rtol=1e-6)


def test_binding_preallocated_ortvalue_output(mlp):
    session = cuda_session(mlp)
    out = ember.OrtValue.ortvalue_from_shape_and_type([4, 32], np.float32, "cuda", 0)
    binding = session.io_binding()
    binding.bind_cpu_input("x", X)
    binding.bind_ortvalue_output("y", out)
    for _ in range(2):
        session.run_with_iobinding(binding)
    assert binding.get_outputs()[0].data_ptr() == out.data_ptr()
    np.testing.assert_allclose(out.numpy(), cpu_result(mlp, {"x": X}), rtol=1e-4, atol=1e-5)


def test_binding_pointers_of_ember_values(two_inputs):
    session = cuda_session(two_inputs)
    a = ember.OrtValue.ortvalue_from_numpy(A, "cuda", 0)
    b = ember.OrtValue.ortvalue_from_numpy(B, "cuda", 0)
    z = ember.OrtValue.ortvalue_from_shape_and_type([2, 3], np.float32, "cuda", 0)
    binding = session.io_binding()
    binding.bind_input("a", "cuda", 0, np.float32, [2, 3], a.data_ptr())
    binding.bind_input("b", "cuda", 0, np.float32, [2, 3], b.data_ptr())
    binding.bind_output("z", "cuda", 0, np.float32, [2, 3], z.data_ptr())
    session.run_with_iobinding(binding)
    result = binding.get_outputs()[0]
    assert result.data_ptr() == z.data_ptr()
    np.testing.assert_allclose(z.numpy(), (A + B) * A, rtol=1e-6)
    np.testing.assert_allclose(result.numpy(), (A + B) * A, rtol=1e-6)  # a wrapped pointer


def test_binding_device_input_read_by_a_cpu_node(mixed):
    session = cuda_session(mixed)
    placed = {op: provider for _, op, _, provider in session.get_node_placement()}
    assert placed == {"Sin": "CPU", "Add": "CUDA"}
    binding = session.io_binding()
    binding.bind_ortvalue_input("x", ember.OrtValue.ortvalue_from_numpy(A, "cuda", 0))
    binding.bind_output("y", "cpu")
    session.run_with_iobinding(binding)
    got = binding.get_outputs()[0]
    assert got.device_name() == "cpu"
    np.testing.assert_allclose(got.numpy(), np.sin(A) + A, rtol=1e-5)


def test_cpu_session_refuses_a_cuda_input(two_inputs):
    session = ember.InferenceSession(two_inputs, providers=CPU)
    binding = session.io_binding()
    binding.bind_ortvalue_input("a", ember.OrtValue.ortvalue_from_numpy(A, "cuda", 0))
    binding.bind_cpu_input("b", B)
    binding.bind_output("z")
    with pytest.raises(ember.EmberError, match="device type 1"):
        session.run_with_iobinding(binding)


def test_unknown_device_id_is_refused():
    with pytest.raises(ember.EmberError, match="device"):
        ember.OrtValue.ortvalue_from_numpy(A, "cuda", 15)


# ---- torch: pointers and DLPack without copies ------------------------------------------

def test_torch_pointers_bound_in_and_out(th, mlp):
    session = cuda_session(mlp)
    x = th.from_numpy(X).cuda()
    y = th.empty((4, 32), dtype=th.float32, device="cuda")
    binding = session.io_binding()
    binding.bind_input("x", "cuda", 0, np.float32, list(x.shape), x.data_ptr())
    binding.bind_output("y", "cuda", 0, np.float32, list(y.shape), y.data_ptr())
    session.run_with_iobinding(binding)
    assert binding.get_outputs()[0].data_ptr() == y.data_ptr()  # written in place
    np.testing.assert_allclose(y.cpu().numpy(), cpu_result(mlp, {"x": X}), rtol=1e-4,
                               atol=1e-5)


def test_dlpack_from_torch_without_copy(th, two_inputs):
    a = th.from_numpy(A).cuda()
    value = ember.OrtValue.from_dlpack(a)
    assert value.device_name() == "cuda" and value.data_ptr() == a.data_ptr()
    assert value.shape() == [2, 3] and value.data_type() == "tensor(float)"
    np.testing.assert_array_equal(value.numpy(), A)
    session = cuda_session(two_inputs)
    binding = session.io_binding()
    binding.bind_ortvalue_input("a", value)
    binding.bind_ortvalue_input("b", ember.OrtValue.from_dlpack(th.from_numpy(B).cuda()))
    binding.bind_output("z", "cuda", 0)
    session.run_with_iobinding(binding)
    np.testing.assert_allclose(binding.copy_outputs_to_cpu()[0], (A + B) * A, rtol=1e-6)


def test_dlpack_to_torch_without_copy(th):
    value = ember.OrtValue.ortvalue_from_numpy(A, "cuda", 0)
    t = th.from_dlpack(value)
    assert t.is_cuda and t.device.index == 0 and t.dtype == th.float32
    assert t.data_ptr() == value.data_ptr() and tuple(t.shape) == (2, 3)
    np.testing.assert_array_equal(t.cpu().numpy(), A)
    t.mul_(2)  # the same memory
    np.testing.assert_array_equal(value.numpy(), A * 2)
    del value  # the torch tensor keeps the memory
    np.testing.assert_array_equal(t.cpu().numpy(), A * 2)


def test_dlpack_of_ember_allocated_output_to_torch(th, mlp):
    session = cuda_session(mlp)
    binding = session.io_binding()
    binding.bind_ortvalue_input("x", ember.OrtValue.from_dlpack(th.from_numpy(X).cuda()))
    binding.bind_output("y", "cuda", 0)
    session.run_with_iobinding(binding)
    y = th.from_dlpack(binding.get_outputs()[0])  # gets memory of its own (one device copy)
    session.run_with_iobinding(binding)  # does not disturb y
    assert y.is_cuda
    np.testing.assert_allclose(y.cpu().numpy(), cpu_result(mlp, {"x": X}), rtol=1e-4,
                               atol=1e-5)


def test_dlpack_round_trip_torch_ember_torch(th):
    t = th.arange(12, dtype=th.float32, device="cuda").reshape(3, 4)
    back = th.from_dlpack(ember.OrtValue.from_dlpack(t))
    assert back.data_ptr() == t.data_ptr()
    assert th.equal(back, t)


def test_dlpack_refuses_non_contiguous_torch(th):
    t = th.arange(12, dtype=th.float32, device="cuda").reshape(3, 4).t()
    with pytest.raises(BufferError, match="contiguous"):
        ember.OrtValue.from_dlpack(t)


# ---- torch: ordering with torch's streams ------------------------------------------------

SLEEP_CYCLES = 200_000_000  # about 0.1 s of GPU time queued before the write


def _late_tensor(th, value, stream=None):
    """A [2, 3] tensor whose content `value` is written after the GPU sleeps,
    on `stream` (torch's current stream when None); not waited for."""
    if not hasattr(th.cuda, "_sleep"):
        pytest.skip("torch.cuda._sleep is not there to delay the write")
    t = th.zeros((2, 3), dtype=th.float32, device="cuda")
    th.cuda.synchronize()
    with th.cuda.stream(stream or th.cuda.current_stream()):
        th.cuda._sleep(SLEEP_CYCLES)
        t.fill_(value)
    return t


def test_ordering_dlpack_input_on_the_default_stream(th, two_inputs):
    session = cuda_session(two_inputs)
    a = _late_tensor(th, 3.0)
    binding = session.io_binding()
    binding.bind_ortvalue_input("a", ember.OrtValue.from_dlpack(a))
    binding.bind_cpu_input("b", B)
    binding.bind_output("z")
    session.run_with_iobinding(binding)  # must see 3.0, not the zeros
    np.testing.assert_allclose(binding.copy_outputs_to_cpu()[0], (3.0 + B) * 3.0)


def test_ordering_dlpack_input_on_a_side_stream(th, two_inputs):
    session = cuda_session(two_inputs)
    side = th.cuda.Stream()
    a = _late_tensor(th, 5.0, side)
    binding = session.io_binding()
    with th.cuda.stream(side):  # torch orders its current stream before the default one
        binding.bind_ortvalue_input("a", ember.OrtValue.from_dlpack(a))
    binding.bind_cpu_input("b", B)
    binding.bind_output("z", "cuda", 0)
    session.run_with_iobinding(binding)
    np.testing.assert_allclose(binding.copy_outputs_to_cpu()[0], (5.0 + B) * 5.0)


def test_ordering_pointer_input_on_the_default_stream(th, two_inputs):
    session = cuda_session(two_inputs)
    a = _late_tensor(th, 2.0)
    binding = session.io_binding()
    binding.bind_input("a", "cuda", 0, np.float32, [2, 3], a.data_ptr())
    binding.bind_cpu_input("b", B)
    binding.bind_output("z")
    session.run_with_iobinding(binding)
    np.testing.assert_allclose(binding.copy_outputs_to_cpu()[0], (2.0 + B) * 2.0)


def test_ordering_torch_reads_ember_output_on_a_side_stream(th, two_inputs):
    session = cuda_session(two_inputs)
    binding = session.io_binding()
    binding.bind_cpu_input("a", A)
    binding.bind_cpu_input("b", B)
    z = th.empty((2, 3), dtype=th.float32, device="cuda")
    binding.bind_output("z", "cuda", 0, np.float32, [2, 3], z.data_ptr())
    session.run_with_iobinding(binding)  # complete when it returns
    side = th.cuda.Stream()
    with th.cuda.stream(side):
        doubled = z * 2
    side.synchronize()
    np.testing.assert_allclose(doubled.cpu().numpy(), (A + B) * A * 2, rtol=1e-6)
