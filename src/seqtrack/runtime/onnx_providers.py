"""Which ONNX Runtime execution providers a ``--device`` value stands for, and the check that a session
really got them.

    providers = execution_providers("cuda:1")   # [("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]
    predictor = OnnxPredictor(path, providers=providers)   # raises rather than run on the CPU

ONNX Runtime accepts a provider it does not have, or one whose libraries fail to load (no libcudnn, a
driver older than the package's CUDA), with a log warning and a session on the CPU only. A user who asked
for a GPU would then measure or track at CPU speed without being told, so both ends are checked here:
`execution_providers` before the session (this ``onnxruntime`` package lists the CUDA provider at all) and
`check_session_providers` after it (the session kept it).

Torch-free (the ``--fast`` start imports from the runtime without torch); ``onnxruntime`` is imported only
inside the functions that need it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seqtrack.errors import InputError, safe_text
from seqtrack.runtime.onnx_errors import OnnxError, require

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
DEVICE_NAMES = ("cpu", "cuda", "cuda:N")
_CUDA = re.compile(r"cuda(?::(\d+))?")

Provider = str | tuple[str, dict[str, Any]]


def execution_providers(device: str) -> list[Provider]:
    """The ONNX Runtime providers for ``device``, in priority order, as `onnxruntime.InferenceSession`
    takes them.

    Args:
        device: ``cpu``, ``cuda`` (GPU 0) or ``cuda:N``, any case, surrounding spaces ignored; a
            `torch.device` works too (its ``str``).
    Returns:
        ``["CPUExecutionProvider"]`` for ``cpu``; ``[("CUDAExecutionProvider", {"device_id": N}),
        "CPUExecutionProvider"]`` for ``cuda``/``cuda:N`` (the CPU provider runs the few nodes the CUDA
        provider has no kernel for; `check_session_providers` makes sure CUDA is not dropped altogether).
    Raises:
        InputError: an unknown name (the accepted ones are listed), or ``cuda`` while this onnxruntime
            package has no CUDA provider (names the providers it has and the fix: ``onnxruntime-gpu``).
        OnnxError: ``cuda`` asked and onnxruntime is not installed.
    """
    text = str(device).strip().lower()
    if text == "cpu":
        return [CPU]
    match = _CUDA.fullmatch(text)
    if match is None:
        raise InputError(
            safe_text(
                f"device {str(device)!r}: the onnxruntime backend accepts {', '.join(DEVICE_NAMES)} "
                "(use the torch backend for other devices)"
            )
        )
    index = int(match.group(1) or 0)
    ort = require("onnxruntime")
    available = list(ort.get_available_providers())
    if CUDA not in available:
        version = getattr(ort, "__version__", "?")
        raise InputError(
            safe_text(
                f"device {str(device)!r}: this onnxruntime ({version}) has no {CUDA}, only "
                f"{', '.join(available) or 'none'}; install the onnxruntime-gpu package in place of onnxruntime "
                "(pip uninstall onnxruntime; pip install onnxruntime-gpu) with a CUDA and cuDNN that its "
                "version supports, or use --device cpu"
            )
        )
    return [(CUDA, {"device_id": index}), CPU]


def onnx_device_name(device: str, local_rank: int = 0) -> str:
    """A ``--device`` value for the onnxruntime backend, checked and made canonical without torch (a
    CPU-only torch beside onnxruntime-gpu must not decide where ONNX Runtime runs).

    Args:
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (CUDA when this onnxruntime has its provider).
        local_rank: the GPU that ``cuda`` and ``auto`` mean for one process of a distributed run.
    Returns:
        ``"cpu"`` or ``"cuda:N"``.
    Raises:
        InputError: as `execution_providers` (an unknown name, or CUDA without the CUDA provider).
    """
    text = str(device).strip().lower()
    if text == "auto":
        text = "cuda" if CUDA in require("onnxruntime").get_available_providers() else "cpu"
    else:
        execution_providers(str(device))  # raises, naming the device as given
    return f"cuda:{local_rank}" if text == "cuda" else text


def provider_names(providers: Sequence[Provider]) -> list[str]:
    """The provider names of a list as `execution_providers` returns it (``(name, options)`` → ``name``)."""
    return [p[0] if isinstance(p, tuple) else str(p) for p in providers]


def check_session_providers(session: Any, requested: Sequence[Provider], path: str | Path) -> None:
    """Refuse a session that silently dropped a provider it was asked for (ONNX Runtime falls back to the
    CPU with only a log line when the CUDA provider cannot be loaded).

    Args:
        session: an `onnxruntime.InferenceSession` (anything with ``get_providers() -> list[str]``).
        requested: the providers it was created with (names or ``(name, options)`` tuples).
        path: the model file, for the message.
    Raises:
        OnnxError: one line naming the file and the provider that was not loaded, e.g. ``tiny.onnx:
            ONNX Runtime could not load the CUDAExecutionProvider ... the session would run on the CPU``.
    """
    used = list(session.get_providers())
    missing = [name for name in provider_names(requested) if name != CPU and name not in used]
    if not missing:
        return
    if CUDA in missing:
        why = "missing CUDA/cuDNN libraries, a driver older than the CUDA of onnxruntime-gpu, or no such GPU"
        what = f"the CUDA provider ({CUDA}; {why}: ONNX Runtime's log above says which)"
    else:
        what = ", ".join(missing)
    raise OnnxError(
        safe_text(
            f"{path}: ONNX Runtime could not load {what}, so the session would run on {', '.join(used) or 'nothing'}; "
            "refusing to fall back silently (fix the GPU setup, or use --device cpu)"
        )
    )


def provider_label(providers: Sequence[Provider]) -> str:
    """A short label of where a session runs, for reprs and bench tables: ``"cuda:N"`` when the CUDA
    provider comes first (N from its ``device_id`` option; 0, ONNX Runtime's default, without one),
    ``"cpu"`` for the CPU provider; another provider by its lower-case short name (``"tensorrt"``).

    Args:
        providers: names or ``(name, options)`` tuples, highest priority first (`execution_providers`, or
            a session's ``get_providers()`` paired with ``get_provider_options()``).
    """
    if not providers:
        return "cpu"
    first = providers[0]
    name, options = (first[0], first[1] or {}) if isinstance(first, tuple) else (str(first), {})
    if name == CUDA:
        index = str(options.get("device_id", 0)).strip()  # a session's options hold it as a string
        return f"cuda:{index}" if index.isdigit() else "cuda"
    if name == CPU:
        return "cpu"
    return name.removesuffix("ExecutionProvider").lower()


__all__ = [
    "execution_providers",
    "onnx_device_name",
    "check_session_providers",
    "provider_label",
    "provider_names",
    "DEVICE_NAMES",
    "CPU",
    "CUDA",
]
