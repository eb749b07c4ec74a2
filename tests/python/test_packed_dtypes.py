"""The packed element types (int4, uint4, float4e2m1, int2, uint2) across the
Python boundary: ml_dtypes arrays (one element per byte) are packed into
Ember's layout, two or four elements a byte as in ONNX's raw_data, and
unpacked into new ml_dtypes arrays. Compared with onnx.numpy_helper (the
packed bytes, the unpacked values) and with onnxruntime where it runs the
type (Cast of an int4/uint4/int2/uint2 initializer; it takes no such inputs).
"""
from __future__ import annotations

import ctypes

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import ember

ml_dtypes = pytest.importorskip("ml_dtypes")

# name: (ml_dtypes type, ONNX type, first opset with it in Identity/Cast, sample values)
TYPES = {
    "int4": (ml_dtypes.int4, TensorProto.INT4, 21, [-8, -1, 0, 1, 7, -3, 5, -6, 2]),
    "uint4": (ml_dtypes.uint4, TensorProto.UINT4, 21, [0, 1, 15, 8, 7, 3, 9, 14, 2]),
    "float4e2m1": (ml_dtypes.float4_e2m1fn, TensorProto.FLOAT4E2M1, 23,
                   [-6, -0.5, 0, 0.5, 1.5, 6, -3, 4, -1]),
    "int2": (ml_dtypes.int2, TensorProto.INT2, 25, [-2, -1, 0, 1, -1, 1, -2, 0, 1]),
    "uint2": (ml_dtypes.uint2, TensorProto.UINT2, 25, [0, 1, 2, 3, 3, 2, 1, 0, 3]),
}
SIGNED = ("int4", "int2")
# Odd lengths leave unused bits in the last byte; 0 elements make no byte at all.
SHAPES = [(1,), (2,), (3,), (5,), (7,), (8,), (9,), (3, 3), (0,), (2, 0, 3)]


def sample(name: str, shape) -> np.ndarray:
    mltype, _, _, values = TYPES[name]
    n = int(np.prod(shape))
    return np.resize(np.array(values, dtype=np.float32), n).astype(mltype).reshape(shape)


def model_bytes(nodes, inputs, outputs, opset: int, initializers=()) -> bytes:
    graph = helper.make_graph(nodes, "packed", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10 if opset <= 23 else 11
    return model.SerializeToString()




def cast(from_type: int, to_type: int, shape, opset: int) -> bytes:
    return model_bytes([helper.make_node("Cast", ["x"], ["y"], to=to_type)],
                       [helper.make_tensor_value_info("x", from_type, list(shape))],
                       [helper.make_tensor_value_info("y", to_type, list(shape))], opset)


def passthrough(name: str, shape) -> bytes:
    """y = Cast(x) to x's own type. (Not Identity: the CPU provider's Identity
    does not take the packed types yet.)"""
    _, onnx_type, opset, _ = TYPES[name]
    return cast(onnx_type, onnx_type, shape, opset)


def stored_bytes(value: ember.OrtValue) -> bytes:
    """The bytes Ember holds for a host OrtValue."""
    size = value.tensor_size_in_bytes()
    return ctypes.string_at(value.data_ptr(), size) if size else b""


def assert_same_elements(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(actual.astype(np.float32), expected.astype(np.float32))
    np.testing.assert_array_equal(actual.view(np.uint8), expected.view(np.uint8))


# ---- numpy -> Ember ---------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", TYPES)
def test_packed_array_is_stored_as_onnx_raw_data(name, shape):
    arr = sample(name, shape)
    value = ember.OrtValue.ortvalue_from_numpy(arr)
    assert value.element_type() == TYPES[name][1]
    assert value.shape() == list(shape)
    assert stored_bytes(value) == numpy_helper.from_array(arr, "x").raw_data


@pytest.mark.parametrize("name", TYPES)
def test_packed_array_is_copied_not_wrapped(name):
    arr = sample(name, (5,))
    value = ember.OrtValue.ortvalue_from_numpy(arr)
    before = stored_bytes(value)
    assert value.tensor_size_in_bytes() < arr.nbytes
    arr[0] = arr[1]
    assert stored_bytes(value) == before


@pytest.mark.parametrize("name", TYPES)
def test_packed_strided_array_packs_its_elements(name):
    arr = sample(name, (3, 6))[:, ::2].T  # neither C- nor F-contiguous
    value = ember.OrtValue.ortvalue_from_numpy(arr)
    assert stored_bytes(value) == numpy_helper.from_array(np.ascontiguousarray(arr)).raw_data
    assert_same_elements(value.numpy(), np.ascontiguousarray(arr))


def test_packed_unused_bits_of_the_last_byte_are_zero():
    cases = [(np.full(3, -1, ml_dtypes.int4), b"\xff\x0f"),
             (np.full(5, 3, ml_dtypes.uint2), b"\xff\x03"),
             (np.full(1, -6, ml_dtypes.float4_e2m1fn), b"\x0f")]
    for arr, expected in cases:
        assert stored_bytes(ember.OrtValue.ortvalue_from_numpy(arr)) == expected


# ---- Ember -> numpy ---------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", TYPES)
def test_packed_round_trips_through_a_model(name, shape):
    arr = sample(name, shape)
    sess = ember.InferenceSession(passthrough(name, shape))
    (out,) = sess.run(None, {"x": arr})
    assert_same_elements(out, arr)


@pytest.mark.parametrize("name", TYPES)
def test_packed_every_bit_pattern_unpacks_as_onnx_does(name):
    """An initializer holding each field value in each position, through Cast."""
    mltype, onnx_type, opset, _ = TYPES[name]
    bits = 2 if name.endswith("2") else 4
    raw = bytes(range(256)) + b"\x5a"  # the last byte: odd count, high bits unused
    n = 256 * 8 // bits + 1
    tensor = helper.make_tensor("c", onnx_type, [n], raw, raw=True)
    expected = numpy_helper.to_array(tensor)
    assert expected.dtype == np.dtype(mltype)
    data = model_bytes([helper.make_node("Cast", ["c"], ["y"], to=onnx_type)], [],
                       [helper.make_tensor_value_info("y", onnx_type, [n])], opset, [tensor])
    (out,) = ember.InferenceSession(data).run(None, {})
    assert_same_elements(out, expected)


@pytest.mark.parametrize("name,raw,expected", [
    ("int4", b"\xf8", [-8, -1]), ("int4", b"\x7f", [-1, 7]), ("int4", b"\x09", [-7, 0]),
    ("int2", b"\xe4", [0, 1, -2, -1]), ("int2", b"\x1b", [-1, -2, 1, 0]),
    ("uint4", b"\xf8", [8, 15]), ("uint2", b"\xe4", [0, 1, 2, 3]),
])
def test_packed_signed_types_are_sign_extended(name, raw, expected):
    mltype, onnx_type, opset, _ = TYPES[name]
    n = len(expected)
    tensor = helper.make_tensor("c", onnx_type, [n], raw, raw=True)
    data = model_bytes([helper.make_node("Cast", ["c"], ["y"], to=onnx_type)], [],
                       [helper.make_tensor_value_info("y", onnx_type, [n])], opset, [tensor])
    (out,) = ember.InferenceSession(data).run(None, {})
    assert out.dtype == np.dtype(mltype)
    assert out.astype(np.int64).tolist() == expected


@pytest.mark.parametrize("name", TYPES)
def test_packed_numpy_is_a_new_array_each_time(name):
    arr = sample(name, (2, 3))
    value = ember.OrtValue.ortvalue_from_numpy(arr)
    first = value.numpy()
    assert first.ctypes.data != value.data_ptr()
    assert first.flags.owndata or first.base is not None and first.base.flags.owndata
    first[0, 0] = first[0, 1]
    assert_same_elements(value.numpy(), arr)
    assert_same_elements(np.asarray(value), arr)


@pytest.mark.parametrize("name", TYPES)
def test_packed_value_made_by_ember_is_zero(name):
    mltype = TYPES[name][0]
    value = ember.OrtValue.ortvalue_from_shape_and_type([3, 3], mltype)
    assert value.element_type() == TYPES[name][1]
    per_byte = 4 if name.endswith("2") else 2
    assert value.tensor_size_in_bytes() == -(-9 // per_byte)
    assert_same_elements(value.numpy(), np.zeros((3, 3), mltype))
    value.update_inplace(sample(name, (3, 3)))
    assert_same_elements(value.numpy(), sample(name, (3, 3)))


@pytest.mark.parametrize("name", TYPES)
def test_packed_outputs_as_ortvalues_and_bound_outputs(name):
    arr = sample(name, (7,))
    sess = ember.InferenceSession(passthrough(name, (7,)))
    x = ember.OrtValue.ortvalue_from_numpy(arr)
    (out,) = sess.run_with_ort_values(None, {"x": x})
    assert out.element_type() == TYPES[name][1]
    assert_same_elements(out.numpy(), arr)
    binding = sess.io_binding()
    binding.bind_cpu_input("x", arr)
    binding.bind_output("y")
    sess.run_with_iobinding(binding)
    assert_same_elements(binding.get_outputs()[0].numpy(), arr)
    assert_same_elements(binding.copy_outputs_to_cpu()[0], arr)


# ---- through Cast, compared with onnxruntime ----------------------------------------------

@pytest.mark.parametrize("shape", [(5,), (8,), (3, 3)], ids=str)
@pytest.mark.parametrize("name", TYPES)
def test_packed_cast_to_float_matches_onnxruntime(name, shape):
    """Ember takes the packed input; onnxruntime, which takes no such input,
    reads the same values from an initializer (not for float4e2m1, which its
    CPU Cast lacks: ml_dtypes' own conversion is the reference then)."""
    _, onnx_type, opset, _ = TYPES[name]
    arr = sample(name, shape)
    (out,) = ember.InferenceSession(cast(onnx_type, TensorProto.FLOAT, shape, opset)).run(
        None, {"x": arr})
    if name == "float4e2m1":
        expected = arr.astype(np.float32)
    else:
        data = model_bytes([helper.make_node("Cast", ["c"], ["y"], to=TensorProto.FLOAT)], [],
                           [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))],
                           opset, [numpy_helper.from_array(arr, "c")])
        (expected,) = onnxruntime.InferenceSession(data).run(None, {})
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("shape", [(5,), (8,), (3, 3)], ids=str)
@pytest.mark.parametrize("name", TYPES)
def test_packed_cast_from_float_gives_packed_output(name, shape):
    mltype, onnx_type, opset, _ = TYPES[name]
    x = sample(name, shape).astype(np.float32)  # values the type holds exactly
    (out,) = ember.InferenceSession(cast(TensorProto.FLOAT, onnx_type, shape, opset)).run(
        None, {"x": x})
    assert_same_elements(out, x.astype(mltype))
