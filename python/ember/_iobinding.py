"""IOBinding: inputs and outputs placed on devices ahead of a run.

Mirrors onnxruntime's IOBinding. An output bound to a device without a
buffer is allocated there by Ember at each run; ``get_outputs()`` returns
OrtValues over those buffers without copies. Such an OrtValue stays valid
after the next run: if it is still referenced then, it is first copied into
memory of its own on the same device.
"""
from __future__ import annotations

from ember import _ember
from ember._ortvalue import OrtValue, device_type_of, element_type_of
from ember._providers import env


class IOBinding:
    """Binds a session's inputs and outputs; run it with session.run_with_iobinding."""

    def __init__(self, session):
        self._session = session._sess
        self._binding = _ember.Binding(session._sess)

    def bind_cpu_input(self, name: str, arr_on_cpu) -> None:
        """Binds an input to a host array, without a copy when it is C-contiguous."""
        self._binding.bind_input(name, _ember.Value.from_array(arr_on_cpu))

    def bind_input(self, name: str, device_type, device_id, element_type, shape,
                   buffer_ptr) -> None:
        """Binds an input to memory at buffer_ptr on a device, without a copy; the
        caller keeps it alive, and its content complete (see OrtValue on streams)."""
        self._binding.bind_input(name, _wrap(buffer_ptr, shape, element_type, device_type,
                                             device_id))

    def bind_ortvalue_input(self, name: str, ortvalue: OrtValue) -> None:
        self._binding.bind_input(name, ortvalue._value)

    def synchronize_inputs(self) -> None:
        """Ember's copies complete before they return: nothing to wait for."""

    def bind_output(self, name: str, device_type="cpu", device_id=0, element_type=None,
                    shape=None, buffer_ptr=None) -> None:
        """Without buffer_ptr, Ember allocates the output on the device at each run;
        with it, runs write into that memory (element_type and shape required)."""
        device = device_type_of(device_type)
        if buffer_ptr is None:
            self._binding.bind_output_to_device(name, device, int(device_id))
            return
        if element_type is None or shape is None:
            raise ValueError("`element_type` and `shape` are to be provided if pre-allocated "
                             "memory is provided")
        self._binding.bind_output(name, _wrap(buffer_ptr, shape, element_type, device_type,
                                              device_id))

    def bind_ortvalue_output(self, name: str, ortvalue: OrtValue) -> None:
        self._binding.bind_output(name, ortvalue._value)

    def synchronize_outputs(self) -> None:
        """Ember's runs complete before they return: nothing to wait for."""

    def get_outputs(self) -> list[OrtValue]:
        """The outputs of the last run, in binding order, where they live. An output
        Ember allocated belongs to the binding until the next run: exporting it
        (DLPack) or keeping it past that run gives it memory of its own (one
        copy on its device); a preallocated output is the caller's memory."""
        return [OrtValue(value) for _, value in self._binding.outputs()]

    def get_outputs_as_ortvaluevector(self) -> list[OrtValue]:
        return self.get_outputs()

    def copy_outputs_to_cpu(self) -> list:
        """Host copies (numpy arrays) of the outputs of the last run."""
        return [value.numpy(copy=True) for _, value in self._binding.outputs()]

    def clear_binding_inputs(self) -> None:
        self._binding.clear_inputs()

    def clear_binding_outputs(self) -> None:
        self._binding.clear_outputs()


def _wrap(buffer_ptr, shape, element_type, device_type, device_id):
    """A Value over memory at buffer_ptr (not owned). A device value gets the
    environment, through which Ember copies it (e.g. OrtValue.numpy())."""
    device = device_type_of(device_type)
    return _ember.Value.wrap_pointer(int(buffer_ptr), list(shape),
                                     element_type_of(element_type), device, int(device_id),
                                     *((env(),) if device != 0 else ()))


# onnxruntime's C-level name for the same object.
SessionIOBinding = IOBinding
