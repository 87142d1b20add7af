"""Training-sample processing (docs/official-behaviour.md §5.3, §5.2): augment, jitter, crop, normalise, make token
targets.

For one `PairSample` (T templates + 1 search frame, full frames as ``(H, W, 3)`` uint8 RGB and boxes
``xywh`` pixels), in the official order:

1. joint transform, ONE draw for all frames: grayscale (p = 0.05), horizontal flip (p = 0.5; box
   ``x1' = (W − 1) − x1 − w`` as officially);
2. box jitter per frame (search: centre 3.5, scale 0.5; templates: none);
3. crop around the jittered box through `seqtrack.geometry.crop.crop_square` (the tracker's own
   geometry), target box via `box_to_crop_normalized` (``xywh`` in units of ``S − 1``, unclamped);
4. per-crop transform, an INDEPENDENT draw per crop: brightness ``b ~ U(0.8, 1.2)`` (pixel·b clamped
   to 255), horizontal flip (p = 0.5; normalised box ``x1' = 1 − x1 − w``), ImageNet normalisation;
5. search box → tokens (`seqtrack.geometry.tokens.box_to_tokens`), decoder input ``[START, t1..t4]`` and
   target ``[t1..t4, END]``;
6. only for a model with temporal tokens (``temporal_frames`` K > 0, Tab. 5 of the paper): the target's boxes
   in the K frames before the search frame (`seqtrack.data.sampler.previous_boxes`) go through exactly the
   search box's geometry (joint flip, the search crop's offset and scale, the search crop's flip), then get
   a small random error (`history_noise`, after every other draw, so K = 0 draws nothing new), then become
   the ``4 K`` history tokens (`seqtrack.geometry.tokens.history_tokens`).

A sample whose jittered box has an empty crop is reported invalid (None) so that the caller resamples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from typing import TypedDict

import cv2
import numpy as np
import torch

from seqtrack.geometry.crop import CropError, box_to_crop_normalized, crop_side, crop_square, normalize_crops
from seqtrack.geometry.tokens import box_to_tokens, history_tokens, teacher_forcing_pair


@dataclass(frozen=True)
class ProcessingConfig:
    """Processing settings (SeqTrack-B256 values as defaults).

    Attributes:
        template_size, search_size: crop sides ``S`` in pixels.
        template_factor, search_factor: crop side / sqrt(box area) (4.0 for both in SeqTrack).
        template_center_jitter, template_scale_jitter: template box jitter (0, 0 officially).
        search_center_jitter, search_scale_jitter: search box jitter (3.5, 0.5).
        grayscale_prob: joint grayscale probability (0.05).
        joint_flip_prob: joint horizontal flip of the full frames (0.5).
        brightness_jitter: per-crop brightness factor ~ U(1 − j, 1 + j) (0.2).
        crop_flip_prob: per-crop horizontal flip (0.5).
        bins: coordinate bins of the vocabulary (4000); seq_format: token order (``"xywh"`` = centre).
        history_jitter: error given to the history boxes (`history_noise`), relative to the box size; 0 =
            the exact ground truth. Only used when a sample has history boxes.
    """

    template_size: int = 256
    search_size: int = 256
    template_factor: float = 4.0
    search_factor: float = 4.0
    template_center_jitter: float = 0.0
    template_scale_jitter: float = 0.0
    search_center_jitter: float = 3.5
    search_scale_jitter: float = 0.5
    grayscale_prob: float = 0.05
    joint_flip_prob: float = 0.5
    brightness_jitter: float = 0.2
    crop_flip_prob: float = 0.5
    bins: int = 4000
    seq_format: str = "xywh"
    history_jitter: float = 0.05


class _Sample(TypedDict):
    """The keys every `TrainingSample` has."""

    templates: torch.Tensor
    search: torch.Tensor
    seq_input: torch.Tensor
    seq_target: torch.Tensor
    search_box: torch.Tensor
    template_boxes: torch.Tensor


class TrainingSample(_Sample, total=False):
    """One processed sample (collates into a batch with the default DataLoader collate).

    Always: ``templates (T, 3, St, St)``, ``search (3, Ss, Ss)`` float32 ImageNet-normalised RGB;
    ``seq_input (5,)`` int64 ``[START, t1..t4]``; ``seq_target (5,)`` int64 ``[t1..t4, END]``;
    ``search_box (4,)`` float32 target ``xywh`` normalised by ``Ss − 1`` (after the crop flip, unclamped);
    ``template_boxes (T, 4)`` float32, same convention.

    Only when the sample was given K > 0 history boxes (a model with ``temporal_frames`` K):
        history: ``(4 K,)`` int64 tokens of the K previous boxes, oldest first, in the model's ``seq_format``.
        history_boxes: ``(K, 4)`` float32 the same boxes (with their noise) ``xywh`` normalised to the search
            crop like ``search_box``, unclamped.
    """

    history: torch.Tensor
    history_boxes: torch.Tensor


def flip_box_horizontal(box_xywh: np.ndarray, width: int) -> np.ndarray:
    """Box of a horizontally flipped frame: ``x1' = (W − 1) − x1 − w`` (official convention, which maps
    pixel indices ``u → W − 1 − u`` and so is one pixel left of the continuous mirror ``W − x1 − w``).

    Args/returns: ``(..., 4)`` ``xywh`` pixels.
    """
    box = np.array(box_xywh, dtype=np.float64, copy=True)
    box[..., 0] = (width - 1) - box[..., 0] - box[..., 2]
    return box


def joint_transform(
    frames: Seq[np.ndarray], boxes: np.ndarray, rng: np.random.Generator, grayscale_prob: float, flip_prob: float
) -> tuple[list[np.ndarray], np.ndarray]:
    """Grayscale then horizontal flip, ONE random draw shared by all frames (docs/official-behaviour.md §5.3 step 2).

    Args:
        frames: ``(H, W, 3)`` uint8 RGB frames (sizes may differ); boxes: ``(K, 4)`` ``xywh`` pixels.
    Returns:
        transformed frames (new arrays where changed) and ``(K, 4)`` boxes.
    """
    gray, flip = joint_draw(rng, grayscale_prob, flip_prob)
    return apply_joint(frames, boxes, gray, flip)


def joint_draw(rng: np.random.Generator, grayscale_prob: float, flip_prob: float) -> tuple[bool, bool]:
    """The joint transform's two draws, in the official order: ``(grayscale, flip)``."""
    gray = rng.random() < grayscale_prob
    flip = rng.random() < flip_prob
    return bool(gray), bool(flip)


def apply_joint(
    frames: Seq[np.ndarray], boxes: np.ndarray, gray: bool, flip: bool
) -> tuple[list[np.ndarray], np.ndarray]:
    """Apply drawn joint-transform decisions to ``(H, W, 3)`` uint8 RGB frames and their ``(K, 4)`` ``xywh``
    pixel boxes (box ``k`` belongs to frame ``k``)."""
    out_frames, out_boxes = [], np.array(boxes, dtype=np.float64, copy=True)
    for k, frame in enumerate(frames):
        if gray:
            frame = np.repeat(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
        if flip:
            frame = np.ascontiguousarray(frame[:, ::-1])
            out_boxes[k] = flip_box_horizontal(out_boxes[k], frame.shape[1])
        out_frames.append(frame)
    return out_frames, out_boxes


def jitter_box(box_xywh: np.ndarray, center_jitter: float, scale_jitter: float, rng: np.random.Generator) -> np.ndarray:
    """Official box jitter (docs/official-behaviour.md §5.3 step 3).

    ``size' = size · exp(N(0, 1) · scale_jitter)`` per dimension; ``max_offset = sqrt(w'·h') ·
    center_jitter``; ``centre' = centre + max_offset · (U[0, 1) − 0.5)`` per dimension. The random
    numbers are drawn even when the jitter is 0, so the stream of draws does not depend on settings.

    Returns:
        ``(4,)`` float64 jittered ``xywh`` pixels.
    """
    box = np.asarray(box_xywh, dtype=np.float64)
    size = box[2:] * np.exp(rng.standard_normal(2) * scale_jitter)
    max_offset = math.sqrt(max(float(size[0] * size[1]), 0.0)) * center_jitter
    centre = box[:2] + 0.5 * box[2:] + max_offset * (rng.random(2) - 0.5)
    return np.concatenate([centre - 0.5 * size, size])


def crop_is_valid(box_xywh: np.ndarray, factor: float) -> bool:
    """True when the crop around ``box_xywh`` has a side of at least one pixel."""
    try:
        crop_side(box_xywh, factor)
    except CropError:
        return False
    return True


def crop_transform(
    crop: np.ndarray, box_norm: np.ndarray, rng: np.random.Generator, brightness_jitter: float, flip_prob: float
) -> tuple[torch.Tensor, np.ndarray]:
    """Per-crop brightness and horizontal flip, then ImageNet normalisation (docs/official-behaviour.md §5.3 step 6).

    Args:
        crop: ``(S, S, 3)`` uint8 RGB; box_norm: ``(..., 4)`` ``xywh`` normalised by ``S − 1`` (the target, or
            the target and its history boxes: all follow the crop's one flip).
    Returns:
        ``((3, S, S) float32 normalised tensor, (..., 4) boxes)``; flipped box ``x1' = 1 − x1 − w``.
    """
    factor = rng.uniform(max(0.0, 1.0 - brightness_jitter), 1.0 + brightness_jitter)
    flip = rng.random() < flip_prob
    box = np.array(box_norm, dtype=np.float64, copy=True)
    if flip:
        crop = crop[:, ::-1]
        box[..., 0] = 1.0 - box[..., 0] - box[..., 2]
    # pixel·b/255 clamped to [0, 1] == min(pixel·b, 255)/255: normalize_crops does the /255 and mean/std.
    bright = np.minimum(crop.astype(np.float32) * np.float32(factor), np.float32(255.0))
    return normalize_crops(bright)[0], box


def sequence_targets(box_norm: np.ndarray, bins: int, seq_format: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoder input ``[START, t1..t4]`` and target ``[t1..t4, END]``, both ``(5,)`` int64, for a
    search box ``xywh`` normalised by ``S − 1`` (clamped to the crop by `box_to_tokens`)."""
    tokens = box_to_tokens(np.asarray(box_norm, dtype=np.float64)[None], bins=bins, seq_format=seq_format)
    seq_input, seq_target = teacher_forcing_pair(tokens, bins=bins)
    return seq_input[0], seq_target[0]


def history_noise(boxes_norm: np.ndarray, jitter: float, rng: np.random.Generator) -> np.ndarray:
    """The error given to training history boxes: at test time the history is the tracker's own output.

    Per box, independently: ``size' = size · exp(N(0, 1) · jitter)`` per dimension, ``centre' = centre +
    N(0, 1) · jitter · size`` per dimension (offsets relative to the box, so the error does not depend on
    the crop scale). One ``(K, 4)`` normal draw whatever ``jitter`` (0 leaves the boxes exact).

    Args:
        boxes_norm: ``(K, 4)`` ``xywh`` (top-left) normalised to the search crop.
    Returns:
        ``(K, 4)`` float64 boxes, same convention.
    """
    boxes = np.asarray(boxes_norm, dtype=np.float64).reshape(-1, 4)
    draws = rng.standard_normal((boxes.shape[0], 4))
    size = boxes[:, 2:] * np.exp(draws[:, 2:] * jitter)
    # The top-left corner moves by the centre shift less half the growth: exactly 0 when jitter is 0.
    corner = boxes[:, :2] + draws[:, :2] * jitter * boxes[:, 2:] - 0.5 * (size - boxes[:, 2:])
    return np.concatenate([corner, size], axis=1)


def process_pair(
    frames: Seq[np.ndarray],
    boxes: np.ndarray,
    config: ProcessingConfig,
    rng: np.random.Generator,
    history: np.ndarray | None = None,
) -> TrainingSample | None:
    """Turn T+1 full frames (templates first, search last) into network inputs and targets.

    Args:
        frames: T+1 ``(H, W, 3)`` uint8 RGB frames; boxes: ``(T+1, 4)`` ground truth ``xywh`` pixels.
        rng: the sample's generator (draw order: joint transform, jitter per frame, crop transform per crop,
            then the history noise when there is a history).
        history: None, or ``(K, 4)`` ``xywh`` pixel boxes of the target in the K frames before the search
            frame, oldest first, in the search frame's pixel coordinates (same camera). They take the search
            box's path exactly: joint flip, search crop offset and scale, search crop flip; then noise
            (`history_noise`, ``config.history_jitter``) and tokens (`history_tokens`).
    Returns:
        a `TrainingSample` (with ``history`` / ``history_boxes`` when ``history`` is given), or None when a
        jittered box gives an empty crop (resample).
    """
    gray, flip = joint_draw(rng, config.grayscale_prob, config.joint_flip_prob)
    frames, boxes = apply_joint(frames, boxes, gray, flip)
    if history is not None:
        history = np.asarray(history, dtype=np.float64).reshape(-1, 4)
        if flip:
            history = flip_box_horizontal(history, frames[-1].shape[1])
    last = len(frames) - 1
    crops, targets = [], []
    for k, (frame, box) in enumerate(zip(frames, boxes)):
        search = k == last
        jittered = jitter_box(
            box,
            config.search_center_jitter if search else config.template_center_jitter,
            config.search_scale_jitter if search else config.template_scale_jitter,
            rng,
        )
        factor = config.search_factor if search else config.template_factor
        size = config.search_size if search else config.template_size
        if not crop_is_valid(jittered, factor):
            return None
        crop, resize_factor = crop_square(frame, jittered, factor, size)
        crops.append(crop)
        target = box_to_crop_normalized(box, jittered, resize_factor, size)
        if search and history is not None:
            # Rows 1.. are the history: the crop transform flips them with the target.
            mapped = [box_to_crop_normalized(past, jittered, resize_factor, size) for past in history]
            target = np.stack([target, *mapped])
        targets.append(target)
    tensors, norm_boxes = [], []
    for crop, target in zip(crops, targets):
        tensor, target = crop_transform(crop, target, rng, config.brightness_jitter, config.crop_flip_prob)
        tensors.append(tensor)
        norm_boxes.append(target)
    past = None
    if history is not None:
        norm_boxes[-1], past = norm_boxes[-1][0], history_noise(norm_boxes[-1][1:], config.history_jitter, rng)
    seq_input, seq_target = sequence_targets(norm_boxes[-1], config.bins, config.seq_format)
    sample = TrainingSample(
        templates=torch.stack(tensors[:-1]),
        search=tensors[-1],
        seq_input=seq_input,
        seq_target=seq_target,
        search_box=torch.as_tensor(norm_boxes[-1], dtype=torch.float32),
        template_boxes=torch.as_tensor(np.stack(norm_boxes[:-1]), dtype=torch.float32),
    )
    if past is not None:
        sample["history"] = history_tokens(past[None], config.bins, config.seq_format)[0]
        sample["history_boxes"] = torch.as_tensor(past, dtype=torch.float32)
    return sample
