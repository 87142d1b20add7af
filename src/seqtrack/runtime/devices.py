"""Which torch device a ``--device`` value names, checked against the devices this machine has.

Every place that takes a device from the user (`make_predictor`, so ``seqtrack track``, ``seqtrack eval``
and `Tracker.from_pretrained`; ``seqtrack train``) goes through `resolve_device`, so that ``--device foo``
or ``--device cuda`` on a machine without CUDA is one line naming what exists, never a traceback from
deep inside torch (or, in an evaluation worker, every sequence failing the same way).

Names: ``cpu``; ``cuda`` (the first GPU, or ``cuda:<local_rank>`` for a process of a distributed run);
``cuda:N``; ``mps`` (Apple GPUs); ``auto`` (``cuda`` when a GPU is visible, else ``cpu``).
"""

from __future__ import annotations

import re

import torch

from seqtrack.errors import InputError

DEVICE_NAMES = ("auto", "cpu", "cuda", "cuda:N", "mps")
_CUDA = re.compile(r"cuda(?::(\d+))?")


def available_devices() -> list[str]:
    """The devices torch can use here, by name: ``["cpu", "cuda:0", "cuda:1"]`` (``mps`` on Apple GPUs)."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    if _mps_available():
        names.append("mps")
    return names


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def _no_cuda_reason() -> str:
    # Two different fixes: a CUDA build of torch, or a visible GPU (driver, CUDA_VISIBLE_DEVICES).
    if torch.version.cuda is None:
        return "this PyTorch build has no CUDA support"
    return "no CUDA device is visible (driver, CUDA_VISIBLE_DEVICES?)"


def resolve_device(name: str | torch.device, *, local_rank: int = 0) -> torch.device:
    """The `torch.device` that ``name`` stands for, after checking that this machine has it.

    Args:
        name: ``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps`` (any case) or a `torch.device`.
        local_rank: the GPU that ``cuda`` and ``auto`` mean for one process of a distributed run
            (``cuda:<local_rank>``); 0 otherwise.
    Raises:
        InputError: one line naming the device asked for and the devices available, e.g.
            ``device 'cuda': this PyTorch build has no CUDA support; available: cpu``.
    """
    text = str(name).strip().lower()
    available = ", ".join(available_devices())
    if text == "auto":
        text = "cuda" if torch.cuda.is_available() else "cpu"
    if text == "cpu":
        return torch.device("cpu")
    if text == "mps":
        if not _mps_available():
            raise InputError(f"device 'mps': no Apple GPU (MPS) is available; available: {available}")
        return torch.device("mps")
    match = _CUDA.fullmatch(text)
    if match is None:
        raise InputError(
            f"unknown device {str(name)!r}; expected one of {', '.join(DEVICE_NAMES)}; available: {available}"
        )
    if not torch.cuda.is_available():
        raise InputError(f"device {str(name)!r}: {_no_cuda_reason()}; available: {available}")
    count = torch.cuda.device_count()
    index = int(match.group(1)) if match.group(1) is not None else local_rank
    if index >= count:
        raise InputError(
            f"device {str(name)!r}: there is no CUDA device {index} ({count} visible); available: {available}"
        )
    return torch.device("cuda", index)


__all__ = ["resolve_device", "available_devices", "DEVICE_NAMES"]
