"""Drawing tracking results on a frame: boxes in per-target colours, scores and the frame number.

Frames are ``(H, W, 3)`` uint8 RGB (colours are RGB too); boxes are ``xywh`` (top-left x, y, width,
height in frame pixels, floats drawn at 1/16 px precision).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from seqtrack.io.boxes import as_xywh

# Distinct RGB colours, target k gets PALETTE[k % len]: green first (the single-target case),
# then colours far apart in hue so neighbouring targets are easy to tell apart.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 255, 0),
    (255, 64, 64),
    (64, 160, 255),
    (255, 220, 0),
    (255, 0, 255),
    (0, 255, 255),
    (255, 140, 0),
    (170, 90, 255),
    (140, 255, 140),
    (255, 255, 255),
)


def annotate_frame(
    frame_rgb: np.ndarray,
    boxes_xywh: Sequence[Sequence[float] | np.ndarray | None] | np.ndarray | None = None,
    scores: Sequence[float | None] | None = None,
    *,
    frame_index: int | None = None,
    target_ids: Sequence[int | str] | None = None,
) -> np.ndarray:
    """Draw boxes, scores and the frame number on a copy of ``frame_rgb``.

    Args:
        frame_rgb: ``(H, W, 3)`` uint8 RGB; not modified.
        boxes_xywh: one box (4 numbers) or ``(T, 4)`` boxes in pixels; ``None`` entries and boxes with
            non-finite values are skipped. Target ``k`` is drawn in ``PALETTE[k % 10]``.
        scores: ``(T,)`` scores (or one number for one box) drawn above each box as ``0.87``
            (``None``/``nan`` → no score).
        frame_index: drawn in the top-left corner as ``#123`` when given.
        target_ids: labels prefixed to the scores (``"1: 0.87"``) when given.

    Returns:
        The annotated ``(H, W, 3)`` uint8 RGB frame.
    """
    image = np.array(frame_rgb, dtype=np.uint8, copy=True)
    height, width = image.shape[:2]
    short = min(height, width)
    thickness = max(1, round(short / 300))
    font = cv2.FONT_HERSHEY_SIMPLEX
    font_scale = max(0.3, short / 720)
    text_thickness = max(1, round(short / 500))

    def label(text: str, x: int, y: int, colour: tuple[int, int, int]) -> None:
        # Text on a dark plate so it stays legible on any background; kept inside the frame.
        (tw, th), base = cv2.getTextSize(text, font, font_scale, text_thickness)
        x = int(min(max(x, 0), max(width - tw - 2, 0)))
        y = int(min(max(y, th + base + 2), height - 1))
        cv2.rectangle(image, (x, y - th - base - 2), (x + tw + 2, y), (0, 0, 0), cv2.FILLED)
        cv2.putText(image, text, (x + 1, y - base - 1), font, font_scale, colour, text_thickness, cv2.LINE_AA)

    if boxes_xywh is not None:
        # One box (4 scalars) or a list of boxes; a list of 4 boxes has non-scalar entries.
        if isinstance(boxes_xywh, np.ndarray):
            single = boxes_xywh.ndim == 1
        else:
            single = len(boxes_xywh) == 4 and all(b is not None and np.ndim(b) == 0 for b in boxes_xywh)
        boxes = [boxes_xywh] if single else list(boxes_xywh)
        if scores is not None and np.ndim(scores) == 0:  # one score for one box
            scores = [scores]  # type: ignore[list-item]
        for k, box in enumerate(boxes):
            if box is None:
                continue
            x, y, w, h = as_xywh(box, f"target {k}")
            if not all(math.isfinite(v) for v in (x, y, w, h)):
                continue
            colour = PALETTE[k % len(PALETTE)]
            # shift=4: sub-pixel corners (1/16 px), so the drawn box is where the float box is.
            s = 16
            cv2.rectangle(
                image,
                (int(round(x * s)), int(round(y * s))),
                (int(round((x + w) * s)), int(round((y + h) * s))),
                colour,
                thickness,
                cv2.LINE_AA,
                shift=4,
            )
            score = None if scores is None else scores[k]
            parts = []
            if target_ids is not None:
                parts.append(str(target_ids[k]))
            if score is not None and math.isfinite(float(score)):
                parts.append(f"{float(score):.2f}")
            if parts:
                label(": ".join(parts), int(x), int(y) - thickness, colour)
    if frame_index is not None:
        label(f"#{frame_index}", 0, 0, (255, 255, 255))
    return image
