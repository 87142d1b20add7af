"""`TorchPredictor`: a `SeqTrack` under ``torch.autocast`` and/or with a ``torch.compile``-d encoder.

A plain fp32 or bf16 `SeqTrack` needs no wrapper (it is a `BoxPredictor` itself); this one exists for
the options that change how ``generate`` runs rather than the weights.
"""

from __future__ import annotations

import contextlib

import torch

from seqtrack.config import ModelConfig
from seqtrack.model.seqtrack import SeqTrack


class TorchPredictor:
    """A `SeqTrack` run under ``torch.autocast`` and/or with a ``torch.compile``-d encoder.

    The decoder's four greedy steps stay eager (they are tiny and shape-changing); the encoder, which
    holds almost all the FLOPs, is compiled once per batch size (``dynamic=False``: one graph per number
    of targets, recompiled on the first frame with a new count).

    Attributes:
        model: the wrapped network; config, device, dtype: as the tracker expects (``dtype`` is the
            dtype of the crops the tracker should build: the parameters' dtype).
    """

    def __init__(self, model: SeqTrack, autocast_dtype: torch.dtype | None = None, compile: bool = False) -> None:
        self.model = model.eval()
        self.config: ModelConfig = model.config
        self.device, self.dtype = model.device, model.dtype
        self.autocast_dtype = autocast_dtype
        self.compiled = compile
        self._encode = torch.compile(model.encode, dynamic=False) if compile else model.encode

    def _context(self) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    @torch.inference_mode()
    def generate(
        self, templates, search: torch.Tensor, window: bool | float = True, history: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Same contract as `SeqTrack.generate`: ``templates (B, T, 3, H, W)``, ``search (B, 3, S, S)``,
        ``history (B, 4K)`` int64 for a temporal model (else None) → ``tokens (B, 4)`` int64, ``probs (B, 4)``
        float64. (No attention maps here: `SeqTrack.generate` itself gives those.)"""
        with self._context():
            memory = self._encode(templates, search)
            return self.model.generate_from_memory(memory, window=window, history=history)

    def __repr__(self) -> str:
        extra = [f"autocast {self.autocast_dtype}"] if self.autocast_dtype else []
        extra += ["compiled"] if self.compiled else []
        return f"TorchPredictor({self.config.name}, {self.dtype}{', ' + ', '.join(extra) if extra else ''})"


__all__ = ["TorchPredictor"]
