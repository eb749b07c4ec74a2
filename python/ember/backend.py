"""ember.backend: Ember as an onnx.backend.base.Backend.

    import ember.backend as backend
    rep = backend.prepare(model, "CPU")
    outputs = rep.run([x])

so that onnx's backend test suite (onnx.backend.test.BackendTest) runs against
Ember. Unlike onnxruntime's backend, run_node is implemented: it builds a
one-node model around the node and runs it.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import helper
from onnx.backend.base import Backend, BackendRep, Device, DeviceType, namedtupledict

from ember._providers import get_available_providers
from ember._session import InferenceSession, SessionOptions


class EmberBackendRep(BackendRep):
    """A prepared model: run takes a list (graph inputs in order) or a dict."""

    def __init__(self, session: InferenceSession):
        self._session = session
        self._input_names = [arg.name for arg in session.get_inputs()]
        self._output_names = [arg.name for arg in session.get_outputs()]

    @property
    def session(self) -> InferenceSession:
        return self._session

    def run(self, inputs, **kwargs):
        if isinstance(inputs, dict):
            feed = inputs
        elif isinstance(inputs, (list, tuple)):
            if len(inputs) > len(self._input_names):
                raise ValueError(f"{len(inputs)} inputs given; the model has "
                                 f"{len(self._input_names)}: {self._input_names}")
            feed = dict(zip(self._input_names, inputs))
        else:
            feed = {self._input_names[0]: inputs}
        outputs = self._session.run(None, feed)
        return namedtupledict("Outputs", self._output_names)(*outputs)


def _providers_for(device: str) -> list:
    parsed = Device(device)
    if parsed.type == DeviceType.CUDA:
        return [("CUDAExecutionProvider", {"device_id": str(parsed.device_id)}),
                "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def _options_from(kwargs) -> SessionOptions:
    """kwargs named like SessionOptions attributes set them, as in onnxruntime's backend."""
    options = SessionOptions()
    for key, value in kwargs.items():
        if hasattr(options, key) and not key.startswith("_"):
            setattr(options, key, value)
    return options


class EmberBackend(Backend):
    """onnx's Backend interface over ember.InferenceSession."""

    @classmethod
    def supports_device(cls, device: str) -> bool:
        """'CPU' always; 'CUDA' and 'CUDA:N' when the CUDA provider is usable here."""
        parsed = Device(device)
        if parsed.type == DeviceType.CPU:
            return True
        return parsed.type == DeviceType.CUDA and \
            "CUDAExecutionProvider" in get_available_providers()

    @classmethod
    def is_compatible(cls, model, device: str = "CPU", **kwargs) -> bool:
        return cls.supports_device(device)

    @classmethod
    def prepare(cls, model, device: str = "CPU", **kwargs) -> EmberBackendRep:
        """model: a ModelProto, the bytes of one, a path, or an InferenceSession."""
        if isinstance(model, InferenceSession):
            return EmberBackendRep(model)
        if isinstance(model, onnx.ModelProto):
            model = model.SerializeToString()
        session = InferenceSession(model, _options_from(kwargs), _providers_for(device))
        return EmberBackendRep(session)

    @classmethod
    def run_model(cls, model, inputs, device: str = "CPU", **kwargs):
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(cls, node: onnx.NodeProto, inputs, device: str = "CPU", outputs_info=None,
                 **kwargs):
        """Runs one node: inputs (a list in node.input order, or a dict) type the graph;
        output types come from outputs_info [(numpy dtype, shape)] or shape inference."""
        model = _one_node_model(node, inputs, outputs_info, kwargs.pop("opset_version", None))
        named = inputs if isinstance(inputs, dict) else {
            name: value for name, value in zip(node.input, inputs) if name}
        return cls.prepare(model, device, **kwargs).run(named)


def _value_info(name: str, value) -> onnx.ValueInfoProto:
    arr = np.asarray(value)
    elem = helper.np_dtype_to_tensor_dtype(arr.dtype) if arr.dtype != object \
        else onnx.TensorProto.STRING
    return helper.make_tensor_value_info(name, elem, arr.shape)


def _one_node_model(node, inputs, outputs_info, opset_version) -> onnx.ModelProto:
    named = inputs if isinstance(inputs, dict) else dict(zip(node.input, inputs))
    graph_inputs = [_value_info(name, named[name]) for name in node.input if name]
    if outputs_info:
        graph_outputs = [
            helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dt)),
                                          shape)
            for name, (dt, shape) in zip(node.output, outputs_info)]
    else:
        graph_outputs = [helper.make_empty_tensor_value_info(name) for name in node.output
                         if name]
    graph = helper.make_graph([node], f"run_node_{node.op_type}", graph_inputs, graph_outputs)
    opsets = [helper.make_opsetid("", opset_version or onnx.defs.onnx_opset_version())]
    if node.domain not in ("", "ai.onnx"):
        opsets.append(helper.make_opsetid(node.domain, 1))
    model = helper.make_model(graph, opset_imports=opsets)
    if not outputs_info:
        model = _typed_outputs(model)
    return model


def _typed_outputs(model: onnx.ModelProto) -> onnx.ModelProto:
    """Fills the outputs' types from onnx's shape inference where it knows them."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - an op without inference: leave the outputs untyped
        return model
    known = {vi.name: vi for vi in inferred.graph.value_info}
    known.update({vi.name: vi for vi in inferred.graph.output if vi.type.HasField("tensor_type")})
    for output in model.graph.output:
        if output.name in known:
            output.CopyFrom(known[output.name])
    return model


prepare = EmberBackend.prepare
run_model = EmberBackend.run_model
run_node = EmberBackend.run_node
supports_device = EmberBackend.supports_device
is_compatible = EmberBackend.is_compatible

__all__ = ["EmberBackend", "EmberBackendRep", "prepare", "run_model", "run_node",
           "supports_device", "is_compatible"]
