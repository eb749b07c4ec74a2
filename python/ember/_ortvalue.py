"""OrtValue: a tensor that may live on any device, as in onnxruntime.

An OrtValue wraps one _ember.Value. From a host numpy array it wraps the
array's memory without a copy (the OrtValue keeps the array alive); on
another device it holds a copy there. ``numpy()`` is a view of a host tensor
(as onnxruntime's is) and a host copy of a device tensor.

The packed element types (int4, uint4, float4e2m1, int2, uint2: ml_dtypes'
int4... arrays, one element per byte) are the exception: Ember stores them
two or four to a byte, as ONNX does, so an array is always packed into a
copy, and ``numpy()`` always unpacks into a new array (signed types
sign-extended), never a view. Writing to that array does not change the tensor.
DLPack (``__dlpack__``, ``from_dlpack``) exchanges tensors without copies,
on the host and on CUDA (torch.from_dlpack(value), OrtValue.from_dlpack(t)).

On CUDA, every Ember call that writes device memory has finished when it
returns, and the provider's streams wait for work queued before on the
legacy default stream (PyTorch's default): a tensor made there can be bound
as it is. Work on another stream must be waited for first, or imported
through DLPack, which asks the producer to order it before the default
stream. A tensor Ember frees goes back to its pool and may be reused by the
next run: keep an exported value (or the torch tensor over it) alive while
work on other streams still reads it.

Devices are named as in onnxruntime ('cpu', 'cuda'). A third-party provider's
device needs its number once: ``ember.register_device_type('mockdev', 0x10001)``
(Ember's C API cannot yet look a device type up by name).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ember import _ember
from ember._errors import not_implemented
from ember._providers import env

_DEVICE_TYPES = {"cpu": 0, "cuda": 1, "gpu": 1}
_PROVIDER_OF_DEVICE = {1: "CUDA"}  # device type -> the provider that allocates there
# DLPack device types whose producers take a CUDA stream (kDLCUDA, kDLCUDAManaged).
_DL_CUDA_DEVICES = (2, 13)
_DL_LEGACY_DEFAULT_STREAM = 1
# ember_value_kind
_KIND_TENSOR, _KIND_SEQUENCE, _KIND_NONE = 1, 2, 3
_DEVICE_NAMES = {0: "cpu", 1: "cuda"}


def register_device_type(name: str, device_type: int) -> None:
    """Names a device type number (an ember_device_type value, e.g. a third
    party's EMBER_DEVICE_VENDOR_BASE + n) for device_type= arguments."""
    key = name.lower()
    known = _DEVICE_TYPES.get(key)
    if known is not None and known != device_type:
        raise ValueError(f"device '{name}' is already type {known}")
    _DEVICE_TYPES[key] = int(device_type)
    _DEVICE_NAMES.setdefault(int(device_type), key)


def device_type_of(name: str) -> int:
    """The ember_device_type number of a device name ('cpu', 'cuda', ...)."""
    try:
        return _DEVICE_TYPES[name.lower()]
    except (KeyError, AttributeError):
        known = ", ".join(sorted(_DEVICE_TYPES))
        raise _ember.InvalidArgument(
            f"[Ember] : 2 : INVALID_ARGUMENT : unknown device type '{name}'; known: {known} "
            "(ember.register_device_type names others)"
        ) from None


def device_name_of(device_type: int) -> str:
    return _DEVICE_NAMES.get(device_type, f"device{device_type:#x}")


def on_device(make, device_type: int, device_id: int):
    """make() for a value on a device; when that fails because the device's
    provider cannot be used here (no GPU, no driver), the error says so."""
    try:
        return make()
    except _ember.EmberError as e:
        provider = _PROVIDER_OF_DEVICE.get(device_type)
        if provider is None:
            raise
        is_available, why = env().provider_available(provider)
        if is_available:
            raise
        text = (f"cannot place a value on '{device_name_of(device_type)}:{device_id}': "
                f"the {provider} provider is not usable here: {why}")
        original = getattr(e, "ember_message", "")
        full = str(e)
        prefix = full[: len(full) - len(original)] if original and full.endswith(original) else ""
        error = type(e)(prefix + text)
        error.status = getattr(e, "status", "EMBER_E_DEVICE")
        error.ember_message = text
        raise error from e


def element_type_of(element_type) -> int:
    """The ONNX element type number of an int (TensorProto.FLOAT) or a numpy type."""
    if isinstance(element_type, (int, np.integer)) and not isinstance(element_type, bool):
        return int(element_type)
    return _ember.dtype_of(np.dtype(element_type))


def _register_ml_dtypes() -> None:
    """bfloat16, the float8 types (float8e8m0 included) and the packed types
    (int4, uint4, float4_e2m1fn, int2, uint2) come from ml_dtypes when it is
    installed. ml_dtypes holds one packed-type element per byte where Ember
    (and ONNX) packs two (4-bit types) or four (2-bit types) into each byte,
    so those values cross the boundary as copies, packed or unpacked on the
    way (python/src/packed.c)."""
    try:
        import ml_dtypes  # noqa: PLC0415
    except ImportError:
        return
    names = {16: "bfloat16", 17: "float8_e4m3fn", 18: "float8_e4m3fnuz", 19: "float8_e5m2",
             20: "float8_e5m2fnuz", 21: "uint4", 22: "int4", 23: "float4_e2m1fn",
             24: "float8_e8m0fnu", 25: "uint2", 26: "int2"}
    _ember.set_extra_dtypes({k: np.dtype(getattr(ml_dtypes, v)) for k, v in names.items()
                             if hasattr(ml_dtypes, v)})


_register_ml_dtypes()


class OrtDevice:
    """A device: a type name and an id ('cuda', 0)."""

    def __init__(self, device_type: int, device_id: int = 0):
        self._type = int(device_type)
        self._id = int(device_id)

    @staticmethod
    def make(ort_device_name: str, device_id: int, vendor_id: int = -1) -> OrtDevice:
        return OrtDevice(device_type_of(ort_device_name), device_id)

    def device_id(self) -> int:
        return self._id

    def device_type(self) -> int:
        return self._type

    def device_name(self) -> str:
        return device_name_of(self._type)

    def __repr__(self) -> str:
        return f"OrtDevice('{self.device_name()}', {self._id})"


class OrtValue:
    """A tensor on a device. Make one with the class methods."""

    __slots__ = ("_value", "_numpy_obj", "__weakref__")

    def __init__(self, ortvalue, numpy_obj=None):
        if not isinstance(ortvalue, _ember.Value):
            raise ValueError("OrtValue wraps an ember._ember.Value; use the class methods")
        self._value = ortvalue
        self._numpy_obj = numpy_obj

    # ---- construction -----------------------------------------------------------------

    @classmethod
    def ortvalue_from_numpy(cls, numpy_obj, /, device_type="cpu", device_id=0,
                            vendor_id=-1) -> OrtValue:
        """Wraps a host array without a copy (device 'cpu'), or copies it to a device.
        Arrays of the packed types (ml_dtypes' int4, uint4, float4_e2m1fn, int2,
        uint2) are always copied, packed as Ember stores them."""
        device = device_type_of(device_type)
        if device == 0:
            return cls(_ember.Value.from_array(numpy_obj), numpy_obj)
        return cls(on_device(
            lambda: _ember.Value.from_array_on(env(), numpy_obj, device, int(device_id)),
            device, int(device_id)))

    @classmethod
    def ortvalue_from_numpy_with_onnx_type(cls, data, /, onnx_element_type: int) -> OrtValue:
        """Wraps a C-contiguous array's bytes as another element type of the same size."""
        if not isinstance(data, np.ndarray) or not data.flags.c_contiguous:
            raise ValueError("data must be a C-contiguous numpy array")
        value = _ember.Value.wrap_pointer(data.ctypes.data, data.shape, int(onnx_element_type),
                                          0, 0)
        if value.byte_size != data.nbytes:
            raise _ember.InvalidArgument(
                f"[Ember] : 2 : INVALID_ARGUMENT : element type {onnx_element_type} does not "
                f"have the size of {data.dtype}")
        return cls(value, data)

    @classmethod
    def ortvalue_from_shape_and_type(cls, shape: Sequence[int], element_type,
                                     device_type: str = "cpu", device_id: int = 0,
                                     vendor_id: int = -1) -> OrtValue:
        """A tensor allocated by Ember on a device (host tensors are zero-filled;
        device tensors are left as the allocator gives them)."""
        device = device_type_of(device_type)
        return cls(on_device(
            lambda: _ember.Value.create(env(), list(shape), element_type_of(element_type),
                                        device, int(device_id)),
            device, int(device_id)))

    @classmethod
    def from_dlpack(cls, data, /) -> OrtValue:
        """Wraps a DLPack tensor (an object with __dlpack__, or a capsule) without a
        copy. A CUDA producer (a torch tensor) is asked to order its pending work
        before the legacy default stream, which Ember's CUDA streams wait for."""
        if hasattr(data, "__dlpack__"):
            kwargs = {}
            if hasattr(data, "__dlpack_device__"):
                if data.__dlpack_device__()[0] in _DL_CUDA_DEVICES:
                    kwargs["stream"] = _DL_LEGACY_DEFAULT_STREAM
            try:
                capsule = data.__dlpack__(max_version=(1, 0), **kwargs)
            except TypeError:  # a producer older than DLPack 1.0
                capsule = data.__dlpack__(**kwargs)
        else:
            capsule = data
        return cls(_ember.Value.from_dlpack(capsule, env()), data)

    @classmethod
    def ort_value_from_sparse_tensor(cls, sparse_tensor) -> OrtValue:
        raise not_implemented("sparse tensors are not supported by Ember yet")

    # ---- queries ----------------------------------------------------------------------

    def data_ptr(self) -> int:
        return self._value.data_ptr

    def device_name(self) -> str:
        return device_name_of(self._value.device[0])

    def shape(self) -> list[int]:
        return list(self._value.shape)

    def data_type(self) -> str:
        return _ember.dtype_onnx_name(self._value.dtype)

    def element_type(self) -> int:
        return self._value.dtype

    def tensor_size_in_bytes(self) -> int:
        return self._value.byte_size

    def has_value(self) -> bool:
        """False for an empty optional (a None output of run_with_ort_values)."""
        return self._value.kind != _KIND_NONE

    def is_tensor(self) -> bool:
        return self._value.kind == _KIND_TENSOR

    def is_sparse_tensor(self) -> bool:
        return False

    def is_tensor_sequence(self) -> bool:
        return self._value.kind == _KIND_SEQUENCE

    def as_sparse_tensor(self):
        raise not_implemented("sparse tensors are not supported by Ember yet")

    # ---- data -------------------------------------------------------------------------

    def numpy(self) -> np.ndarray:
        """The tensor as an array: a view of a host tensor (as in onnxruntime), a
        host copy of a device tensor. A packed type (int4, uint4, float4e2m1,
        int2, uint2) is always unpacked into a new ml_dtypes array, not a view.
        A sequence gives a list of array copies, an empty optional None."""
        return self._value.numpy()

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        arr = self._value.numpy(copy=bool(copy))
        if dtype is not None:
            arr = arr.astype(dtype, copy=False)
        return arr

    def update_inplace(self, data) -> None:
        """Copies data (a numpy array or an OrtValue) into this tensor's memory."""
        source = data._value if isinstance(data, OrtValue) else _ember.Value.from_array(data)
        self._value.copy_from(source)

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        return self._value.__dlpack__(stream=stream, max_version=max_version,
                                      dl_device=dl_device, copy=copy)

    def __dlpack_device__(self) -> tuple[int, int]:
        return self._value.__dlpack_device__()

    def to_dlpack(self):
        """A DLPack capsule over this tensor (no copy), as onnxruntime's to_dlpack."""
        return self._value.__dlpack__()

    def __repr__(self) -> str:
        return (f"OrtValue({self.data_type()}, shape={self.shape()}, "
                f"device='{self.device_name()}')")
