"""The temporal-sequence bookkeeping of the tracker (paper Tab. 5, `ModelConfig.temporal_frames`).

A temporal model reads, before its START token, the target's boxes in the ``K`` previous frames as
``4 K`` coordinate tokens. At inference those boxes are the tracker's own predictions: per target, the last
``K`` boxes (the init box repeated while fewer than ``K`` frames were tracked), oldest first, re-expressed
in every new search crop before they become tokens.

Convention: the history is normalised like the *training target* (`seqtrack.data.processing`'s
``sequence_targets``: `box_to_crop_normalized`, crop centre at ``(S - 1) / 2``, units of ``S - 1``), not
like the inference read-out (``token / (bins - 1) * S``; docs/official-behaviour.md §9.1). The network
learned its history tokens from the training side's numbers, so that is what it must be shown; the
difference is a ``S / (S - 1)`` scale (+0.39 % at ``S = 256``), below one bin of the tiny models but not
zero at 4000 bins.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seqtrack.geometry.crop import box_to_crop_normalized


def initial_history(box_xywh: Sequence[float], frames: int) -> list[list[float]]:
    """The history of a target on its init frame: its init box (``xywh`` frame pixels) ``frames`` times.

    Returns:
        ``frames`` copies of ``[x, y, w, h]`` (an empty list for a model without temporal tokens).
    """
    return [[float(v) for v in box_xywh] for _ in range(frames)]


def push_box(history: list[list[float]], box_xywh: Sequence[float]) -> list[list[float]]:
    """The history after a frame: the oldest box dropped, ``box_xywh`` (the box the tracker reports for
    that frame, ``xywh`` frame pixels) appended; the length stays the same (0 stays 0)."""
    if not history:
        return history
    return history[1:] + [[float(v) for v in box_xywh]]


def history_in_crop(
    history: Sequence[Sequence[float]], crop_reference_xywh: Sequence[float], resize_factor: float, search_size: int
) -> np.ndarray:
    """One target's past boxes expressed in the current search crop, as the training target is.

    Args:
        history: ``K`` boxes, ``xywh`` top-left frame pixels, oldest first.
        crop_reference_xywh: the box the search crop is centred on (the target's previous state), ``xywh``
            frame pixels.
        resize_factor: crop pixels per frame pixel of that crop (``S / side``, from `crop_square`).
        search_size: the crop side ``S`` in pixels.
    Returns:
        ``(K, 4)`` float64 ``xywh`` (top-left, size) in units of ``S - 1``, crop centre at ``(S - 1) / 2``
        (the training convention, see the module docstring); not clamped (`box_to_tokens` clamps).
    """
    if len(history) == 0:
        return np.zeros((0, 4), dtype=np.float64)
    return np.stack([box_to_crop_normalized(box, crop_reference_xywh, resize_factor, search_size) for box in history])


def history_token_array(
    histories: Sequence[Sequence[Sequence[float]]],
    crop_references: Sequence[Sequence[float]],
    resize_factors: Sequence[float],
    search_size: int,
    bins: int,
    seq_format: str,
) -> np.ndarray:
    """The ``history`` input of `SeqTrack.generate` for a batch of targets, as a numpy array.

    Args:
        histories: per target ``K`` boxes, ``xywh`` frame pixels, oldest first (the same ``K`` for all).
        crop_references, resize_factors: per target, the box its search crop is centred on and the crop's
            resize factor (see `history_in_crop`).
        search_size: ``S``; bins, seq_format: the model's vocabulary and token order.
    Returns:
        ``(B, 4 K)`` int64 tokens, oldest box first, each box as 4 tokens in ``seq_format``.
    """
    # The training side's quantiser (`history_tokens`) is a torch function: a temporal model imports torch
    # here even on the torch-free path (the released and demo models have no temporal tokens).
    from seqtrack.geometry.tokens import history_tokens

    boxes = np.stack(
        [history_in_crop(h, ref, f, search_size) for h, ref, f in zip(histories, crop_references, resize_factors)]
    )  # (B, K, 4)
    return history_tokens(boxes, bins, seq_format).numpy()


def history_batch(
    histories: Sequence[Sequence[Sequence[float]]],
    crop_references: Sequence[Sequence[float]],
    resize_factors: Sequence[float],
    search_size: int,
    bins: int,
    seq_format: str,
    device="cpu",
):
    """`history_token_array` as a ``(B, 4 K)`` int64 torch tensor on ``device``."""
    import torch

    tokens = history_token_array(histories, crop_references, resize_factors, search_size, bins, seq_format)
    return torch.from_numpy(tokens).to(device)


__all__ = ["initial_history", "push_box", "history_in_crop", "history_batch", "history_token_array"]
