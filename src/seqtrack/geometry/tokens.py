"""Boxes ⇄ discrete token sequences (SeqTrack's vocabulary).

Vocabulary for ``bins`` coordinate bins (4000 in every released model):
    ``0 .. bins-1`` coordinate values, ``bins`` = END, ``bins + 1`` = START.

A normalised coordinate ``v ∈ [0, 1]`` (in units of the search crop side) becomes the token
``trunc(v * (bins - 1))`` at training time, and a token ``t`` means ``t / (bins - 1)`` at inference
(docs/official-behaviour.md §1.6, §4.2, §5.2; the official code truncates, it does not round).

Sequence formats (the official names):
    * ``"xywh"``   → tokens ``(cx, cy, w, h)``: the official name for the *centre* format;
    * ``"whxy"``   → tokens ``(w, h, cx, cy)``;
    * ``"corner"`` → tokens ``(x1, y1, x2, y2)``.
"""

from __future__ import annotations

from typing import Literal

import torch

from seqtrack.config import SEQ_FORMATS  # defined with the configs (torch-free)

SeqFormat = Literal["xywh", "whxy", "corner"]

# Decoding steps whose probabilities the Hann window re-weights, per format (docs/official-behaviour.md §4.1 step 4).
# For "corner" the official code windows x1, y1 (docs/official-behaviour.md §9.5): kept as is for compatibility.
_WINDOW_STEPS = {"xywh": (0, 1), "whxy": (2, 3), "corner": (0, 1)}


def end_token(bins: int) -> int:
    """Id of the END token: ``bins``."""
    return bins


def start_token(bins: int) -> int:
    """Id of the START token: ``bins + 1``."""
    return bins + 1


def vocab_size(bins: int) -> int:
    """Number of classes of the vocabulary head: ``bins + 2``."""
    return bins + 2


def window_steps(seq_format: str) -> tuple[int, int]:
    """The two decoding steps (0-based) that carry the box centre and get the Hann prior."""
    _check_format(seq_format)
    return _WINDOW_STEPS[seq_format]


def _check_format(seq_format: str) -> None:
    if seq_format not in SEQ_FORMATS:
        raise ValueError(f"unknown sequence format {seq_format!r}; expected one of {', '.join(SEQ_FORMATS)}")


def box_to_tokens(box_xywh_norm, bins: int = 4000, seq_format: str = "xywh") -> torch.Tensor:
    """Quantise normalised boxes into coordinate tokens (training side, docs/official-behaviour.md §5.2).

    Args:
        box_xywh_norm: ``(..., 4)`` top-left ``xywh`` in units of the crop side (``S - 1`` on the
            training side); values outside ``[0, 1]`` are allowed and get clamped as corners.
        bins: number of coordinate bins.
        seq_format: ``"xywh"`` (centre), ``"whxy"`` or ``"corner"``.

    Returns:
        ``(..., 4)`` int64 tokens in ``[0, bins - 1]``, ordered as the format says.
    """
    _check_format(seq_format)
    box = torch.as_tensor(box_xywh_norm, dtype=torch.float32)
    x1, y1 = box[..., 0], box[..., 1]
    corners = torch.stack([x1, y1, x1 + box[..., 2], y1 + box[..., 3]], dim=-1).clamp(0.0, 1.0)
    if seq_format == "corner":
        values = corners
    else:
        cx = 0.5 * (corners[..., 0] + corners[..., 2])
        cy = 0.5 * (corners[..., 1] + corners[..., 3])
        w = corners[..., 2] - corners[..., 0]
        h = corners[..., 3] - corners[..., 1]
        values = torch.stack([cx, cy, w, h] if seq_format == "xywh" else [w, h, cx, cy], dim=-1)
    # int cast truncates toward zero; values are >= 0 here so it is a floor, as officially.
    return (values * (bins - 1)).to(torch.int64)


def history_tokens(boxes_norm, bins: int = 4000, seq_format: str = "xywh") -> torch.Tensor:
    """The decoder's temporal history (paper Tab. 5): K past boxes as ``4 K`` coordinate tokens.

    Args:
        boxes_norm: ``(B, K, 4)`` top-left ``xywh`` of the target in the K previous frames, oldest first,
            normalised to the *current* search crop exactly like the training target (the convention
            `box_to_tokens` takes); values outside ``[0, 1]`` are clamped as corners, so a box that has
            left the crop becomes tokens on its border.
        bins: number of coordinate bins.
        seq_format: ``"xywh"`` (centre), ``"whxy"`` or ``"corner"``: each box's four tokens in this order.

    Returns:
        ``(B, 4 K)`` int64 tokens in ``[0, bins - 1]``, box after box, oldest first.
    """
    boxes = torch.as_tensor(boxes_norm, dtype=torch.float32)
    if boxes.dim() != 3 or boxes.shape[-1] != 4:
        raise ValueError(f"boxes_norm must be (B, K, 4), got {tuple(boxes.shape)}")
    return box_to_tokens(boxes, bins, seq_format).flatten(1)


def tokens_to_box(tokens, bins: int = 4000, seq_format: str = "xywh") -> torch.Tensor:
    """Coordinate tokens → normalised ``cxcywh`` (inference side, docs/official-behaviour.md §4.2).

    Args:
        tokens: ``(..., 4)`` integer tokens in the order of ``seq_format``.
    Returns:
        ``(..., 4)`` float32 ``cxcywh`` in units of the crop side (``token / (bins - 1)``).
    """
    _check_format(seq_format)
    values = torch.as_tensor(tokens).to(torch.float32) / (bins - 1)
    if seq_format == "xywh":
        return values
    if seq_format == "whxy":
        return values[..., [2, 3, 0, 1]]
    x1, y1, x2, y2 = values.unbind(-1)
    return torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=-1)


def teacher_forcing_pair(tokens: torch.Tensor, bins: int = 4000) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoder input and target for teacher forcing.

    Args:
        tokens: ``(B, 4)`` int64 coordinate tokens.
    Returns:
        ``(inputs, targets)``, both ``(B, 5)`` int64: ``[START, t1..t4]`` and ``[t1..t4, END]``.
    """
    tokens = torch.as_tensor(tokens, dtype=torch.int64)
    batch = tokens.shape[0]
    start = torch.full((batch, 1), start_token(bins), dtype=torch.int64, device=tokens.device)
    end = torch.full((batch, 1), end_token(bins), dtype=torch.int64, device=tokens.device)
    return torch.cat([start, tokens], dim=1), torch.cat([tokens, end], dim=1)
