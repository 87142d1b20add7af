"""The tracker's per-video state (`TrackerState`, one `TargetState` per target) and the checks on what
starts a track (`validate_frame`, `validate_init_box`). torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seqtrack.config import TrackerConfig
from seqtrack.errors import InputError


@dataclass
class TargetState:
    """Per-target tracking state: the current box and the template crops.

    ``templates`` is ``(T, 3, Ht, Wt)`` normalised crops in the predictor's own array type (a torch tensor on
    its device, or a float32 numpy array for a torch-free predictor: `seqtrack.tracking.inputs`): row 0 is
    the first-frame template (never replaced), rows ``1..T-1`` the most recent accepted dynamic templates
    (oldest first), as in the official list.
    ``history``: for a temporal model (`ModelConfig.temporal_frames` = K > 0), the K last boxes (``xywh``
    frame pixels, oldest first, the init box repeated at the start; `seqtrack.tracking.history`); else empty.
    """

    box: list[float]
    templates: Any  # (T, 3, Ht, Wt): a torch tensor for a torch predictor, a float32 numpy array otherwise
    low_score_frames: int = 0  # consecutive frames scoring below `TrackerConfig.lost_score`
    history: list[list[float]] = field(default_factory=list)

    def search_factor(self, config: TrackerConfig) -> float:
        """The crop factor for the next search: the wider re-detection one once the target seems lost."""
        if config.lost_search_factor is not None and self.low_score_frames >= config.lost_after:
            return float(config.lost_search_factor)
        return float(config.search_factor)


@dataclass
class TrackerState:
    """Everything that changes while tracking a video (the model holds none of it)."""

    targets: list[TargetState]
    frame_index: int = 0


def boxes_array(boxes, what: str) -> np.ndarray:
    """``(N, 4)`` float64 from one box (``what == "box"``) or a list of boxes; `InputError` otherwise."""
    array = np.asarray(boxes, dtype=np.float64)
    if what == "box" and array.shape == (4,):
        return array[None]
    if what == "boxes" and array.ndim == 2 and array.shape[1] == 4 and array.shape[0] > 0:
        return array
    expected = "four numbers x,y,w,h" if what == "box" else "a non-empty list of x,y,w,h boxes, shape (N, 4)"
    hint = " (for several targets use init_many)" if what == "box" and array.ndim == 2 else ""
    raise InputError(f"{what} must be {expected}; got shape {np.shape(boxes)}{hint}")


def validate_frame(frame: np.ndarray, where: str = "frame") -> np.ndarray:
    """Check a frame is ``(H, W, 3)`` uint8 (RGB); raises `InputError` naming ``where`` otherwise."""
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        shape = getattr(frame, "shape", None)
        dtype = getattr(frame, "dtype", type(frame).__name__)
        raise InputError(f"{where} must be an (H, W, 3) uint8 RGB array, got shape {shape} dtype {dtype}")
    return frame


# Init boxes outside these sizes are typing mistakes (a unit slip, an exponent), not targets: refused.
MIN_BOX_SIDE = 1e-3  # pixels
MAX_BOX_FRAMES = 100  # a width (height) over this many frame widths (heights)


def validate_init_box(box: np.ndarray, frame_hw: tuple[int, int], label: str = "box") -> None:
    """Reject boxes that cannot start a track: non-finite, ``w`` or ``h <= 0``, outside the frame, or
    absurdly sized (a side below `MIN_BOX_SIDE` px or over `MAX_BOX_FRAMES` times the frame's)."""
    x, y, w, h = (float(v) for v in box)
    height, width = frame_hw
    shown = f"{label} {x:g},{y:g},{w:g},{h:g}"
    if not np.isfinite(box).all():
        raise InputError(f"{shown} has non-finite values")
    if w <= 0 or h <= 0:
        raise InputError(f"{shown} must have positive width and height")
    if w < MIN_BOX_SIDE or h < MIN_BOX_SIDE:
        raise InputError(f"{shown} is too small: width and height must be at least {MIN_BOX_SIDE:g} px")
    if w > MAX_BOX_FRAMES * width or h > MAX_BOX_FRAMES * height:
        raise InputError(
            f"{shown} is too large for the first frame ({width}x{height}): width and height must be at most "
            f"{MAX_BOX_FRAMES}x the frame's"
        )
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise InputError(f"{shown} lies outside the first frame ({width}x{height})")


__all__ = [
    "TargetState",
    "TrackerState",
    "validate_frame",
    "validate_init_box",
    "boxes_array",
    "MIN_BOX_SIDE",
    "MAX_BOX_FRAMES",
]
