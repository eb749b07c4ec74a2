"""Errors: the same mistakes raise exceptions of the same class names in ember
and onnxruntime, and ember's carry Ember's own message."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import both

import ember

CPU = ["CPUExecutionProvider"]


def failure(call):
    try:
        call()
    except Exception as e:  # noqa: BLE001
        return e
    return None


def class_names(script):
    """script(rt) -> exception; returns (ember's class name, onnxruntime's)."""
    ours, theirs = both(script)
    return type(ours).__name__, type(theirs).__name__, ours


CASES = {
    "unknown input name": lambda s, x: s.run(None, {"x": x, "z": x}),
    "unknown output name": lambda s, x: s.run(["q"], {"x": x}),
    "wrong element type": lambda s, x: s.run(None, {"x": x.astype(np.float64)}),
    "wrong dim": lambda s, x: s.run(None, {"x": np.zeros((1, 3), np.float32)}),
    "wrong rank": lambda s, x: s.run(None, {"x": np.zeros(16, np.float32)}),
    "missing input": lambda s, x: s.run(None, {}),
    "int input for float": lambda s, x: s.run(None, {"x": x.astype(np.int64)}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_run_errors_match_onnxruntime(models, x16, case):
    def script(rt):
        session = rt.InferenceSession(models["add"], providers=CPU)
        return failure(lambda: CASES[case](session, x16))

    ours, theirs, error = class_names(script)
    assert ours == theirs, (case, error)
    assert error is not None


def test_run_error_messages_name_the_culprit(models, x16):
    session = ember.InferenceSession(models["add"])
    with pytest.raises(ember.InvalidArgument) as info:
        session.run(None, {"x": np.zeros((1, 3), np.float32)})
    error = info.value
    assert str(error).startswith("[Ember] : 2 : INVALID_ARGUMENT : ")
    assert "'x'" in error.ember_message and "16" in error.ember_message
    assert error.status == "EMBER_E_INVALID_ARGUMENT"
    assert isinstance(error, ember.EmberError) and isinstance(error, RuntimeError)
    with pytest.raises(ember.InvalidArgument, match="no output named 'q'"):
        session.run(["q"], {"x": x16})


@pytest.mark.parametrize("case", ["missing file", "not a model", "wrong argument type",
                                  "directory"])
def test_load_errors_match_onnxruntime(tmp_path, case):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x08\x07this is not an onnx model at all")
    sources = {"missing file": str(tmp_path / "absent.onnx"),
               "not a model": b"definitely not protobuf \xff\xff\xff",
               "wrong argument type": 42,
               "directory": str(tmp_path)}

    def script(rt):
        return failure(lambda: rt.InferenceSession(sources[case], providers=CPU))

    ours, theirs, error = class_names(script)
    if case == "directory":  # onnxruntime says Fail or NoSuchFile by version
        assert isinstance(error, ember.EmberError), error
        return
    assert ours == theirs, (case, error)


def test_load_error_for_an_unknown_operator(tmp_path):
    from conftest import make_model, save
    from onnx import TensorProto, helper

    model = make_model([helper.make_node("NoSuchOp", ["x"], ["y"], domain="ember.test")],
                       [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model.opset_import.append(helper.make_opsetid("ember.test", 1))
    path = tmp_path / "unknown_op.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ember.EmberError) as info:
        ember.InferenceSession(str(path))
    assert "NoSuchOp" in str(info.value)
    assert type(info.value).__name__ in ("NotImplemented", "InvalidGraph", "Fail")


def test_map_inputs_are_not_implemented():
    """Sequences and optionals run (test_sequences.py); a map fed raises."""
    from conftest import make_model
    from onnx import TensorProto, helper

    tensor = helper.make_tensor_type_proto(TensorProto.FLOAT, [2])
    map_type = helper.make_map_type_proto(TensorProto.INT64, tensor)
    model = make_model([helper.make_node("Identity", ["v"], ["w"])],
                       [helper.make_value_info("v", map_type)],
                       [helper.make_value_info("w", map_type)])
    sess = ember.InferenceSession(model.SerializeToString())
    with pytest.raises(ember.NotImplemented, match="'v' is a map"):
        sess.run(None, {"v": {1: np.ones(2, np.float32)}})


def test_optional_features_raise_not_implemented():
    so = ember.SessionOptions()
    for call in (lambda: so.add_free_dimension_override_by_name("N", 1),
                 lambda: so.register_custom_ops_library("libx.so"),
                 lambda: so.add_initializer("w", None),
                 lambda: ember.OrtValue.ort_value_from_sparse_tensor(None)):
        with pytest.raises(ember.NotImplemented) as info:
            call()
        assert info.value.status == "EMBER_E_NOT_IMPLEMENTED"


def test_unknown_provider_names_are_refused_without_fallback(models):
    with pytest.raises(ember.EPFail, match="NoSuchProvider"):
        ember.InferenceSession(models["add"], providers=["NoSuchProvider"], enable_fallback=0)
    with pytest.warns(UserWarning, match="NoSuchProvider"):
        ember.InferenceSession(models["add"], providers=["NoSuchProvider", "CPU"])
