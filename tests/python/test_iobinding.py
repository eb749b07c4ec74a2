"""IOBinding: every call on CPU compared with onnxruntime; device bindings on
the mockdev provider (tests/plugins/mockdev.c), whose memory the host cannot
read directly."""
from __future__ import annotations

import gc

import numpy as np
import pytest
from conftest import assert_same, both

import ember

CPU = ["CPUExecutionProvider"]
A = np.arange(6, dtype=np.float32).reshape(2, 3)
B = np.full((2, 3), 0.5, np.float32)
EXPECTED_Z = (A + B) * A


def test_binding_cpu_input_and_ember_allocated_output(models):
    def script(rt):
        session = rt.InferenceSession(models["two_inputs"], providers=CPU)
        binding = session.io_binding()
        binding.bind_cpu_input("a", A)
        binding.bind_cpu_input("b", B)
        binding.bind_output("z")
        binding.synchronize_inputs()
        session.run_with_iobinding(binding)
        binding.synchronize_outputs()
        outputs = binding.get_outputs()
        return [[(v.shape(), v.data_type(), v.device_name(), v.numpy()) for v in outputs],
                binding.copy_outputs_to_cpu()]

    ours, theirs = both(script)
    assert_same(ours, theirs)
    np.testing.assert_allclose(ours[1][0], EXPECTED_Z)


def test_binding_raw_pointers_for_input_and_output(models):
    def script(rt):
        session = rt.InferenceSession(models["two_inputs"], providers=CPU)
        a, b = A.copy(), B.copy()
        z = np.zeros((2, 3), np.float32)
        binding = session.io_binding()
        binding.bind_input("a", "cpu", 0, np.float32, [2, 3], a.ctypes.data)
        binding.bind_input("b", "cpu", 0, np.float32, list(b.shape), b.ctypes.data)
        binding.bind_output("z", "cpu", 0, np.float32, [2, 3], z.ctypes.data)
        session.run_with_iobinding(binding)
        written = z.copy()
        a *= 2  # the binding reads the caller's memory at each run
        session.run_with_iobinding(binding)
        return [written, z.copy(), binding.get_outputs()[0].numpy()]

    ours, theirs = both(script)
    assert_same(ours, theirs)
    np.testing.assert_allclose(ours[0], EXPECTED_Z)


def test_binding_output_needs_type_and_shape_with_a_buffer(models):
    def script(rt):
        binding = rt.InferenceSession(models["two_inputs"], providers=CPU).io_binding()
        try:
            binding.bind_output("z", "cpu", 0, None, None, 1234)
        except ValueError as e:
            return str(e)
        return None

    assert_same(*both(script))


def test_binding_ortvalues(models):
    def script(rt):
        session = rt.InferenceSession(models["two_inputs"], providers=CPU)
        a = rt.OrtValue.ortvalue_from_numpy(A)
        b = rt.OrtValue.ortvalue_from_numpy(B)
        z = rt.OrtValue.ortvalue_from_shape_and_type([2, 3], np.float32, "cpu", 0)
        binding = session.io_binding()
        binding.bind_ortvalue_input("a", a)
        binding.bind_ortvalue_input("b", b)
        binding.bind_ortvalue_output("z", z)
        session.run_with_iobinding(binding)
        outputs = binding.get_outputs()
        return [z.numpy(), outputs[0].numpy(), outputs[0].data_ptr() == z.data_ptr()]

    assert_same(*both(script))


def test_binding_clear_and_rebind(models):
    def script(rt):
        session = rt.InferenceSession(models["two_inputs"], providers=CPU)
        binding = session.io_binding()
        binding.bind_cpu_input("a", A)
        binding.bind_cpu_input("b", B)
        binding.bind_output("z")
        session.run_with_iobinding(binding)
        first = binding.copy_outputs_to_cpu()
        binding.clear_binding_inputs()
        binding.bind_cpu_input("a", B)
        binding.bind_cpu_input("b", A)
        binding.clear_binding_outputs()
        z = np.zeros((2, 3), np.float32)
        binding.bind_output("z", "cpu", 0, np.float32, [2, 3], z.ctypes.data)
        session.run_with_iobinding(binding)
        return first + [z.copy()]

    assert_same(*both(script))


def test_binding_outputs_stay_valid_after_the_next_run(models):
    # onnxruntime writes the next run into the same buffer, so an OrtValue
    # kept from the previous run shows the new values; Ember allocates anew
    # and the kept OrtValue keeps its own.
    def script(rt):
        session = rt.InferenceSession(models["two_inputs"], providers=CPU)
        binding = session.io_binding()
        a = A.copy()
        binding.bind_cpu_input("a", a)
        binding.bind_cpu_input("b", B)
        binding.bind_output("z")
        session.run_with_iobinding(binding)
        kept = binding.get_outputs()[0]
        a += 1
        session.run_with_iobinding(binding)
        fresh = binding.get_outputs()[0]
        binding.clear_binding_outputs()
        del binding, session
        gc.collect()
        return [kept.numpy(), fresh.numpy()]

    ours, theirs = both(script)
    assert_same(ours[1], theirs[1])
    np.testing.assert_allclose(ours[0], EXPECTED_Z)


def test_binding_reports_a_missing_input(models):
    def script(rt):
        session = rt.InferenceSession(models["two_inputs"], providers=CPU)
        binding = session.io_binding()
        binding.bind_cpu_input("a", A)
        binding.bind_output("z")
        try:
            session.run_with_iobinding(binding)
        except RuntimeError:
            return "RuntimeError"
        return None

    assert both(script) == ("RuntimeError", "RuntimeError")


def test_binding_refuses_unknown_names(models):
    # onnxruntime refuses an unknown output name at the run, Ember at once;
    # both raise RuntimeErrors (Ember's InvalidArgument is one).
    def script(rt):
        session = rt.InferenceSession(models["two_inputs"], providers=CPU)
        errors = []
        for name in ("a", "nope"):
            binding = session.io_binding()
            try:
                binding.bind_cpu_input(name, A)
                binding.bind_cpu_input("b", B)
                binding.bind_output("nope" if name == "a" else "z")
                session.run_with_iobinding(binding)
                errors.append(None)
            except RuntimeError as e:
                errors.append("RuntimeError" if name == "nope" or "nope" in str(e) else str(e))
        return errors

    assert both(script) == (["RuntimeError"] * 2, ["RuntimeError"] * 2)


def test_binding_belongs_to_its_session(models):
    first = ember.InferenceSession(models["two_inputs"])
    second = ember.InferenceSession(models["two_inputs"])
    with pytest.raises(ValueError, match="session that created it"):
        second.run_with_iobinding(first.io_binding())


# ---- a device the host cannot read: mockdev -------------------------------------------

def mockdev_session(path):
    return ember.InferenceSession(path, providers=[("MOCKDEV", {"claim": "Add,Mul,Relu"}),
                                                   "CPUExecutionProvider"])


def test_mockdev_session_places_nodes_and_copies(models, mockdev):
    session = mockdev_session(models["chain"])
    assert session.get_providers() == ["MOCKDEV", "CPUExecutionProvider"]
    placement = [(op, provider) for _, op, _, provider in session.get_node_placement()]
    assert placement == [("Add", "MOCKDEV"), ("Mul", "MOCKDEV"), ("Relu", "MOCKDEV"),
                         ("Sub", "CPU")]
    x = np.linspace(-2, 2, 16, dtype=np.float32).reshape(2, 8)
    y = session.run(None, {"x": x})[0]
    np.testing.assert_allclose(y, np.maximum((x + 0.5) * 2, 0) - 1, rtol=1e-6)


def test_mockdev_ortvalue_round_trip(models, mockdev):
    mockdev_session(models["chain"])  # loads the provider into the env
    x = np.arange(16, dtype=np.float32).reshape(2, 8)
    value = ember.OrtValue.ortvalue_from_numpy(x, "mockdev", 0)
    assert value.device_name() == "mockdev"
    assert value.data_ptr() != x.ctypes.data
    assert value.shape() == [2, 8] and value.data_type() == "tensor(float)"
    np.testing.assert_array_equal(value.numpy(), x)  # copied back from the device
    empty = ember.OrtValue.ortvalue_from_shape_and_type([3, 2], np.float32, "mockdev", 0)
    assert empty.device_name() == "mockdev" and empty.shape() == [3, 2]
    with pytest.raises((BufferError, RuntimeError)):
        np.from_dlpack(value)  # numpy reads host memory only


def test_mockdev_binding_on_the_device(models, mockdev):
    session = mockdev_session(models["chain"])
    x = np.linspace(-2, 2, 16, dtype=np.float32).reshape(2, 8)
    expected = np.maximum((x + 0.5) * 2, 0) - 1
    binding = session.io_binding()
    binding.bind_ortvalue_input("x", ember.OrtValue.ortvalue_from_numpy(x, "mockdev", 0))
    binding.bind_output("y", "mockdev", 0)
    session.run_with_iobinding(binding)
    outputs = binding.get_outputs()
    assert outputs[0].device_name() == "mockdev"
    np.testing.assert_allclose(outputs[0].numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(binding.copy_outputs_to_cpu()[0], expected, rtol=1e-6)
    kept = outputs[0]
    binding.bind_cpu_input("x", -x)
    session.run_with_iobinding(binding)  # kept is copied on the device first
    assert kept.device_name() == "mockdev"
    np.testing.assert_allclose(kept.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(binding.get_outputs()[0].numpy(),
                               np.maximum((-x + 0.5) * 2, 0) - 1, rtol=1e-6)


def test_mockdev_preallocated_output(models, mockdev):
    session = mockdev_session(models["two_inputs"])
    out = ember.OrtValue.ortvalue_from_shape_and_type([2, 3], np.float32, "mockdev", 0)
    binding = session.io_binding()
    binding.bind_cpu_input("a", A)
    binding.bind_cpu_input("b", B)
    binding.bind_ortvalue_output("z", out)
    session.run_with_iobinding(binding)
    assert binding.get_outputs()[0].data_ptr() == out.data_ptr()
    np.testing.assert_allclose(out.numpy(), EXPECTED_Z)


def test_mockdev_unknown_device_id_is_refused(models, mockdev):
    mockdev_session(models["chain"])
    with pytest.raises(ember.EmberError, match="device 3"):
        ember.OrtValue.ortvalue_from_numpy(A, "mockdev", 3)
