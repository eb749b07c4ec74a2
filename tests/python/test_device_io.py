"""Values and io binding on devices, the paths CUDA uses, checked where no GPU
is: device memory that Ember did not allocate (a pointer, a DLPack import) on
the mockdev provider (tests/plugins/mockdev.c, whose memory the host cannot
read), the DLPack device and stream rules with hand-made capsules, and the
message for device 'cuda' on a machine without a usable GPU. The same
scenarios on a real GPU are tests/gpu/test_cuda_io.py."""
from __future__ import annotations

import ctypes

import numpy as np
import pytest

import ember
from ember import _ember
from ember._iobinding import _wrap

X = np.linspace(-2, 2, 16, dtype=np.float32).reshape(2, 8)
A = np.arange(6, dtype=np.float32).reshape(2, 3)
B = np.full((2, 3), 0.5, np.float32)


def chain(x):
    return np.maximum((x + 0.5) * 2, 0) - 1


def mockdev_session(path):
    return ember.InferenceSession(path, providers=[("MOCKDEV", {"claim": "Add,Mul,Relu"}),
                                                   "CPUExecutionProvider"])


def cuda_usable() -> bool:
    return ember._providers.availability("CUDA")[0]


# ---- device memory Ember did not allocate: mockdev ------------------------------------

def test_mockdev_bind_input_by_pointer(models, mockdev):
    session = mockdev_session(models["chain"])
    on_device = ember.OrtValue.ortvalue_from_numpy(X, "mockdev", 0)
    binding = session.io_binding()
    binding.bind_input("x", "mockdev", 0, np.float32, [2, 8], on_device.data_ptr())
    binding.bind_output("y")
    session.run_with_iobinding(binding)
    np.testing.assert_allclose(binding.copy_outputs_to_cpu()[0], chain(X), rtol=1e-6)


def test_mockdev_bind_output_by_pointer(models, mockdev):
    session = mockdev_session(models["two_inputs"])
    out = ember.OrtValue.ortvalue_from_shape_and_type([2, 3], np.float32, "mockdev", 0)
    binding = session.io_binding()
    binding.bind_cpu_input("a", A)
    binding.bind_cpu_input("b", B)
    binding.bind_output("z", "mockdev", 0, np.float32, [2, 3], out.data_ptr())
    session.run_with_iobinding(binding)
    result = binding.get_outputs()[0]
    assert result.data_ptr() == out.data_ptr() and result.device_name() == "mockdev"
    np.testing.assert_allclose(out.numpy(), (A + B) * A)
    np.testing.assert_allclose(result.numpy(), (A + B) * A)  # read through the wrapper


def test_mockdev_foreign_value_reads_and_writes(models, mockdev):
    mockdev_session(models["chain"])
    owner = ember.OrtValue.ortvalue_from_numpy(X, "mockdev", 0)
    foreign = ember.OrtValue(_wrap(owner.data_ptr(), [2, 8], np.float32, "mockdev", 0))
    assert foreign.device_name() == "mockdev" and foreign.data_ptr() == owner.data_ptr()
    np.testing.assert_array_equal(foreign.numpy(), X)  # staged through Ember's memory
    foreign.update_inplace(-X)  # host -> foreign device memory
    np.testing.assert_array_equal(owner.numpy(), -X)
    other = ember.OrtValue.ortvalue_from_numpy(X * 3, "mockdev", 0)
    foreign.update_inplace(other)  # device -> foreign device memory
    np.testing.assert_array_equal(owner.numpy(), X * 3)
    owner.update_inplace(ember.OrtValue(_wrap(other.data_ptr(), [2, 8], np.float32,
                                              "mockdev", 0)))  # foreign -> device
    np.testing.assert_array_equal(owner.numpy(), X * 3)


def test_mockdev_foreign_value_without_env_says_why(models, mockdev):
    mockdev_session(models["chain"])
    owner = ember.OrtValue.ortvalue_from_numpy(X, "mockdev", 0)
    bare = _ember.Value.wrap_pointer(owner.data_ptr(), [2, 8], 1, mockdev, 0)
    with pytest.raises(ember.InvalidArgument, match="did not allocate"):
        ember.OrtValue(bare).numpy()


def test_mockdev_device_to_device_update(models, mockdev):
    mockdev_session(models["chain"])
    dst = ember.OrtValue.ortvalue_from_shape_and_type([2, 8], np.float32, "mockdev", 0)
    dst.update_inplace(ember.OrtValue.ortvalue_from_numpy(X, "mockdev", 0))
    np.testing.assert_array_equal(dst.numpy(), X)


# ---- DLPack: devices and streams, with hand-made capsules -------------------------------

class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", _DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class _DLManagedVersioned(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32),
                ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p),
                ("flags", ctypes.c_uint64), ("dl_tensor", _DLTensor)]


class FakeProducer:
    """A DLPack producer of a float32 [2, 3] tensor at `address` on
    (device_type, device_id) that records the stream it was asked for. Nothing
    reads the memory unless a test copies it: on 'CUDA' it is a host array."""

    _CAPSULE_NEW = ctypes.pythonapi.PyCapsule_New
    _CAPSULE_NEW.restype = ctypes.py_object
    _CAPSULE_NEW.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    _NAME = b"dltensor_versioned"

    def __init__(self, device_type: int, device_id: int = 0):
        self.array = A.copy()
        self.device = (device_type, device_id)
        self.shape = (ctypes.c_int64 * 2)(2, 3)
        self.streams = []
        self.managed = _DLManagedVersioned(
            1, 0, None, None, 0,
            _DLTensor(self.array.ctypes.data, _DLDevice(device_type, device_id), 2,
                      _DLDataType(2, 32, 1), self.shape, None, 0))

    def __dlpack_device__(self):
        return self.device

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        self.streams.append(stream)
        return self._CAPSULE_NEW(ctypes.addressof(self.managed), self._NAME, None)


@pytest.mark.parametrize("dl_type", [2, 13], ids=["kDLCUDA", "kDLCUDAManaged"])
def test_dlpack_import_of_cuda_memory(dl_type):
    producer = FakeProducer(dl_type, 0)
    value = ember.OrtValue.from_dlpack(producer)
    assert producer.streams == [1]  # the legacy default stream, which Ember's wait for
    assert value.device_name() == "cuda"
    assert value.data_ptr() == producer.array.ctypes.data  # not copied
    assert value.shape() == [2, 3] and value.data_type() == "tensor(float)"
    assert value.__dlpack_device__() == (2, 0)


def test_dlpack_import_of_cuda_host_memory_is_a_host_value():
    producer = FakeProducer(3)  # kDLCUDAHost: pinned host memory
    value = ember.OrtValue.from_dlpack(producer)
    assert producer.streams == [None]  # no stream for the host
    assert value.device_name() == "cpu" and value.data_ptr() == producer.array.ctypes.data
    np.testing.assert_array_equal(value.numpy(), A)


def test_dlpack_import_keeps_the_device_id():
    value = ember.OrtValue.from_dlpack(FakeProducer(2, 3))
    assert value.__dlpack_device__() == (2, 3)
    assert value._value.device == (1, 3)  # EMBER_DEVICE_CUDA, id 3


def test_dlpack_export_stream_rules():
    cuda_value = ember.OrtValue.from_dlpack(FakeProducer(2))
    with pytest.raises(BufferError, match="ambiguous"):
        cuda_value.__dlpack__(stream=0)
    with pytest.raises(TypeError, match="stream"):
        cuda_value.__dlpack__(stream="legacy")
    for stream in (None, -1, 1, 2, 0x7F0000001234):  # all ready: nothing to wait for
        capsule = cuda_value.__dlpack__(stream=stream, max_version=(1, 0))
        assert ember.OrtValue.from_dlpack(capsule).data_ptr() == cuda_value.data_ptr()
    with pytest.raises(BufferError):
        cuda_value.__dlpack__(dl_device=(1, 0))  # no copies across devices
    host = ember.OrtValue.ortvalue_from_numpy(A)
    assert np.from_dlpack(host).ctypes.data == host.data_ptr()  # numpy passes no stream


def test_dlpack_unknown_device_type_is_refused():
    with pytest.raises(BufferError, match="device type 7"):
        ember.OrtValue.from_dlpack(FakeProducer(7))  # kDLVulkan


def test_to_dlpack_gives_a_capsule():
    value = ember.OrtValue.ortvalue_from_numpy(A)
    assert np.from_dlpack(ember.OrtValue.from_dlpack(value.to_dlpack())).tolist() == A.tolist()


# ---- device 'cuda' where no GPU can be used ----------------------------------------------

no_gpu = pytest.mark.skipif("cuda_usable()", reason="a CUDA GPU is usable here: "
                            "tests/gpu/test_cuda_io.py covers it")


@no_gpu
@pytest.mark.parametrize("make", [
    lambda: ember.OrtValue.ortvalue_from_numpy(A, "cuda", 0),
    lambda: ember.OrtValue.ortvalue_from_shape_and_type([2, 3], np.float32, "cuda", 0),
], ids=["from_numpy", "from_shape_and_type"])
def test_cuda_value_without_gpu_says_why(make):
    with pytest.raises(ember.EmberError) as info:
        make()
    message = str(info.value)
    assert "cannot place a value on 'cuda:0'" in message
    assert "CUDA provider is not usable here" in message
    assert info.value.ember_message in message and message.startswith("[Ember] : ")
    assert ember.get_device() == "CPU"
    assert "CUDAExecutionProvider" not in ember.get_available_providers()


@no_gpu
def test_cuda_session_without_gpu_falls_back_and_refuses_cuda_outputs(models):
    with pytest.warns(UserWarning, match="CUDAExecutionProvider"):
        session = ember.InferenceSession(models["two_inputs"],
                                         providers=["CUDAExecutionProvider",
                                                    "CPUExecutionProvider"])
    assert session.get_providers() == ["CPUExecutionProvider"]
    binding = session.io_binding()
    binding.bind_cpu_input("a", A)
    binding.bind_cpu_input("b", B)
    binding.bind_output("z", "cuda", 0)
    with pytest.raises(ember.EmberError, match="'z'.*device type 1"):
        session.run_with_iobinding(binding)
    binding.bind_output("z")
    session.run_with_iobinding(binding)
    np.testing.assert_allclose(binding.copy_outputs_to_cpu()[0], (A + B) * A)


@no_gpu
def test_cuda_pointer_input_without_gpu_is_refused(models):
    session = ember.InferenceSession(models["two_inputs"], providers=["CPUExecutionProvider"])
    binding = session.io_binding()
    binding.bind_input("a", "cuda", 0, np.float32, [2, 3], A.ctypes.data)
    binding.bind_cpu_input("b", B)
    binding.bind_output("z")
    with pytest.raises(ember.EmberError, match="device type 1"):
        session.run_with_iobinding(binding)
