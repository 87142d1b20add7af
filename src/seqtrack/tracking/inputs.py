"""The edge between the tracker (numpy crops, boxes) and the network it drives, in the network's array type.

The `Tracker` crops, normalises and decodes with numpy and OpenCV (`seqtrack.geometry.crop`) and keeps its
template crops in the array type of its predictor, through one of two adapters:

* `TorchInputs` for any `BoxPredictor` (a `SeqTrack`, `TorchPredictor`, `OnnxPredictor`, ...): crops become
  tensors on the predictor's device and dtype (channels-last strides, as always), templates stay there, the
  call runs under ``torch.inference_mode``; its outputs come back as numpy;
* `ArrayInputs` for a predictor with ``generate_arrays`` (numpy in, numpy out: the cached ONNX Runtime
  read-out of ``--fast``, `seqtrack.runtime.readout_session.OnnxReadout`): no torch at all.

Both return ``tokens (B, 4)`` int64 and ``probs (B, 4)`` float64 numpy arrays (and for a torch model asked for
it, the attention ``(B, 4, N_mem)`` float32), so the rest of the tracker is one code path.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from seqtrack.geometry.crop import crop_constants, normalize_crop_array, normalize_crop_tensor


def is_torch_module(obj: object) -> bool:
    """Whether ``obj`` is a ``torch.nn.Module``, without importing torch (a module exists only once torch is)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


class ArrayInputs:
    """numpy crops for a predictor with ``generate_arrays(templates, search, window, history)`` (torch-free).

    Attributes:
        device: ``"cpu"``; dtype: ``numpy.float32`` (what the crops are).
    """

    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor
        self.device, self.dtype = "cpu", np.float32

    def crops(self, raw: np.ndarray) -> np.ndarray:
        """``(B, S, S, 3)`` uint8 → ``(B, 3, S, S)`` float32 contiguous normalised crops."""
        return np.ascontiguousarray(normalize_crop_array(raw))

    def repeat(self, crop: np.ndarray, count: int) -> np.ndarray:
        """One ``(3, H, W)`` crop → ``(count, 3, H, W)``."""
        return np.repeat(crop[None], count, axis=0)

    def stack(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        """Per-target ``(T, 3, H, W)`` templates → ``(B, T, 3, H, W)``."""
        return np.stack(arrays)

    def cat(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        """Concatenate along the first axis."""
        return np.concatenate(arrays)

    def generate(self, templates: np.ndarray, search: np.ndarray, window, history: np.ndarray | None, attention):
        """``tokens (B, 4)`` int64, ``probs (B, 4)`` float64 numpy, and None (no attention maps here)."""
        if attention:
            raise ValueError("attention maps need a torch SeqTrack")
        extra = {} if history is None else {"history": history}
        tokens, probs = self.predictor.generate_arrays(templates, search, window=window, **extra)
        return np.asarray(tokens), np.asarray(probs), None


class TorchInputs:
    """torch tensors on the predictor's device and dtype, for any `BoxPredictor`.

    Attributes:
        device: ``torch.device`` of the crops; dtype: their ``torch.dtype`` (the predictor's).
    """

    def __init__(self, predictor: Any) -> None:
        import torch

        self.torch, self.predictor = torch, predictor
        self.device, self.dtype = torch.device(predictor.device), predictor.dtype
        self.constants = crop_constants(self.device) if self.device.type != "cpu" else None

    def crops(self, raw: np.ndarray):
        """``(B, S, S, 3)`` uint8 → ``(B, 3, S, S)`` normalised tensor on the device, in the dtype. For a GPU
        the uint8 crops are sent and normalised there (a quarter of the bytes; the same values)."""
        if self.device.type == "cpu":
            return self.torch.from_numpy(normalize_crop_array(raw)).to(dtype=self.dtype)
        return normalize_crop_tensor(self.torch.from_numpy(raw).to(self.device), self.dtype, self.constants)

    def repeat(self, crop, count: int):
        """One ``(3, H, W)`` crop → ``(count, 3, H, W)``."""
        return crop.unsqueeze(0).repeat(count, 1, 1, 1)

    def stack(self, tensors):
        """Per-target ``(T, 3, H, W)`` templates → ``(B, T, 3, H, W)``."""
        return self.torch.stack(list(tensors))

    def cat(self, tensors):
        """Concatenate along the first dimension."""
        return self.torch.cat(list(tensors))

    def generate(self, templates, search, window, history: np.ndarray | None, attention: bool):
        """``tokens (B, 4)`` int64, ``probs (B, 4)`` float64 numpy, and ``(B, 4, N_mem)`` float32 attention
        (``attention``) or None; only the options in use are passed, so any `BoxPredictor` runs a default model."""
        extra: dict[str, Any] = {}
        if history is not None:
            extra["history"] = self.torch.from_numpy(history).to(self.device)
        if attention:
            extra["return_attention"] = True
        with self.torch.inference_mode():
            tokens, probs, *maps = self.predictor.generate(templates, search, window=window, **extra)
            attention_maps = maps[0].float().cpu().numpy() if maps else None
            return tokens.cpu().numpy(), probs.cpu().numpy(), attention_maps


def network_inputs(predictor: Any) -> ArrayInputs | TorchInputs:
    """The adapter for ``predictor``: `ArrayInputs` when it has ``generate_arrays``, `TorchInputs` otherwise."""
    return ArrayInputs(predictor) if hasattr(predictor, "generate_arrays") else TorchInputs(predictor)


__all__ = ["ArrayInputs", "TorchInputs", "network_inputs", "is_torch_module"]
