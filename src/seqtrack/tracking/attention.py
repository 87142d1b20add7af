"""What the network looked at on one frame (the paper's Fig. 7): the search crop and, per generated token,
the last decoder block's cross-attention over the memory, laid out as maps over the search grid.

The weights come from the model itself (`SeqTrack.generate(..., return_attention=True)`: softmax over the
memory, averaged over heads, for the step that produced each token); `Tracker.track_with_attention`
returns them with the crop as an `AttentionView`, and `search_attention_maps` cuts and reshapes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqtrack.config import ModelConfig
from seqtrack.errors import InputError
from seqtrack.geometry.crop import token_values

# What each of the four generated tokens means, per sequence format (seqtrack.geometry.tokens).
TOKEN_NAMES = {"xywh": ("cx", "cy", "w", "h"), "whxy": ("w", "h", "cx", "cy"), "corner": ("x1", "y1", "x2", "y2")}


@dataclass
class AttentionView:
    """One tracked frame as the network saw it.

    Attributes:
        crop: ``(S, S, 3)`` uint8 RGB search crop (before normalisation).
        attention: ``(4, N_mem)`` float32 cross-attention weights of the last decoder block, averaged over
            heads, one row per generated token (in ``seq_format`` order); each row sums to 1 over the memory.
        crop_reference: ``(4,)`` ``xywh`` frame pixels of the box the crop is centred on (the previous state).
        resize_factor: crop pixels per frame pixel.
    """

    crop: np.ndarray
    attention: np.ndarray
    crop_reference: np.ndarray
    resize_factor: float


def search_attention_maps(attention: np.ndarray, config: ModelConfig) -> np.ndarray:
    """The attention rows as maps over the search crop's patch grid.

    The memory is laid out as in `SeqTrack.encode`: with ``feature_type`` "x" it is the ``Nx`` search
    tokens, with "xz" the search tokens then the templates' (only the search part is kept: the maps show
    the crop, so the share of attention that went to the templates is left out); "token" pools everything
    into one token, which has no spatial layout.

    Args:
        attention: ``(4, N_mem)`` weights (`AttentionView.attention`).
        config: the model's config (feature type, search size, patch size).
    Returns:
        ``(4, g, g)`` float32, ``g = S / patch``, row-major as the encoder flattens the grid.
    Raises:
        InputError: feature type "token", or a memory of another length than the config implies.
    """
    if config.feature_type == "token":
        raise InputError(
            "this model's decoder memory is one pooled token (feature_type 'token'): it has no attention map "
            "over the search crop"
        )
    grid = config.search_size // config.encoder.patch_size
    count = config.num_search_tokens
    weights = np.asarray(attention, dtype=np.float32)
    if weights.ndim != 2 or weights.shape[0] != 4 or weights.shape[1] < count:
        raise InputError(f"attention must be (4, N_mem) with N_mem >= {count} search tokens, got {weights.shape}")
    return weights[:, :count].reshape(4, grid, grid)


def token_titles(tokens: np.ndarray, seq_format: str, bins: int) -> list[str]:
    """``"cx 0.512 (2046)"``-style titles: token name, value in units of the crop side, token id.

    Args:
        tokens: ``(4,)`` int tokens in ``seq_format`` order; bins: the vocabulary's coordinate bins.
    """
    names = TOKEN_NAMES[seq_format]
    return [f"{name} {int(t) / (bins - 1):.3f} ({int(t)})" for name, t in zip(names, np.asarray(tokens).tolist())]


def predicted_crop_box(tokens: np.ndarray, config: ModelConfig) -> np.ndarray:
    """The box the four tokens describe, in the search crop's pixels.

    Args:
        tokens: ``(4,)`` int tokens in ``config.seq_format`` order.
    Returns:
        ``(4,)`` float64 ``xywh`` top-left in crop pixels (``token / (bins - 1) * S``: the inference-side
        scale of docs/official-behaviour.md §4.2, the one the tracker maps back to the frame with).
    """
    cx, cy, w, h = (
        token_values(np.asarray(tokens), config.bins, config.seq_format).astype(np.float64) * config.search_size
    ).tolist()
    return np.array([cx - w / 2, cy - h / 2, w, h], dtype=np.float64)


__all__ = ["AttentionView", "search_attention_maps", "token_titles", "predicted_crop_box", "TOKEN_NAMES"]
