"""`BoxPredictor`: what the `Tracker` needs from a network, whichever backend runs it.

Satisfied by `SeqTrack` itself (fp32 eager, the reference), `TorchPredictor` (autocast and/or
``torch.compile``) and `OnnxPredictor` (ONNX Runtime, fp32 or int8). ``runtime_checkable``, so
``isinstance(x, BoxPredictor)`` checks that the four members exist (not their signatures).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from seqtrack.config import ModelConfig


@runtime_checkable
class BoxPredictor(Protocol):
    """Greedy box read-out from normalised crops.

    Attributes:
        config: the network's `ModelConfig` (crop sizes, template count, bins, sequence format).
        device: where the caller must build the crops.
        dtype: the dtype of those crops.
    """

    config: ModelConfig
    device: torch.device
    dtype: torch.dtype

    def generate(
        self,
        templates: torch.Tensor,
        search: torch.Tensor,
        window: bool | float = True,
        history: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The four box tokens of every target.

        Args:
            templates: ``(B, T, 3, H, W)`` normalised template crops (``H = W = config.template_size``).
            search: ``(B, 3, S, S)`` normalised search crops (``S = config.search_size``).
            window: Hann prior on the two centre steps: True / False, or a power ``p >= 0`` of the
                window (backends that cannot apply a power raise).
            history: ``(B, 4 K)`` int64 tokens of the target's K previous boxes in this search crop
                (`seqtrack.geometry.tokens.history_tokens`), required iff ``config.temporal_frames = K > 0``;
                None otherwise. The `Tracker` passes it only to temporal models.
        Returns:
            ``tokens (B, 4)`` int64 in the order of ``config.seq_format`` and ``probs (B, 4)`` float64,
            the chosen tokens' (windowed) probabilities.
        """
        ...


__all__ = ["BoxPredictor"]
