"""InferenceSession, SessionOptions, RunOptions and their enums, as in onnxruntime.

The options Ember has a use for reach the C API (threads, optimization level,
log level, providers, strict placement); the others are accepted and kept so
that scripts written for onnxruntime run unchanged. docs/python.md lists
which is which.
"""
from __future__ import annotations

import collections.abc
import datetime
import enum
import json
import os
import threading
import time
import warnings

import numpy as np

from ember import _ember, _providers
from ember._errors import EPFail, Fail, not_implemented
from ember._iobinding import IOBinding
from ember._ortvalue import OrtValue

_ABSENT = object()


class GraphOptimizationLevel(enum.IntEnum):
    ORT_DISABLE_ALL = 0
    ORT_ENABLE_BASIC = 1
    ORT_ENABLE_EXTENDED = 2
    ORT_ENABLE_LAYOUT = 3
    ORT_ENABLE_ALL = 99


class ExecutionMode(enum.IntEnum):
    ORT_SEQUENTIAL = 0
    ORT_PARALLEL = 1


class ExecutionOrder(enum.IntEnum):
    DEFAULT = 0
    PRIORITY_BASED = 1
    MEMORY_EFFICIENT = 2


# Ember's levels: disabled 0, basic 1, extended 2, all 99; it has no layout level.
_EMBER_OPT_LEVEL = {0: 0, 1: 1, 2: 2, 3: 2, 99: 99}
# Session config keys Ember acts on.
_KEY_STRICT = "session.disable_cpu_ep_fallback"
_KEY_EXTERNAL_DIR = "session.model_external_initializers_file_folder_path"


class SessionOptions:
    """Options for InferenceSession, with onnxruntime's names and defaults."""

    def __init__(self):
        self.intra_op_num_threads = 0
        self.inter_op_num_threads = 0
        self.graph_optimization_level = GraphOptimizationLevel.ORT_ENABLE_ALL
        self.execution_mode = ExecutionMode.ORT_SEQUENTIAL
        self.execution_order = ExecutionOrder.DEFAULT
        self.enable_profiling = False
        self.profile_file_prefix = "ember_profile_"
        self.log_severity_level = -1  # -1: the process default (set_default_logger_severity)
        self.log_verbosity_level = 0
        self.logid = ""
        self.enable_mem_pattern = True
        self.enable_mem_reuse = True
        self.enable_cpu_mem_arena = True
        self.optimized_model_filepath = ""
        self.use_deterministic_compute = False
        self.use_per_session_threads = True
        self._config: dict[str, str] = {}
        self._free_dims: dict[str, int] = {}

    def add_session_config_entry(self, key: str, value: str) -> None:
        self._config[str(key)] = str(value)

    def get_session_config_entry(self, key: str) -> str:
        try:
            return self._config[key]
        except KeyError:
            raise RuntimeError(f"SessionOptions does not have configuration with key: {key}") \
                from None

    def add_free_dimension_override_by_name(self, dim_name: str, dim_value: int) -> None:
        raise not_implemented("free dimension overrides are not supported by Ember yet")

    def add_free_dimension_override_by_denotation(self, dim_denotation: str,
                                                  dim_value: int) -> None:
        raise not_implemented("free dimension overrides are not supported by Ember yet")

    def add_initializer(self, name: str, ortvalue) -> None:
        raise not_implemented("overriding initializers is not supported by Ember yet")

    def register_custom_ops_library(self, library_path: str) -> None:
        raise not_implemented("custom op libraries are onnxruntime's; Ember loads providers "
                              "(ember_env_register_provider) instead")

    def has_providers(self) -> bool:
        return False


class RunOptions:
    """Options for one run. ``logid`` becomes the run's tag in Ember's log;
    ``terminate`` set before a run makes it fail at once, as in onnxruntime."""

    def __init__(self):
        self.log_severity_level = -1
        self.log_verbosity_level = 0
        self.logid = ""
        self.terminate = False
        self.only_execute_path_to_fetches = False
        self.training_mode = False
        self._config: dict[str, str] = {}

    def add_run_config_entry(self, key: str, value: str) -> None:
        self._config[str(key)] = str(value)

    def get_run_config_entry(self, key: str) -> str:
        try:
            return self._config[key]
        except KeyError:
            raise RuntimeError(f"RunOptions does not have configuration with key: {key}") \
                from None


class NodeArg:
    """A graph input or output: name, type ('tensor(float)') and shape, where
    a symbolic dim is its name (a str) and an unknown one None."""

    __slots__ = ("name", "type", "shape")

    def __init__(self, name: str, type_: str, shape):
        self.name = name
        self.type = type_
        self.shape = shape

    def __repr__(self) -> str:
        return f"NodeArg(name='{self.name}', type='{self.type}', shape={self.shape})"


class ModelMetadata:
    """The model's metadata, as onnxruntime's ModelMetadata."""

    def __init__(self, meta: dict):
        self.producer_name = meta["producer_name"]
        self.producer_version = meta["producer_version"]
        self.graph_name = meta["graph_name"]
        self.domain = meta["domain"]
        self.description = meta["description"]
        self.graph_description = ""  # Ember's C API reports the model's doc string only
        self.version = meta["model_version"]
        self.ir_version = meta["ir_version"]
        self.custom_metadata_map = dict(meta["custom"])


# Ember's C API reports no static type for a non-tensor input or output
# (ember_io_info has a dtype only, UNDEFINED there): its NodeArg's type says
# so until a run shows what it carries.
_UNKNOWN_TYPE = "unknown"


def _node_args(infos) -> list[NodeArg]:
    return [NodeArg(name, _ember.dtype_onnx_name(dtype) if dtype else _UNKNOWN_TYPE, shape)
            for name, dtype, shape in infos]


def _tensor_type(value) -> str | None:
    """'tensor(float)' for an array of float32...; None when it says nothing."""
    dtype = getattr(value, "dtype", None)
    if not isinstance(dtype, np.dtype):
        return None
    try:
        return _ember.dtype_onnx_name(_ember.dtype_of(dtype))
    except _ember.InvalidArgument:  # not an Ember type: the run says so
        return None


def _seen_type(value, known: str) -> str:
    """The type string of a non-tensor input or output, from a value it carried:
    a list is a sequence, None an empty optional, an array an optional's tensor."""
    is_optional = known.startswith("optional")
    if value is None:
        return known if is_optional else "optional"
    if isinstance(value, (list, tuple)):
        item = (_tensor_type(value[0]) if value else None) or "tensor"
        return f"optional(seq({item}))" if is_optional else f"seq({item})"
    item = _tensor_type(value)
    return f"optional({item})" if item else known


def _run_tag(run_options) -> str | None:
    if run_options is None:
        return None
    if run_options.terminate:
        raise Fail("[Ember] : 1 : FAIL : Exiting due to terminate flag being set to true.")
    return run_options.logid or None


def _normalize_providers(providers, provider_options) -> list[tuple[str, dict]]:
    """onnxruntime's rules: names or (name, options) tuples, or names with a
    parallel provider_options list; options become str -> str."""
    if providers is None:
        return []
    if not isinstance(providers, collections.abc.Sequence) or isinstance(providers, str):
        raise ValueError("'providers' should be a sequence.")
    if provider_options is not None:
        if not isinstance(provider_options, collections.abc.Sequence):
            raise ValueError("'provider_options' should be a sequence.")
        if len(providers) != len(provider_options):
            raise ValueError("'providers' and 'provider_options' should be the same length if "
                             "both are given.")
        if not all(isinstance(p, str) for p in providers):
            raise ValueError("Only string values for 'providers' are supported if "
                             "'provider_options' is given.")
        pairs = list(zip(providers, provider_options))
    else:
        pairs = []
        for p in providers:
            if isinstance(p, str):
                pairs.append((p, {}))
            elif (isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str)
                  and isinstance(p[1], dict)):
                pairs.append(p)
            else:
                raise ValueError("'providers' values must be either strings or (string, dict) "
                                 "tuples.")
    result, seen = [], set()
    for name, options in pairs:
        if not isinstance(options, dict):
            raise ValueError("'provider_options' values must be dicts.")
        key = _providers.to_ember(name).lower()
        if key in seen:
            warnings.warn(f"Duplicate provider '{name}' encountered, ignoring.", stacklevel=4)
            continue
        seen.add(key)
        result.append((name, {str(k): str(v) for k, v in options.items()}))
    return result


class _Profiler:
    """Events in the Chrome trace format that onnxruntime writes: one "Session"
    event per run, timed here, and at the end one "Node" event per step of the
    model with its mean duration over the runs (a provider group, several nodes
    run as one kernel, is one step)."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.start_ns = time.perf_counter_ns()
        self.events: list[dict] = []
        self.lock = threading.Lock()

    def record(self, name: str, start_ns: int, end_ns: int) -> None:
        event = {"cat": "Session", "pid": os.getpid(), "tid": threading.get_native_id(),
                 "dur": (end_ns - start_ns) // 1000, "ts": (start_ns - self.start_ns) // 1000,
                 "ph": "X", "name": name, "args": {}}
        with self.lock:
            self.events.append(event)

    def add_steps(self, steps) -> None:
        ts = (time.perf_counter_ns() - self.start_ns) // 1000
        for node, op, provider, n_nodes, calls, total_ns in steps:
            mean_us = total_ns // 1000 // calls if calls else 0
            self.events.append({
                "cat": "Node", "pid": os.getpid(), "tid": threading.get_native_id(),
                "dur": mean_us, "ts": ts, "ph": "X", "name": f"{node}_kernel_time",
                "args": {"op_name": op, "provider": provider, "node_count": n_nodes,
                         "calls": calls, "total_dur": total_ns // 1000}})

    def write(self) -> str:
        stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        path = f"{self.prefix}_{stamp}.json"
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.events, f)
        return path


class Session:
    """What InferenceSession adds to a created _ember.Session: metadata, run, binding."""

    def __init__(self, enable_fallback: bool = True):
        self._sess = None
        self._enable_fallback = enable_fallback
        self._profiler = None

    # ---- metadata ---------------------------------------------------------------------

    def get_session_options(self) -> SessionOptions:
        return self._sess_options

    def get_inputs(self) -> list[NodeArg]:
        return self._inputs_meta

    def get_outputs(self) -> list[NodeArg]:
        return self._outputs_meta

    def get_overridable_initializers(self) -> list[NodeArg]:
        return []

    def get_modelmeta(self) -> ModelMetadata:
        return self._model_meta

    def get_providers(self) -> list[str]:
        return self._providers

    def get_provider_options(self) -> dict[str, dict[str, str]]:
        return {name: dict(options) for name, options in self._provider_options.items()}

    def get_node_placement(self) -> list[tuple[str, str, str, str]]:
        """Ember's own: [(node_name, op_type, domain, provider)] in execution order."""
        return self._sess.placement()

    # ---- fallback ---------------------------------------------------------------------

    def disable_fallback(self) -> None:
        """An unavailable listed provider, or a provider failure, raises instead of
        falling back to the CPU provider."""
        self._enable_fallback = False

    def enable_fallback(self) -> None:
        self._enable_fallback = True

    def _fall_back(self, error) -> bool:
        """On a provider failure, recreates the session on CPU once, as onnxruntime does."""
        if not self._enable_fallback or self._providers == ["CPUExecutionProvider"]:
            return False
        warnings.warn(f"EP Error: {error} using {self._providers}; falling back to "
                      "['CPUExecutionProvider'] and retrying.", stacklevel=3)
        self.set_providers(["CPUExecutionProvider"])
        self.disable_fallback()
        return True

    # ---- runs -------------------------------------------------------------------------

    def _check_feed(self, input_feed) -> None:
        missing = [name for name in self._required_inputs if name not in input_feed]
        if missing:
            raise ValueError(f"Required inputs ({missing}) are missing from input feed "
                             f"({list(input_feed)}).")

    def _open_feed(self, input_feed: dict) -> dict:
        """The feed with the non-tensor inputs made Values: a list (or tuple) of
        arrays is a sequence, None an empty optional; an array stays a tensor."""
        feed = dict(input_feed)
        for name in self._open_inputs:
            value = feed.get(name, _ABSENT)
            if value is _ABSENT:
                continue
            if isinstance(value, dict):
                raise not_implemented(f"input '{name}' is a map: maps are not supported by "
                                      "Ember's C API yet")
            arg = self._inputs_by_name[name]
            arg.type = _seen_type(value, arg.type)
            if value is None:
                feed[name] = _ember.Value.none()
            elif isinstance(value, (list, tuple)):
                feed[name] = _ember.Value.sequence(
                    [v._value if isinstance(v, OrtValue) else v for v in value])
        return feed

    def _note_outputs(self, names, results) -> None:
        """Types the non-tensor outputs from what a run returned."""
        for name, value in zip(names or self._output_names, results):
            arg = self._open_outputs.get(name)
            if arg is not None:
                arg.type = _seen_type(value, arg.type)

    def run(self, output_names, input_feed, run_options=None) -> list:
        """Runs the model: output_names None (or empty) means every output; returns
        numpy arrays (a list of arrays for a sequence, None for an empty optional).
        A sequence input is a list of arrays, an empty optional input None.
        The GIL is released while Ember computes."""
        if not isinstance(input_feed, dict):
            input_feed = dict(input_feed)
        self._check_feed(input_feed)
        if self._open_inputs:
            input_feed = self._open_feed(input_feed)
        tag = _run_tag(run_options) if run_options is not None else None
        names = output_names or None
        try:
            if self._profiler is None:
                results = self._sess.run(names, input_feed, tag)
            else:
                results = self._profiled_run(names, input_feed, tag, False)
        except EPFail as error:
            if not self._fall_back(error):
                raise
            results = self._sess.run(names, input_feed, tag)
        if self._open_outputs:
            self._note_outputs(names, results)
        return results

    def run_with_ort_values(self, output_names, input_dict_ort_values,
                            run_options=None) -> list[OrtValue]:
        """Like run, with OrtValues in and out (outputs on the host)."""
        self._check_feed(input_dict_ort_values)
        feed = {name: value._value if isinstance(value, OrtValue) else value
                for name, value in input_dict_ort_values.items()}
        if self._open_inputs:
            feed = self._open_feed(feed)
        tag = _run_tag(run_options)
        names = output_names or None
        try:
            values = self._sess.run(names, feed, tag, True)
        except EPFail as error:
            if not self._fall_back(error):
                raise
            values = self._sess.run(names, feed, tag, True)
        return [OrtValue(value) for value in values]

    def _profiled_run(self, names, feed, tag, as_values):
        start = time.perf_counter_ns()
        try:
            return self._sess.run(names, feed, tag, as_values)
        finally:
            self._profiler.record("model_run", start, time.perf_counter_ns())

    def io_binding(self) -> IOBinding:
        return IOBinding(self)

    def run_with_iobinding(self, iobinding: IOBinding, run_options=None) -> None:
        if iobinding._session is not self._sess:
            raise ValueError("IOBinding must be used with the session that created it.")
        iobinding._binding.run(_run_tag(run_options))

    # ---- profiling --------------------------------------------------------------------

    def end_profiling(self) -> str:
        """Writes the profile (Chrome trace JSON) and returns its file name; '' when
        profiling is off."""
        if self._profiler is None:
            return ""
        self._profiler.add_steps(self._sess.profile())
        path = self._profiler.write()
        self._profiler = None
        return path

    def get_profiling_start_time_ns(self) -> int:
        return self._profiler.start_ns if self._profiler else 0


class InferenceSession(Session):
    """Loads a model (a path, or the bytes of an ONNX model) and runs it.

    providers lists names in priority order ('CUDAExecutionProvider' or 'CUDA',
    optionally as (name, options) tuples); None means ['CPUExecutionProvider'].
    A listed provider that is not available here is skipped with a warning,
    unless fallback is disabled (enable_fallback=0, or disable_fallback() before
    set_providers), which makes it an EPFail.
    """

    def __init__(self, path_or_bytes, sess_options: SessionOptions | None = None,
                 providers=None, provider_options=None, **kwargs):
        super().__init__(enable_fallback=int(kwargs.get("enable_fallback", 1)) == 1)
        if isinstance(path_or_bytes, (str, os.PathLike)):
            self._model_path = os.fspath(path_or_bytes)
            self._model_bytes = None
        elif isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            self._model_path = None
            self._model_bytes = bytes(path_or_bytes)
        else:
            raise TypeError(f"Unable to load from type '{type(path_or_bytes)}'")
        self._sess_options = sess_options if sess_options is not None else SessionOptions()
        self._create(providers, provider_options)

    def set_providers(self, providers=None, provider_options=None) -> None:
        """Recreates the session with another provider list."""
        self._create(providers, provider_options)

    # ---- creation ---------------------------------------------------------------------

    def _usable(self, requested) -> list[tuple[str, dict]]:
        """The requested providers that are available; the others are skipped with a
        warning, or raise when fallback is disabled."""
        usable = []
        for name, options in requested:
            is_available, why = _providers.availability(name)
            if is_available:
                usable.append((name, options))
                continue
            if not self._enable_fallback:
                raise EPFail(f"[Ember] : 11 : EP_FAIL : provider '{name}' is not available: "
                             f"{why}")
            available = ", ".join(_providers.get_available_providers())
            warnings.warn(f"Specified provider '{name}' is not in available provider names."
                          f"Available providers: '{available}'", stacklevel=4)
        return usable

    def _c_session(self, usable):
        so = self._sess_options
        model = self._model_path if self._model_path is not None else self._model_bytes
        base_dir = so._config.get(_KEY_EXTERNAL_DIR)
        level = so.log_severity_level if so.log_severity_level >= 0 \
            else _providers._log_severity
        return _ember.Session(
            _providers.env(), model, base_dir,
            providers=[(_providers.to_ember(name), options) for name, options in usable],
            strict=so._config.get(_KEY_STRICT, "0") == "1",
            intra_threads=int(so.intra_op_num_threads),
            opt_level=_EMBER_OPT_LEVEL.get(int(so.graph_optimization_level), 99),
            log_level=min(max(int(level), 0), 4),
            profiling=bool(so.enable_profiling))

    def _create(self, providers, provider_options) -> None:
        start = time.perf_counter_ns()
        usable = self._usable(_normalize_providers(providers, provider_options))
        try:
            sess = self._c_session(usable)
        except EPFail as error:
            if not self._enable_fallback or not usable:
                raise
            warnings.warn(f"EP Error {error} when using {[n for n, _ in usable]}; falling back "
                          "to ['CPUExecutionProvider'] and retrying.", stacklevel=3)
            usable = []
            sess = self._c_session(usable)
            self.disable_fallback()
        self._bind(sess, usable)
        self._after_create(start)

    def _bind(self, sess, usable) -> None:
        inputs, outputs = sess.inputs(), sess.outputs()
        self._sess = sess
        self._inputs_meta = _node_args(inputs)
        self._outputs_meta = _node_args(outputs)
        self._output_names = [arg.name for arg in self._outputs_meta]
        self._inputs_by_name = {arg.name: arg for arg in self._inputs_meta}
        # EMBER_DTYPE_UNDEFINED: a sequence or an optional (or a map, refused at run)
        self._open_inputs = tuple(name for name, dtype, _ in inputs if dtype == 0)
        self._open_outputs = {arg.name: arg for arg, (_, dtype, _) in
                              zip(self._outputs_meta, outputs) if dtype == 0}
        self._required_inputs = tuple(arg.name for arg in self._inputs_meta)
        self._model_meta = ModelMetadata(sess.meta())
        self._providers = [_providers.to_ort(name) for name in sess.providers()]
        given = {_providers.to_ember(name).lower(): options for name, options in usable}
        self._provider_options = {
            name: given.get(_providers.to_ember(name).lower(), {}) for name in self._providers}

    def _after_create(self, start_ns: int) -> None:
        so = self._sess_options
        if so.optimized_model_filepath:
            self._write_model(so.optimized_model_filepath)
        self._profiler = None
        if so.enable_profiling:
            self._profiler = _Profiler(so.profile_file_prefix)
            self._profiler.start_ns = start_ns
            self._profiler.record("session_initialization", start_ns, time.perf_counter_ns())

    def _write_model(self, path: str) -> None:
        """Ember cannot export its optimized graph yet: the model is written as loaded."""
        warnings.warn("optimized_model_filepath: Ember writes the model as loaded (it cannot "
                      "export its optimized graph yet)", stacklevel=4)
        data = self._model_bytes
        if data is None:
            with open(self._model_path, "rb") as f:
                data = f.read()
        with open(path, "wb") as f:
            f.write(data)
