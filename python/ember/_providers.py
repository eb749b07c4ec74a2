"""The process's Ember environment and the names of execution providers.

One ``_ember.Env`` serves every session and value, created on first use.
Plugins are found by name on Ember's search path, each loaded only when a
session or a query names it (so a CPU session never loads CUDA's libraries):
EMBER_PROVIDER_PATH, then the providers/ folder beside the package's
extension (filled by ``pip install .`` and by the build), then the install's
libdir/ember/providers.

onnxruntime names providers "CPUExecutionProvider"; Ember names them "CPU".
Both spellings are accepted everywhere, and sessions report onnxruntime's.
"""
from __future__ import annotations

import threading

from ember import _ember

# onnxruntime's name -> Ember's, for the providers Ember has or plans.
_ORT_TO_EMBER = {
    "CUDAExecutionProvider": "CUDA",
    "DnnlExecutionProvider": "oneDNN",
    "CPUExecutionProvider": "CPU",
}
_EMBER_TO_ORT = {ember.lower(): ort for ort, ember in _ORT_TO_EMBER.items()}
_SUFFIX = "ExecutionProvider"

_env = None
_env_lock = threading.Lock()
_log_severity = 2  # onnxruntime's default: warnings and above


def env():
    """The process's _ember.Env, created on first use."""
    global _env
    if _env is None:
        with _env_lock:
            if _env is None:
                _env = _ember.Env(log_level=_log_severity)
    return _env


def set_default_logger_severity(severity: int) -> None:
    """Messages at or above severity (0 verbose, 1 info, 2 warning, 3 error,
    4 fatal) go to stderr, as onnxruntime's default logger does."""
    global _log_severity
    if not 0 <= int(severity) <= 4:
        raise ValueError(f"severity {severity} is out of range: use 0 to 4")
    _log_severity = int(severity)
    if _env is not None:
        _env.set_log_level(_log_severity)


def to_ember(name: str) -> str:
    """Ember's name for a provider: 'CUDAExecutionProvider' -> 'CUDA'."""
    if name in _ORT_TO_EMBER:
        return _ORT_TO_EMBER[name]
    if name.endswith(_SUFFIX) and len(name) > len(_SUFFIX):
        return name[: -len(_SUFFIX)]
    return name


def to_ort(name: str) -> str:
    """onnxruntime's name for a provider Ember reports: 'CPU' -> 'CPUExecutionProvider'.
    Providers onnxruntime does not know keep Ember's name."""
    return _EMBER_TO_ORT.get(name.lower(), name)


def availability(name: str) -> tuple[bool, str]:
    """(is_available, why not) for a provider under either spelling."""
    return env().provider_available(to_ember(name))


def get_all_providers() -> list[str]:
    """The providers Ember knows of, whether built here or not, by priority."""
    return list(_ORT_TO_EMBER)


def get_available_providers() -> list[str]:
    """The providers that load and are usable on this machine, by priority."""
    return [name for name in _ORT_TO_EMBER if availability(name)[0]]


def get_device() -> str:
    """'GPU' when the CUDA provider is usable here, 'CPU' otherwise."""
    return "GPU" if availability("CUDA")[0] else "CPU"
