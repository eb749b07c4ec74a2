"""Ember for Python: onnxruntime's Python API over the Ember runtime.

Code written for onnxruntime runs with ``import ember as ort``::

    import ember as ort
    sess = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
    outputs = sess.run(None, {"x": x})

``ember.backend`` is an ``onnx.backend.base.Backend`` for onnx's backend tests.
"""
from __future__ import annotations

import pkgutil

# In a build tree the compiled _ember sits in BUILD/python/ember while these
# files stay in SRC/python/ember; with both folders on sys.path this joins
# them into one package. An installed package has a single folder.
__path__ = pkgutil.extend_path(__path__, __name__)

from ember import _ember  # noqa: E402
from ember._errors import (  # noqa: E402,F401
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
from ember._iobinding import IOBinding, SessionIOBinding  # noqa: E402,F401
from ember._ortvalue import (  # noqa: E402,F401
    OrtDevice,
    OrtValue,
    register_device_type,
)
from ember._providers import (  # noqa: E402,F401
    get_all_providers,
    get_available_providers,
    get_device,
    set_default_logger_severity,
)
from ember._session import (  # noqa: E402,F401
    ExecutionMode,
    ExecutionOrder,
    GraphOptimizationLevel,
    InferenceSession,
    ModelMetadata,
    NodeArg,
    RunOptions,
    Session,
    SessionOptions,
)

__version__ = _ember.version
version = __version__
package_name = "ember"


def get_version_string() -> str:
    """Ember's version, e.g. '0.1.0'."""
    return __version__


def get_build_info() -> str:
    return f"ember {__version__}"


__all__ = [
    "EmberError", "EngineError", "EPFail", "Fail", "InvalidArgument", "InvalidGraph",
    "InvalidProtobuf", "ModelLoaded", "NoModel", "NoSuchFile", "NotImplemented",
    "RuntimeException", "IOBinding", "SessionIOBinding", "OrtDevice", "OrtValue",
    "register_device_type", "get_all_providers", "get_available_providers", "get_device",
    "set_default_logger_severity", "ExecutionMode", "ExecutionOrder", "GraphOptimizationLevel",
    "InferenceSession", "ModelMetadata", "NodeArg", "RunOptions", "Session", "SessionOptions",
    "get_version_string", "get_build_info", "__version__",
]
