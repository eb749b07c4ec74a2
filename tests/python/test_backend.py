"""onnx's backend test suite through ember.backend, and run_node.

onnx.backend.test.BackendTest(ember.backend) holds every test of onnx's suite.
It is narrowed to the tests the C conformance runner (tests/conformance)
runs, chosen the same way:

- the operators: a test runs only when every op of its model (subgraphs
  included; ops of other domains as 'domain.Op') is in conformance_cpu_ops
  of tests/conformance/meson.build, which meson passes here as
  EMBER_CONFORMANCE_OPS (read from that file when run by hand);
- the value kinds: models with map or sparse inputs or outputs are left
  out, as the runner skips them (sequences and optionals of tensors run);
- the sets: node (onnx builds those cases in memory; the runner reads the
  same cases from gen_node_data.py's files), simple, pytorch-converted and
  pytorch-operator (shipped in onnx's package data);
- tests/conformance/expected_failures.txt: listed tests are expected
  failures (a listed test that passes fails the suite, as in the runner).

Only the '_cpu' variants run; '_cuda' ones are skipped when no CUDA provider.
"""
from __future__ import annotations

import os
import re

import numpy as np
import onnx
import onnx.backend.test
import pytest
from conftest import source_root
from onnx import helper
from onnx.backend.test.loader import load_model_tests

import ember
import ember.backend

SETS = ("node", "simple", "pytorch-converted", "pytorch-operator")


def conformance_ops() -> set[str] | None:
    """The ops to test, or None for every op ('*')."""
    listed = os.environ.get("EMBER_CONFORMANCE_OPS")
    if listed == "*":
        return None
    if listed:
        return set(listed.split(","))
    path = os.path.join(source_root(), "tests", "conformance", "meson.build")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"conformance_cpu_ops\s*=\s*\[(.*?)\]", text, re.S)
    ops = set(re.findall(r"'([^']+)'", block.group(1)))
    return None if "*" in ops else ops


def wider_tolerance_tests() -> set[str]:
    """Tests the C runner checks with a stated wider tolerance
    (tests/conformance/tolerances.txt); onnx's BackendTest cannot apply it."""
    path = os.path.join(source_root(), "tests", "conformance", "tolerances.txt")
    with open(path, encoding="utf-8") as f:
        return {line.split()[0] for line in f if line.split("#", 1)[0].strip()}


def expected_failures() -> set[str]:
    """The runner's expected failures."""
    names = set()
    path = os.path.join(source_root(), "tests", "conformance", "expected_failures.txt")
    with open(path, encoding="utf-8") as f:
        for line in f:
            entry = line.split("#", 1)[0].split()
            if entry:
                names.add(entry[0].rsplit("/", 1)[-1])
    return names


def graph_ops(graph: onnx.GraphProto, ops: set[str]) -> set[str]:
    for node in graph.node:
        is_default = node.domain in ("", "ai.onnx")
        ops.add(node.op_type if is_default else f"{node.domain}.{node.op_type}")
        for attr in node.attribute:
            if attr.HasField("g"):
                graph_ops(attr.g, ops)
            for sub in attr.graphs:
                graph_ops(sub, ops)
    return ops


def tensors_only(graph: onnx.GraphProto) -> bool:
    """Whether every graph input and output is a tensor, a sequence of tensors, or
    an optional of either (ember.InferenceSession takes and returns those as
    arrays, lists of arrays and None); maps and sparse tensors are left out."""
    def is_tensors(tp: onnx.TypeProto) -> bool:
        which = tp.WhichOneof("value")
        if which == "sequence_type":
            return tp.sequence_type.elem_type.HasField("tensor_type")
        if which == "optional_type":
            return is_tensors(tp.optional_type.elem_type)
        return which == "tensor_type"

    return all(is_tensors(vi.type) for vi in list(graph.input) + list(graph.output))


def runnable(model: onnx.ModelProto, allowed: set[str] | None) -> bool:
    if allowed is not None and not graph_ops(model.graph, set()) <= allowed:
        return False
    return tensors_only(model.graph)


def selected_tests(allowed: set[str]) -> list[str]:
    names = [case.name for case in load_model_tests(kind="node")
             if runnable(case.model, allowed)]
    for kind in SETS[1:]:
        for case in load_model_tests(kind=kind):
            path = os.path.join(case.model_dir or "", "model.onnx")
            if case.model_dir and os.path.exists(path) and runnable(onnx.load(path), allowed):
                names.append(case.name)
    return names


SELECTED = selected_tests(conformance_ops())
EXPECTED_FAILURES = expected_failures()

backend_test = onnx.backend.test.BackendTest(ember.backend, __name__)
backend_test.include("^(" + "|".join(re.escape(n) for n in SELECTED) + ")_cpu$")
for name in EXPECTED_FAILURES & set(SELECTED):
    backend_test.xfail(f"^{re.escape(name)}_cpu$")
for name in wider_tolerance_tests():  # left to the C runner, which states the tolerance
    backend_test.exclude(f"^{re.escape(name)}_cpu$")
# onnx's runner compares a sequence's items with len(), which a 0-d tensor has
# not: these pass in the C runner, which compares them itself.
for name in ("test_loop16_seq_none",):
    backend_test.exclude(f"^{name}_cpu$")

globals().update(backend_test.test_cases)


def test_backend_selection_is_not_empty():
    assert len(SELECTED) > 100, len(SELECTED)
    assert "test_add_cpu" not in EXPECTED_FAILURES


# ---- the Backend interface itself -------------------------------------------------------

def test_backend_supports_devices():
    assert ember.backend.supports_device("CPU")
    has_cuda = "CUDAExecutionProvider" in ember.get_available_providers()
    assert ember.backend.supports_device("CUDA") == has_cuda
    assert ember.backend.supports_device("CUDA:1") == has_cuda


def test_backend_prepare_takes_lists_and_dicts(models):
    model = onnx.load(models["two_inputs"])
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.ones((2, 3), np.float32)
    rep = ember.backend.prepare(model, "CPU")
    from_list = rep.run([a, b])
    from_dict = rep.run({"a": a, "b": b})
    np.testing.assert_allclose(from_list[0], (a + b) * a)
    np.testing.assert_allclose(from_dict["z"], (a + b) * a)
    assert ember.backend.is_compatible(model)
    np.testing.assert_allclose(ember.backend.run_model(model, [a, b])[0], (a + b) * a)


def test_backend_prepare_passes_session_options(models):
    rep = ember.backend.prepare(onnx.load(models["add"]), "CPU", intra_op_num_threads=1,
                                graph_optimization_level=0)
    assert rep.session.get_session_options().intra_op_num_threads == 1


@pytest.mark.parametrize("op,inputs,attrs,expected", [
    ("Add", [np.ones((2, 3), np.float32), np.arange(3, dtype=np.float32)], {},
     lambda a, b: a + b),
    ("Relu", [np.linspace(-1, 1, 5, dtype=np.float32)], {}, lambda x: np.maximum(x, 0)),
    ("Transpose", [np.arange(6, dtype=np.int64).reshape(2, 3)], {"perm": [1, 0]},
     lambda x: x.T),
    ("Softmax", [np.array([[1.0, 2.0, 3.0]], np.float32)], {"axis": -1},
     lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
])
def test_backend_run_node(op, inputs, attrs, expected):
    names = [f"in{i}" for i in range(len(inputs))]
    node = helper.make_node(op, names, ["out"], **attrs)
    outputs = ember.backend.run_node(node, inputs)
    np.testing.assert_allclose(outputs[0], expected(*inputs), rtol=1e-6)
    assert outputs["out"].dtype == expected(*inputs).dtype


def test_backend_run_node_with_outputs_info():
    node = helper.make_node("Mul", ["x", "y"], ["z"])
    x = np.full((2, 2), 3, np.float32)
    outputs = ember.backend.run_node(node, {"x": x, "y": x},
                                     outputs_info=[(np.float32, (2, 2))])
    np.testing.assert_array_equal(outputs[0], x * x)
