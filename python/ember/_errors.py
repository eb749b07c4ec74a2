"""Ember's exception classes, named as onnxruntime names its own.

onnxruntime raises onnxruntime.capi.onnxruntime_pybind11_state.<Name>; Ember
raises ember.<Name> with the same names, all subclasses of EmberError, itself
a RuntimeError (what onnxruntime's IOBinding calls raise). The
message reads "[Ember] : <onnxruntime code> : <CODE NAME> : <Ember's message>";
the exception also carries ``status`` (Ember's status name, e.g.
"EMBER_E_INVALID_MODEL") and ``ember_message`` (Ember's text alone).

How Ember's statuses map:

    EMBER_E_INVALID_ARGUMENT          InvalidArgument
    EMBER_E_INVALID_MODEL             InvalidGraph
    EMBER_E_NOT_IMPLEMENTED           NotImplemented
    EMBER_E_NO_SUCH_FILE              NoSuchFile
    EMBER_E_PROVIDER_ABI, _DEVICE     EPFail
    EMBER_E_OUT_OF_MEMORY, _INTERNAL  RuntimeException
    EMBER_E_IO and anything else      Fail
"""
from __future__ import annotations

from ember._ember import (  # noqa: F401
    EmberError,
    EngineError,
    EPFail,
    Fail,
    InvalidArgument,
    InvalidGraph,
    InvalidProtobuf,
    ModelLoaded,
    NoModel,
    NoSuchFile,
    NotImplemented,
    RuntimeException,
)


def not_implemented(what: str) -> NotImplemented:
    """An exception for a feature Ember does not offer yet."""
    error = NotImplemented(f"[Ember] : 9 : NOT_IMPLEMENTED : {what}")
    error.status = "EMBER_E_NOT_IMPLEMENTED"
    error.ember_message = what
    return error
