"""Crop geometry shared by the tracker and the training pipeline (written once, used by both).

Conventions:
    * images are ``(H, W, 3)`` uint8 RGB numpy arrays;
    * ``xywh`` boxes are top-left x, y, width, height in frame pixels (float);
    * ``cxcywh`` boxes are centre x, centre y, width, height.

Everything here reproduces the official SeqTrack code (docs/official-behaviour.md §3.2-§3.5, §5.3) including its quirks:
Python's half-to-even ``round`` for the crop corner, a ``+1`` in the right/bottom padding, and the
``S`` (test) versus ``S - 1`` (train) normalisation of crop coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence as Seq

import cv2
import numpy as np
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class CropError(ValueError):
    """Raised when a box cannot be cropped (zero or non-finite area)."""


def crop_side(box_xywh: Seq[float], factor: float) -> int:
    """Side in frame pixels of the square crop around ``box_xywh``: ``ceil(sqrt(w*h) * factor)``."""
    w, h = float(box_xywh[2]), float(box_xywh[3])
    area = w * h
    if not math.isfinite(area) or area <= 0:
        raise CropError(f"cannot crop around a box of size {w} x {h}")
    side = math.ceil(math.sqrt(area) * factor)
    if side < 1:
        raise CropError(f"crop around box of size {w} x {h} with factor {factor} is empty")
    return side


def crop_square(image: np.ndarray, box_xywh: Seq[float], factor: float, output_size: int) -> tuple[np.ndarray, float]:
    """Square crop of ``factor``² times the box area, centred on the box, resized to ``output_size``.

    Args:
        image: ``(H, W, 3)`` uint8 RGB frame.
        box_xywh: target box, ``xywh`` top-left pixels.
        factor: context factor (4.0 for every released SeqTrack model).
        output_size: side ``S`` of the returned crop in pixels.

    Returns:
        ``(crop, resize_factor)``: crop is ``(S, S, 3)`` uint8, zero (black) where the square leaves the
        frame; ``resize_factor = S / side`` maps frame pixels to crop pixels.
    """
    x, y, w, h = (float(v) for v in box_xywh)
    side = crop_side(box_xywh, factor)
    # Python's round() is half-to-even, as in the official code; numpy's would differ on x.5 ties.
    x1 = round(x + 0.5 * w - 0.5 * side)
    y1 = round(y + 0.5 * h - 0.5 * side)
    x2, y2 = x1 + side, y1 + side
    height, width = image.shape[:2]
    pad_left = max(0, -x1)
    pad_top = max(0, -y1)
    # The official +1 drops the last column/row when the crop ends exactly at the border.
    pad_right = max(x2 - width + 1, 0)
    pad_bottom = max(y2 - height + 1, 0)
    patch = image[y1 + pad_top : y2 - pad_bottom, x1 + pad_left : x2 - pad_right]
    if pad_left or pad_top or pad_right or pad_bottom:
        padded = np.zeros((side, side) + image.shape[2:], dtype=image.dtype)
        padded[pad_top : pad_top + patch.shape[0], pad_left : pad_left + patch.shape[1]] = patch
        patch = padded
    crop = cv2.resize(patch, (output_size, output_size), interpolation=cv2.INTER_LINEAR)
    return crop, output_size / side


def normalize_crops(crops: np.ndarray | Seq[np.ndarray], device=None, dtype=torch.float32) -> torch.Tensor:
    """Stack uint8 RGB crops into the network's input tensor.

    Args:
        crops: one ``(S, S, 3)`` uint8 crop or a sequence/array ``(B, S, S, 3)`` of them.

    Returns:
        ``(B, 3, S, S)`` tensor, ``(pixel / 255 - mean) / std`` with the ImageNet mean/std, on ``device``.
    """
    array = np.asarray(crops) if not isinstance(crops, np.ndarray) else crops
    if array.ndim == 3:
        array = array[None]
    tensor = torch.from_numpy(np.ascontiguousarray(array)).to(device=device)
    tensor = tensor.permute(0, 3, 1, 2).to(torch.float32).div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN, device=tensor.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=tensor.device).view(1, 3, 1, 1)
    return tensor.sub_(mean).div_(std).to(dtype)


def tokens_to_crop_box(values: np.ndarray, search_size: int, resize_factor: float) -> np.ndarray:
    """Normalised ``cxcywh`` values (token / (bins-1)) to ``cxcywh`` frame-scale pixels, crop-relative.

    Reproduces the official float32 arithmetic: ``v * S / resize_factor`` (the test side uses ``S``,
    not ``S - 1``; docs/official-behaviour.md §4.2 / §9.1).

    Args:
        values: ``(4,)`` float32 normalised ``cxcywh`` in crop units.
    Returns:
        ``(4,)`` float32 ``cxcywh`` in frame pixels relative to the crop's top-left corner.
    """
    v = np.asarray(values, dtype=np.float32)
    return (v * np.float32(search_size)) / np.float32(resize_factor)


def map_box_back(pred_cxcywh: Seq[float], prev_xywh: Seq[float], search_size: int, resize_factor: float) -> list[float]:
    """Crop-relative ``cxcywh`` prediction → ``xywh`` frame pixels (official ``map_box_back``).

    The crop is assumed centred on the previous state's centre with half side ``0.5 * S / resize_factor``
    (the ≤ 0.5 px rounding of the real crop corner is ignored, as officially).
    """
    cx_prev = prev_xywh[0] + 0.5 * prev_xywh[2]
    cy_prev = prev_xywh[1] + 0.5 * prev_xywh[3]
    half = 0.5 * search_size / resize_factor
    cx, cy, w, h = (float(v) for v in pred_cxcywh)
    cx_real = cx + (cx_prev - half)
    cy_real = cy + (cy_prev - half)
    return [cx_real - 0.5 * w, cy_real - 0.5 * h, w, h]


def clip_box(box_xywh: Seq[float], height: int, width: int, margin: float = 10) -> list[float]:
    """Keep a box inside the frame with at least ``margin`` pixels of it visible (official ``clip_box``).

    Args:
        box_xywh: ``xywh`` frame pixels.
        height, width: frame size.
    Returns:
        ``[x, y, w, h]`` floats, with ``w, h >= margin``.
    """
    x1, y1, w, h = box_xywh
    x2, y2 = x1 + w, y1 + h
    x1 = min(max(0, x1), width - margin)
    x2 = min(max(margin, x2), width)
    y1 = min(max(0, y1), height - margin)
    y2 = min(max(margin, y2), height)
    w = max(margin, x2 - x1)
    h = max(margin, y2 - y1)
    return [x1, y1, w, h]


def box_to_crop_normalized(
    box_xywh: Seq[float], crop_center_xywh: Seq[float], resize_factor: float, crop_size: int
) -> np.ndarray:
    """Training-side target: a frame box expressed in the crop, ``xywh`` normalised by ``S - 1``.

    The crop was taken around ``crop_center_xywh`` (the jittered box); its centre sits at ``(S-1)/2``.
    Values are not clamped (they may fall outside ``[0, 1]``); token conversion clamps.

    Returns:
        ``(4,)`` float64 ``xywh`` (top-left, size) in units of ``S - 1``.
    """
    box = np.asarray(box_xywh, dtype=np.float64)
    ref = np.asarray(crop_center_xywh, dtype=np.float64)
    centre = (crop_size - 1) / 2 + (box[:2] + 0.5 * box[2:] - (ref[:2] + 0.5 * ref[2:])) * resize_factor
    size = box[2:] * resize_factor
    return np.concatenate([centre - 0.5 * size, size]) / (crop_size - 1)


def prediction_to_frame_box(
    values_cxcywh: np.ndarray,
    prev_xywh: Seq[float],
    search_size: int,
    resize_factor: float,
    frame_hw: tuple[int, int],
    margin: float = 10,
    size_weight: float = 1.0,
) -> list[float]:
    """The one place that rescales a prediction: normalised crop ``cxcywh`` → clipped ``xywh`` frame pixels.

    ``tokens_to_crop_box`` → ``map_box_back`` → ``clip_box``, exactly as the official tracker when
    ``size_weight`` is 1.

    Args:
        values_cxcywh: ``(4,)`` normalised ``cxcywh`` (token / (bins - 1)) in search-crop units.
        prev_xywh: the state the search crop was centred on (``xywh`` frame pixels).
        frame_hw: ``(H, W)`` of the current frame.
        size_weight: in ``(0, 1]``; below 1 the new width and height are the geometric blend
            ``prev ** (1 - size_weight) * predicted ** size_weight`` around the predicted centre
            (damps frame-to-frame size noise, which otherwise compounds through the crop scale).
    """
    pred = tokens_to_crop_box(values_cxcywh, search_size, resize_factor)
    box = map_box_back(pred.tolist(), prev_xywh, search_size, resize_factor)
    if size_weight != 1.0:
        x, y, w, h = box
        cx, cy = x + w / 2, y + h / 2
        w = float(prev_xywh[2]) ** (1 - size_weight) * max(w, 1e-6) ** size_weight
        h = float(prev_xywh[3]) ** (1 - size_weight) * max(h, 1e-6) ** size_weight
        box = [cx - w / 2, cy - h / 2, w, h]
    return clip_box(box, frame_hw[0], frame_hw[1], margin)
