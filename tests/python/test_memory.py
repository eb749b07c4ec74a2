"""No reference or memory leaks: 10,000 runs keep the process's memory flat and
leave every input's reference count as it was."""
from __future__ import annotations

import gc
import os
import sys

import numpy as np

import ember

RUNS = 10_000
# Slack for allocator noise (arenas, numpy's caches). A leak of one 64-byte
# array per run would already add 640 KB; the outputs are 64 bytes, and a
# leaked Value with its ndarray costs several hundred bytes.
SLACK_BYTES = 512 * 1024


def resident_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


# Under AddressSanitizer freed memory waits in a quarantine, so the resident
# size grows by design: the steps still run (and ASan checks them), the
# growth is not measured.
IS_SANITIZED = os.environ.get("EMBER_SANITIZED") == "1"


def growth(step, runs: int = RUNS) -> int:
    """RSS growth over `runs` calls of step(), after a warm-up."""
    for _ in range(500):
        step()
    gc.collect()
    before = resident_bytes()
    for _ in range(runs):
        step()
    gc.collect()
    return 0 if IS_SANITIZED else resident_bytes() - before


def test_run_keeps_memory_flat(models, x16):
    session = ember.InferenceSession(models["add"])
    feed = {"x": x16}
    refs = sys.getrefcount(x16)
    grown = growth(lambda: session.run(None, feed))
    assert sys.getrefcount(x16) == refs
    assert grown < SLACK_BYTES, grown


def test_failing_runs_keep_memory_flat(models):
    session = ember.InferenceSession(models["add"])
    bad = {"x": np.zeros((1, 3), np.float32)}

    def step():
        try:
            session.run(None, bad)
        except ember.InvalidArgument:
            pass

    assert growth(step) < SLACK_BYTES


def test_ortvalue_runs_keep_memory_flat(models, x16):
    session = ember.InferenceSession(models["add"])
    value = ember.OrtValue.ortvalue_from_numpy(x16)
    inner = value._value  # (pytest's assert rewriting would hold value._value itself)
    refs = sys.getrefcount(inner)

    def step():
        session.run_with_ort_values(["y"], {"x": value})[0].numpy()

    assert growth(step) < SLACK_BYTES
    assert sys.getrefcount(inner) == refs


def test_iobinding_runs_keep_memory_flat(models, x16):
    session = ember.InferenceSession(models["add"])
    binding = session.io_binding()
    binding.bind_cpu_input("x", x16)
    binding.bind_output("y")

    def step():
        session.run_with_iobinding(binding)
        binding.get_outputs()[0].numpy()

    assert growth(step) < SLACK_BYTES


def test_dlpack_exchange_keeps_memory_flat():
    arr = np.arange(16, dtype=np.float32)
    refs = sys.getrefcount(arr)

    def step():
        value = ember.OrtValue.from_dlpack(arr)
        np.from_dlpack(value)

    assert growth(step) < SLACK_BYTES
    assert sys.getrefcount(arr) == refs


def test_session_creation_keeps_memory_flat(models):
    def step():
        ember.InferenceSession(models["add"])

    assert growth(step, runs=1000) < 2 * SLACK_BYTES


# A fresh interpreter whose Ember core allocates through a counter: after a
# workload touching every object kind, and once everything is dropped (the
# process's Env last), the core must hold no block. Providers allocate with
# their own malloc and are not counted.
LEAK_WORKLOAD = r"""
import gc, sys
from ember import _ember
_ember.count_allocations()
import numpy as np
import ember

add, chain, two = sys.argv[1:4]
x = np.arange(16, dtype=np.float32).reshape(1, 16)
a = np.ones((2, 3), np.float32)

s = ember.InferenceSession(add)
with open(add, "rb") as f:
    s2 = ember.InferenceSession(f.read())
for _ in range(50):
    s.run(None, {"x": x}); s2.run(["y"], {"x": x})
for bad in ({"x": a}, {"x": x, "z": x}):
    try:
        s.run(None, bad)
    except ember.EmberError:
        pass
for source in (b"garbage", add + ".absent"):
    try:
        ember.InferenceSession(source)
    except ember.EmberError:
        pass
v = ember.OrtValue.ortvalue_from_numpy(x)
outs = s.run_with_ort_values(None, {"x": v})
t = ember.InferenceSession(two)
b = t.io_binding()
b.bind_cpu_input("a", a); b.bind_ortvalue_input("b", ember.OrtValue.ortvalue_from_numpy(a))
b.bind_output("z")
t.run_with_iobinding(b)
kept = b.get_outputs()
t.run_with_iobinding(b)
z = ember.OrtValue.ortvalue_from_shape_and_type([2, 3], np.float32)
b.bind_ortvalue_output("z", z)
t.run_with_iobinding(b)
views = [np.from_dlpack(v), ember.OrtValue.from_dlpack(a), kept[0].numpy()]
strings = ember.OrtValue.ortvalue_from_numpy(np.array(["a", "bc"]))
if ember._providers.availability("MOCKDEV")[0]:
    ember.register_device_type("mockdev", 0x10001)
    m = ember.InferenceSession(chain, providers=[("MOCKDEV", {"claim": "Add,Mul,Relu"}), "CPU"])
    xd = ember.OrtValue.ortvalue_from_numpy(np.ones((2, 8), np.float32), "mockdev", 0)
    mb = m.io_binding()
    mb.bind_ortvalue_input("x", xd); mb.bind_output("y", "mockdev", 0)
    m.run_with_iobinding(mb)
    kept_dev = mb.get_outputs()
    m.run_with_iobinding(mb)
    kept_dev[0].numpy(); m.run(None, {"x": np.ones((2, 8), np.float32)})
    del m, xd, mb, kept_dev
del s, s2, v, outs, t, b, kept, z, views, strings
gc.collect()
ember._providers._env = None
gc.collect()
print("live", _ember.live_allocations())
"""


def test_core_allocations_are_all_freed(models):
    import subprocess

    result = subprocess.run(
        [sys.executable, "-c", LEAK_WORKLOAD, models["add"], models["chain"],
         models["two_inputs"]],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["live", "0"], (result.stdout, result.stderr)
