"""OrtValue: round trips through numpy and DLPack, compared with onnxruntime."""
from __future__ import annotations

import gc
import sys

import numpy as np
import pytest
from conftest import assert_same, both, identity_model, save
from onnx import TensorProto

import ember

DTYPES = [np.float32, np.float64, np.float16, np.int8, np.uint8, np.int16, np.uint16,
          np.int32, np.uint32, np.int64, np.uint64, np.bool_]


def sample(dtype) -> np.ndarray:
    values = np.array([[0, 1, 2], [3, 4, 5]])
    return (values % 2 == 1) if dtype is np.bool_ else values.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_ortvalue_round_trips_each_type(dtype):
    arr = sample(dtype)

    def script(rt):
        value = rt.OrtValue.ortvalue_from_numpy(arr)
        return [value.shape(), value.data_type(), value.element_type(), value.device_name(),
                value.is_tensor(), value.has_value(), value.numpy(), np.asarray(value)]

    assert_same(*both(script))


def test_ortvalue_from_numpy_does_not_copy_on_cpu():
    def script(rt):
        arr = np.arange(6, dtype=np.float32).reshape(2, 3)
        value = rt.OrtValue.ortvalue_from_numpy(arr)
        same_address = value.data_ptr() == arr.ctypes.data
        arr[0, 0] = 42
        view = value.numpy()  # a view on the host, in both runtimes
        view[0, 1] = -1
        return [same_address, float(value.numpy()[0, 0]), float(arr[0, 1]),
                bool(np.shares_memory(view, arr))]

    ours, theirs = both(script)
    assert ours == theirs == [True, 42.0, -1.0, True]


def test_ortvalue_numpy_view_outlives_the_value():
    value = ember.OrtValue.ortvalue_from_shape_and_type([3], np.int32)
    view = value.numpy()
    del value
    gc.collect()
    view[:] = 5
    np.testing.assert_array_equal(view, [5, 5, 5])


def test_ortvalue_keeps_its_array_alive():
    arr = np.arange(6, dtype=np.float32)
    before = sys.getrefcount(arr)
    value = ember.OrtValue.ortvalue_from_numpy(arr)
    assert sys.getrefcount(arr) > before
    del arr
    gc.collect()
    np.testing.assert_array_equal(value.numpy(), np.arange(6, dtype=np.float32))


def test_ortvalue_copies_a_non_contiguous_array():
    arr = np.arange(12, dtype=np.int64).reshape(3, 4)[:, ::2]

    def script(rt):
        value = rt.OrtValue.ortvalue_from_numpy(arr)
        return [value.shape(), value.numpy()]

    assert_same(*both(script))


@pytest.mark.parametrize("element_type", [np.float32, np.int64, np.uint8, TensorProto.FLOAT,
                                          TensorProto.INT32, TensorProto.DOUBLE])
def test_ortvalue_from_shape_and_type(element_type):
    def script(rt):
        value = rt.OrtValue.ortvalue_from_shape_and_type([2, 5, 3], element_type, "cpu", 0)
        return [value.shape(), value.data_type(), value.element_type(), value.device_name(),
                value.tensor_size_in_bytes(), value.numpy().shape, value.numpy().dtype.name]

    assert_same(*both(script))


def test_ortvalue_from_numpy_with_onnx_type():
    arr = np.arange(4, dtype=np.uint16)

    def script(rt):
        value = rt.OrtValue.ortvalue_from_numpy_with_onnx_type(arr, TensorProto.FLOAT16)
        return [value.data_type(), value.shape()]

    assert_same(*both(script))


def test_ortvalue_update_inplace():
    def script(rt):
        value = rt.OrtValue.ortvalue_from_shape_and_type([2, 3], np.float32)
        value.update_inplace(np.full((2, 3), 7, np.float32))
        first = value.numpy()
        other = rt.OrtValue.ortvalue_from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3))
        value.update_inplace(other)
        return [first, value.numpy()]

    assert_same(*both(script))


def test_ortvalue_of_strings_round_trips():
    arr = np.array([["a", "bc"], ["", "déjà"]])
    value = ember.OrtValue.ortvalue_from_numpy(arr)
    assert value.data_type() == "tensor(string)"
    assert value.numpy().tolist() == arr.tolist()
    assert value.numpy().dtype == object
    raw = ember.OrtValue.ortvalue_from_numpy(np.array([b"x\x00y", b"z"], dtype=object))
    assert raw.numpy().tolist() == ["x\x00y", "z"]


def test_ortvalue_rejects_an_unknown_device():
    with pytest.raises(ember.InvalidArgument, match="unknown device type 'tpu'"):
        ember.OrtValue.ortvalue_from_numpy(np.zeros(2, np.float32), "tpu", 0)


# ---- DLPack ---------------------------------------------------------------------------

def test_dlpack_exports_without_a_copy():
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    value = ember.OrtValue.ortvalue_from_numpy(arr)
    assert value.__dlpack_device__() == (1, 0)
    view = np.from_dlpack(value)
    assert np.shares_memory(view, arr)
    np.testing.assert_array_equal(view, arr)
    del value
    gc.collect()
    np.testing.assert_array_equal(view, np.arange(12, dtype=np.float32).reshape(3, 4))


def test_dlpack_imports_without_a_copy():
    arr = np.arange(10, dtype=np.int64).reshape(2, 5)
    value = ember.OrtValue.from_dlpack(arr)
    assert value.data_ptr() == arr.ctypes.data
    assert value.shape() == [2, 5] and value.data_type() == "tensor(int64)"
    arr[1, 1] = -3
    assert value.numpy()[1, 1] == -3
    capsule = np.arange(3, dtype=np.float64).__dlpack__()
    from_capsule = ember.OrtValue.from_dlpack(capsule)
    np.testing.assert_array_equal(from_capsule.numpy(), [0.0, 1.0, 2.0])
    with pytest.raises(TypeError):
        ember.OrtValue.from_dlpack(capsule)  # a capsule is consumed once


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_dlpack_round_trips_each_type(dtype):
    arr = sample(dtype)
    value = ember.OrtValue.from_dlpack(arr)
    back = np.from_dlpack(value)
    assert back.dtype == arr.dtype and np.shares_memory(back, arr)
    np.testing.assert_array_equal(back, arr)
    assert np.from_dlpack(ember.OrtValue.ortvalue_from_numpy(arr)).dtype == arr.dtype


def test_dlpack_copy_request_makes_a_copy():
    arr = np.arange(4, dtype=np.float32)
    value = ember.OrtValue.ortvalue_from_numpy(arr)
    copied = np.from_dlpack(value, copy=True)
    assert not np.shares_memory(copied, arr)
    np.testing.assert_array_equal(copied, arr)


def test_dlpack_refuses_a_strided_tensor():
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2]
    with pytest.raises(BufferError, match="compact"):
        ember.OrtValue.from_dlpack(arr)


def test_dlpack_value_feeds_a_session(tmp_path):
    path = save(identity_model(TensorProto.FLOAT), tmp_path / "identity.onnx")
    session = ember.InferenceSession(path)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    value = ember.OrtValue.from_dlpack(x)
    y = session.run_with_ort_values(None, {"x": value})[0]
    np.testing.assert_array_equal(np.from_dlpack(y), x)


@pytest.mark.parametrize("elem_type,dtype", [(TensorProto.FLOAT, np.float32),
                                             (TensorProto.INT64, np.int64),
                                             (TensorProto.INT32, np.int32),
                                             (TensorProto.DOUBLE, np.float64),
                                             (TensorProto.BOOL, np.bool_),
                                             (TensorProto.UINT8, np.uint8),
                                             (TensorProto.FLOAT16, np.float16)])
def test_identity_round_trips_each_type_through_a_session(tmp_path, elem_type, dtype):
    path = save(identity_model(elem_type), tmp_path / f"identity_{elem_type}.onnx")
    x = sample(dtype)

    def script(rt):
        session = rt.InferenceSession(path, providers=["CPUExecutionProvider"])
        return session.run(None, {"x": x}) + [session.get_inputs()[0].type]

    assert_same(*both(script))
