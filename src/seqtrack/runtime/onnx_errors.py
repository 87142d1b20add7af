"""`OnnxError` and `require` (the optional ``export`` extra: onnx, onnxruntime), torch-free so that the
torch-free ``--fast`` start (`seqtrack.runtime.fast_start`) reports them like the rest of the runtime;
`seqtrack.runtime.onnxruntime` re-exports both.
"""

from __future__ import annotations

import importlib
from typing import Any

from seqtrack.errors import SeqTrackError


class OnnxError(SeqTrackError):
    """An ONNX file or ONNX Runtime cannot be used: missing optional dependency, unreadable or foreign
    file, or an input the graph does not accept."""


def require(module: str) -> Any:
    """Import an optional dependency of the ``export`` extra, or raise one clear `OnnxError`."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise OnnxError(
            f"this needs the optional package {module!r}: install the export extra, "
            f"e.g. pip install 'seqtrack[export]' (onnx, onnxruntime)"
        ) from None


__all__ = ["OnnxError", "require"]
