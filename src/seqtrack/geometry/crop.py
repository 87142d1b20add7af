"""Crop geometry shared by the tracker and the training pipeline (written once, used by both).

Conventions:
    * images are ``(H, W, 3)`` uint8 RGB numpy arrays;
    * ``xywh`` boxes are top-left x, y, width, height in frame pixels (float);
    * ``cxcywh`` boxes are centre x, centre y, width, height.

numpy and OpenCV only: torch is imported by `normalize_crops` alone (the tensor edge for the torch
backend and training), so that the torch-free ``--fast`` path (`seqtrack.runtime.fast_start`) crops,
normalises and decodes with this very code.

Everything here reproduces the official SeqTrack code (docs/official-behaviour.md §3.2-§3.5, §5.3) including its quirks:
Python's half-to-even ``round`` for the crop corner, a ``+1`` in the right/bottom padding, and the
``S`` (test) versus ``S - 1`` (train) normalisation of crop coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence as Seq

import cv2
import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# The zero-padded square is built (and handed to cv2.resize) while its area is at most this many frames
# (or output crops, if larger; 16: any box inside the frame with the official factor 4); beyond,
# `_resize_from_frame` samples the frame directly, so a box far larger than the frame costs no more than
# a small one.
PADDED_AREA_LIMIT = 16
_COEF_SCALE = 2048  # OpenCV's INTER_RESIZE_COEF_SCALE: 11-bit fixed-point interpolation weights


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

    The work is bounded by the frame and ``S``, not by the box: the zero-padded square is only built
    while it is at most `PADDED_AREA_LIMIT` frames (or ``S x S`` crops, if larger) large; a larger square
    (a box far bigger than the frame) is resampled from the part of the frame it covers by
    `_resize_from_frame`, which computes the same pixels as ``cv2.resize`` would on the padded square.
    """
    x, y, w, h = (float(v) for v in box_xywh)
    side = crop_side(box_xywh, factor)
    # Python's round() is half-to-even, as in the official code; numpy's would differ on x.5 ties.
    x1 = round(x + 0.5 * w - 0.5 * side)
    y1 = round(y + 0.5 * h - 0.5 * side)
    height, width = image.shape[:2]
    # The frame pixels inside the square. The official code pads with a +1 on the right and bottom
    # (`pad_right = max(x2 - W + 1, 0)`), so a square that reaches the last column/row drops it.
    cx0, cx1 = max(x1, 0), min(x1 + side, width - 1)
    cy0, cy1 = max(y1, 0), min(y1 + side, height - 1)
    if (cx0, cy0, cx1, cy1) == (x1, y1, x1 + side, y1 + side):  # inside the frame: a view, no padding
        patch = image[y1 : y1 + side, x1 : x1 + side]
    elif side * side > PADDED_AREA_LIMIT * max(height * width, output_size * output_size):
        return _resize_from_frame(image, (x1, y1, cx0, cy0, cx1, cy1), side, output_size), output_size / side
    else:
        patch = np.zeros((side, side) + image.shape[2:], dtype=image.dtype)
        if cx1 > cx0 and cy1 > cy0:
            patch[cy0 - y1 : cy1 - y1, cx0 - x1 : cx1 - x1] = image[cy0:cy1, cx0:cx1]
    crop = cv2.resize(patch, (output_size, output_size), interpolation=cv2.INTER_LINEAR)
    return crop, output_size / side


def _linear_taps(side: int, size: int, clamp: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """OpenCV's INTER_LINEAR taps for resizing a ``side``-long axis to ``size``: the two source indices
    (float64, clipped to ``[0, side - 1]``) and their fixed-point weights, per output index.

    ``clamp``: OpenCV zeroes the fraction where a column tap leaves the source (``clamp=True``) but keeps
    it for rows, whose indices it only clips; both are reproduced so the result is bit-identical.
    Positions are float32 as in OpenCV for any side OpenCV can hold (< 2**31), float64 beyond.
    """
    dtype = np.float32 if side < 2**31 else np.float64
    if 1.0 / (size / side) == 2.0:  # OpenCV resizes exactly 2:1 by 2x2 averaging (its INTER_AREA path)
        first = np.arange(size, dtype=np.float64) * 2
        return first, first + 1, np.ones(size, np.int32), np.ones(size, np.int32)
    scale = 1.0 / (size / side)  # what cv2.resize computes from the sizes (1 / inv_scale)
    pos = ((np.arange(size, dtype=np.float64) + 0.5) * scale - 0.5).astype(dtype)
    first = np.floor(pos)
    frac = (pos - first).astype(dtype)
    first = first.astype(np.float64)  # exact: integers below 2**53 (larger sides lie past any frame)
    if clamp:
        frac[(first < 0) | (first >= side - 1)] = 0
    weight0 = np.rint((dtype(1) - frac) * dtype(_COEF_SCALE)).astype(np.int32)
    weight1 = np.rint(frac * dtype(_COEF_SCALE)).astype(np.int32)
    return np.clip(first, 0, side - 1), np.clip(first + 1, 0, side - 1), weight0, weight1


def _content_taps(side: int, size: int, offset: int, length: int, clamp: bool) -> tuple[slice, tuple[np.ndarray, ...]]:
    """`_linear_taps` as indices into a ``length``-long content starting ``offset`` into the square
    (``length``, the content's zero border, where a tap misses it), cut to the output range whose taps
    touch the content (outside it the output is zero); ``(range, (index0, index1, weight0, weight1))``."""
    first, second, weight0, weight1 = _linear_taps(side, size, clamp)
    indices = []
    for taps in (first, second):
        index = np.clip(taps - float(offset), -1, length)
        index[index < 0] = length
        indices.append(index.astype(np.int64))
    touching = np.flatnonzero((indices[0] < length) | (indices[1] < length))
    if touching.size == 0:
        return slice(0, 0), ()
    span = slice(int(touching[0]), int(touching[-1]) + 1)  # contiguous: the taps grow with the output index
    return span, (indices[0][span], indices[1][span], weight0[span], weight1[span])


def _resize_from_frame(image: np.ndarray, corners: tuple[int, ...], side: int, size: int) -> np.ndarray:
    """``cv2.resize(padded_square, (size, size), INTER_LINEAR)`` without building the padded square.

    Args:
        corners: ``(x1, y1, cx0, cy0, cx1, cy1)``: the square's top-left corner in frame pixels and the
            frame rectangle ``[cx0, cx1) x [cy0, cy1)`` inside it (the rest of the square is zero).
    Returns:
        ``(size, size, C)`` uint8: the same pixels, computed with OpenCV's fixed-point arithmetic from the
        covered part of the frame plus one zero row and column, for the outputs that reach it.
    """
    x1, y1, cx0, cy0, cx1, cy1 = corners
    rows, cols = max(cy1 - cy0, 0), max(cx1 - cx0, 0)
    out = np.zeros((size, size) + image.shape[2:], dtype=np.uint8)
    row_span, row_taps = _content_taps(side, size, cy0 - y1, rows, clamp=False)
    col_span, col_taps = _content_taps(side, size, cx0 - x1, cols, clamp=True)
    if not row_taps or not col_taps:
        return out
    content = np.zeros((rows + 1, cols + 1) + image.shape[2:], dtype=np.uint8)  # last row/column: the zeros
    content[:rows, :cols] = image[cy0 : cy0 + rows, cx0 : cx0 + cols]
    channels = (1,) * (image.ndim - 2)  # the weights broadcast over the channels
    r0, r1 = (v[:, None] for v in row_taps[:2])
    c0, c1 = (v[None, :] for v in col_taps[:2])
    beta0, beta1 = (v.reshape(-1, 1, *channels) for v in row_taps[2:])
    alpha0, alpha1 = (v.reshape(1, -1, *channels) for v in col_taps[2:])
    if 1.0 / (size / side) == 2.0:  # the 2x2 average with rounding of OpenCV's 2:1 path
        total = sum(content[r, c].astype(np.int32) for r in (r0, r1) for c in (c0, c1))
        out[row_span, col_span] = (total + 2) >> 2
        return out

    def horizontal(r: np.ndarray) -> np.ndarray:
        return content[r, c0].astype(np.int32) * alpha0 + content[r, c1].astype(np.int32) * alpha1

    # OpenCV's VResizeLinear for uint8: each product pre-shifted by 4 and 16 bits, then rounded by 2.
    out[row_span, col_span] = (
        ((beta0 * (horizontal(r0) >> 4)) >> 16) + ((beta1 * (horizontal(r1) >> 4)) >> 16) + 2
    ) >> 2
    return out


def normalize_crop_array(crops: np.ndarray | Seq[np.ndarray]) -> np.ndarray:
    """Stack uint8 RGB crops into the network's input array (numpy, no torch).

    Args:
        crops: one ``(S, S, 3)`` uint8 crop or a sequence/array ``(B, S, S, 3)`` of them.

    Returns:
        ``(B, 3, S, S)`` float32, ``(pixel / 255 - mean) / std`` with the ImageNet mean/std: a transposed view
        of a channels-last buffer, the layout torch has always been given (`normalize_crops`; its convolution
        kernels follow the layout, so keeping it keeps the torch path's numbers). Each step is one correctly
        rounded float32 operation, bit for bit what torch computes in the same order (checked for every pixel
        value in tests/geometry/test_crop_arrays.py).
    """
    array = np.asarray(crops) if not isinstance(crops, np.ndarray) else crops
    if array.ndim == 3:
        array = array[None]
    out = array.astype(np.float32)  # (B, S, S, 3), a new buffer
    out /= np.float32(255.0)
    out -= np.asarray(IMAGENET_MEAN, dtype=np.float32)
    out /= np.asarray(IMAGENET_STD, dtype=np.float32)
    return out.transpose(0, 3, 1, 2)


def normalize_crops(crops: np.ndarray | Seq[np.ndarray], device=None, dtype=None):
    """`normalize_crop_array` as a torch tensor: ``(B, 3, S, S)`` (channels-last strides) on ``device`` in
    ``dtype`` (default float32; a bf16 model gets the float32 values rounded once, as before)."""
    import torch

    tensor = torch.from_numpy(normalize_crop_array(crops))
    return tensor.to(device=device, dtype=dtype or torch.float32)


def crop_constants(device):
    """``(mean, std)``: the ImageNet statistics as two ``(3,)`` float32 tensors on ``device``, for
    `normalize_crop_tensor` (made once by its caller, not two host-to-device copies a frame)."""
    import torch

    return tuple(torch.tensor(v, dtype=torch.float32, device=device) for v in (IMAGENET_MEAN, IMAGENET_STD))


def normalize_crop_tensor(crops, dtype=None, constants=None):
    """`normalize_crop_array` on a torch tensor, wherever it lives: ``(B, S, S, 3)`` uint8 → ``(B, 3, S, S)``
    (channels-last strides) in ``dtype`` (default float32), on the tensor's device.

    For a GPU: the uint8 crops travel (a quarter of the float32 bytes) and the normalisation runs there, with
    the same correctly rounded float32 steps in the same order, so the values equal the host's bit for bit
    (checked on the CPU for every pixel value in tests/geometry/test_crop_arrays.py). ``constants``:
    `crop_constants` of the tensor's device (made here when None).
    """
    import torch

    out = crops.to(torch.float32)
    mean, std = constants if constants is not None else crop_constants(out.device)
    out /= 255.0
    out -= mean
    out /= std
    out = out.permute(0, 3, 1, 2)
    return out if dtype is None else out.to(dtype)


def token_values(tokens, bins: int, seq_format: str = "xywh") -> np.ndarray:
    """Coordinate tokens → normalised ``cxcywh`` values, in numpy (the tracker's decoding, both backends).

    The same float32 arithmetic as `seqtrack.geometry.tokens.tokens_to_box` (``token / (bins - 1)``, then
    the format's reordering or corner averaging), which training keeps for tensors; the two are checked
    equal for every token of several vocabularies (tests/geometry/test_crop_arrays.py).

    Args:
        tokens: ``(..., 4)`` integer tokens in ``seq_format`` order (``xywh`` = centre, ``whxy``, ``corner``).
    Returns:
        ``(..., 4)`` float32 ``cxcywh`` in units of the crop side.
    """
    values = np.asarray(tokens).astype(np.float32) / np.float32(bins - 1)
    if seq_format == "xywh":
        return values
    if seq_format == "whxy":
        return values[..., [2, 3, 0, 1]]
    if seq_format != "corner":
        raise ValueError(f"unknown sequence format {seq_format!r}; expected one of xywh, whxy, corner")
    x1, y1, x2, y2 = np.moveaxis(values, -1, 0)
    half = np.float32(2)
    return np.stack([(x1 + x2) / half, (y1 + y2) / half, x2 - x1, y2 - y1], axis=-1)


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
