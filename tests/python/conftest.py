"""Shared fixtures of the Python tests: small models built with onnx.helper,
and the two runtimes that the comparison tests run the same script with.

Run from a build tree (meson test -C BUILD --suite python sets PYTHONPATH and
EMBER_PROVIDER_PATH), or against an installed package.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import ember

OPSET = 17
IR_VERSION = 8
MOCKDEV_TYPE = 0x10000 + 1  # EMBER_DEVICE_VENDOR_BASE + 1, tests/plugins/mockdev.c
RUNTIMES = {"ember": ember, "onnxruntime": onnxruntime}


def save(model: onnx.ModelProto, path) -> str:
    onnx.checker.check_model(model, full_check=True)
    onnx.save_model(model, str(path))
    return str(path)


def make_model(nodes, inputs, outputs, initializers=(), name="g", **props) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], **props)
    model.ir_version = IR_VERSION
    return model


def add_model() -> onnx.ModelProto:
    """y = x + bias; x float [1, 16]."""
    bias = numpy_helper.from_array(np.linspace(-1, 1, 16, dtype=np.float32).reshape(1, 16),
                                   "bias")
    return make_model(
        [helper.make_node("Add", ["x", "bias"], ["y"], name="add")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])], [bias],
        name="tiny_add", producer_name="ember-tests", producer_version="1.2", domain="test.ember",
        doc_string="One Add.", model_version=7)


def dynamic_model() -> onnx.ModelProto:
    """Three outputs over x float [N, 4] (N symbolic): relu = Relu(x),
    mm = x @ w (w [4, 3], so [N, 3]), sum = relu + x."""
    w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3) / 10, "w")
    return make_model(
        [helper.make_node("Relu", ["x"], ["relu"], name="relu"),
         helper.make_node("MatMul", ["x", "w"], ["mm"], name="mm"),
         helper.make_node("Add", ["relu", "x"], ["sum"], name="sum")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("relu", TensorProto.FLOAT, ["N", 4]),
         helper.make_tensor_value_info("mm", TensorProto.FLOAT, ["N", 3]),
         helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["N", 4])], [w],
        name="dynamic")


def two_input_model() -> onnx.ModelProto:
    """z = (a + b) * a; a, b float [2, 3]."""
    return make_model(
        [helper.make_node("Add", ["a", "b"], ["s"], name="add"),
         helper.make_node("Mul", ["s", "a"], ["z"], name="mul")],
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 3])], name="two_inputs")


def identity_model(elem_type: int) -> onnx.ModelProto:
    """y = Identity(x) for one element type, x [2, 3]."""
    return make_model(
        [helper.make_node("Identity", ["x"], ["y"], name="identity")],
        [helper.make_tensor_value_info("x", elem_type, [2, 3])],
        [helper.make_tensor_value_info("y", elem_type, [2, 3])], name="identity")


def chain_model() -> onnx.ModelProto:
    """y = Relu((x + b) * c) - d; x float [2, 8]. mockdev claims Add, Mul and
    Relu; Sub stays on the CPU."""
    consts = [numpy_helper.from_array(np.full((2, 8), v, np.float32), n)
              for n, v in (("b", 0.5), ("c", 2.0), ("d", 1.0))]
    return make_model(
        [helper.make_node("Add", ["x", "b"], ["t0"], name="add"),
         helper.make_node("Mul", ["t0", "c"], ["t1"], name="mul"),
         helper.make_node("Relu", ["t1"], ["t2"], name="relu"),
         helper.make_node("Sub", ["t2", "d"], ["y"], name="sub")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8])], consts, name="chain")


def matmul_model(n: int) -> onnx.ModelProto:
    """y = x @ w, n x n: long enough a run to see the GIL released."""
    w = numpy_helper.from_array(np.eye(n, dtype=np.float32), "w")
    return make_model(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, n])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])], [w], name="matmul")


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("models")
    return {
        "add": save(add_model(), folder / "add.onnx"),
        "dynamic": save(dynamic_model(), folder / "dynamic.onnx"),
        "two_inputs": save(two_input_model(), folder / "two_inputs.onnx"),
        "chain": save(chain_model(), folder / "chain.onnx"),
        "matmul": save(matmul_model(512), folder / "matmul.onnx"),
    }


@pytest.fixture(scope="session")
def x16() -> np.ndarray:
    return np.arange(16, dtype=np.float32).reshape(1, 16) / 4


def both(script):
    """Runs script(runtime) with ember and with onnxruntime; returns both results."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return script(ember), script(onnxruntime)


def assert_same(a, b) -> None:
    """Equal nested results: lists, tuples, dicts and numpy arrays (dtype included)."""
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), (a, b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), (a, b)
        assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
        if a.dtype == object:
            assert a.tolist() == b.tolist()
        else:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    else:
        assert a == b, (a, b)


@pytest.fixture(scope="session")
def mockdev() -> int:
    """The mockdev provider's device type, named for device_type= arguments.
    Skips when the mock plugin is not on the search path (an installed package)."""
    is_available, why = ember._providers.availability("MOCKDEV")
    if not is_available:
        pytest.skip(f"mockdev provider not found: {why}")
    ember.register_device_type("mockdev", MOCKDEV_TYPE)
    return MOCKDEV_TYPE


def source_root() -> str:
    return os.environ.get("EMBER_SOURCE_ROOT",
                          os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
