"""Overlap of axis-aligned boxes, the one IoU used by metrics, benchmarks and agreement checks."""

from __future__ import annotations

import numpy as np


def clip_to_image(boxes_xywh: np.ndarray, image_wh: tuple[float, float]) -> np.ndarray:
    """Boxes ``(..., 4)`` ``xywh`` pixels cut to the image ``[0, W] x [0, H]`` (a new float64 array).

    The corner is clamped first, then width and height are limited to what is left of the image, as the
    GOT-10k toolkit does before it measures overlap.
    """
    box = np.array(boxes_xywh, dtype=np.float64)
    width, height = float(image_wh[0]), float(image_wh[1])
    box[..., 0] = np.clip(box[..., 0], 0, width)
    box[..., 1] = np.clip(box[..., 1], 0, height)
    box[..., 2] = np.clip(box[..., 2], 0, width - box[..., 0])
    box[..., 3] = np.clip(box[..., 3], 0, height - box[..., 1])
    return box


def box_iou(a_xywh, b_xywh, image_wh: tuple[float, float] | None = None) -> np.ndarray:
    """Intersection over union of ``xywh`` boxes, broadcast over leading dimensions.

    Convention of the GOT-10k toolkit (and so of every benchmark metric here): exclusive corners
    (``x + w``), machine epsilon added to the union so that two empty boxes give 0, result in [0, 1].

    Args:
        a_xywh, b_xywh: ``(..., 4)`` boxes, top-left ``x, y``, width, height in pixels.
        image_wh: when given, both boxes are first clipped to the image (`clip_to_image`).
    Returns:
        ``(...)`` float64 IoU.
    """
    a = np.asarray(a_xywh, dtype=np.float64)
    b = np.asarray(b_xywh, dtype=np.float64)
    if image_wh is not None:
        a, b = clip_to_image(a, image_wh), clip_to_image(b, image_wh)
    x1 = np.maximum(a[..., 0], b[..., 0])
    y1 = np.maximum(a[..., 1], b[..., 1])
    x2 = np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2])
    y2 = np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3])
    intersection = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - intersection
    return np.clip(intersection / (union + np.finfo(np.float64).eps), 0.0, 1.0)


__all__ = ["box_iou", "clip_to_image"]
