"""One synthetic sequence: plan the scene (`seqtrack.data.synthetic.scene`), render it, measure the ground truth.

Ground truth (box convention): the FULL extent of the target, occluded parts included, clipped to the
frame — the tight ``xywh`` box (pixel edges, integers) of the pixels where the target's rendered,
un-blurred alpha is ≥ 0.5 before anything is drawn over it; ``0,0,0,0`` when the target is entirely
outside the frame. ``absence`` = 1 when less than 1 % of the target's area is visible; ``cover`` is
`cover_level` of the visible fraction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from seqtrack.data.synthetic.fx import effects_stream, finish_frames
from seqtrack.data.synthetic.motion import line_kernel
from seqtrack.data.synthetic.photos import cutout_split, photo_label, photo_split
from seqtrack.data.synthetic.render import Layer, composite, layer_blur, layer_transform, occlude
from seqtrack.data.synthetic.scene import Scene, Sources, plan_scene
from seqtrack.data.synthetic.settings import SyntheticConfig
from seqtrack.data.synthetic.sources import SOURCE_SPLITS, SourcePool, split_stream


@dataclass
class SyntheticSequence:
    """One generated sequence, in memory.

    Attributes:
        name: sequence name; frames: N ``(H, W, 3)`` uint8 RGB frames.
        boxes: ``(N, 4)`` float64 ``xywh`` pixels (full target extent clipped to the frame; zeros when
            the target is entirely outside).
        absence: ``(N,)`` int64 0/1; cover: ``(N,)`` int64 0..8; visible_fraction: ``(N,)`` float64.
        meta: sources and settings (written to ``meta_info.ini``).
    """

    name: str
    frames: list[np.ndarray]
    boxes: np.ndarray
    absence: np.ndarray
    cover: np.ndarray
    visible_fraction: np.ndarray
    meta: dict[str, str] = field(default_factory=dict)


def sequence_name(split: str, index: int) -> str:
    """Folder name of sequence ``index`` of ``split``: ``Synthetic_<Split>_<index+1:06d>``."""
    return f"Synthetic_{split.capitalize()}_{index + 1:06d}"


def cover_level(fraction: float) -> int:
    """GOT-10k-style visibility level of a visible fraction ``f``: 0 for absent (< 1 %), then 1..7 for
    ``f`` in (0, 15 %], (15, 30], (30, 45], (45, 60], (60, 75], (75, 90], (90, 99.5), 8 from 99.5 %."""
    if fraction < 0.01:
        return 0
    if fraction >= 0.995:
        return 8
    return int(min(7, max(1, math.ceil(fraction / 0.15))))


def generate_sequence(
    index: int,
    num_frames: int = 100,
    size: tuple[int, int] = (240, 320),
    split: str = "train",
    seed: int = 0,
    config: SyntheticConfig = SyntheticConfig(),
) -> SyntheticSequence:
    """Generate sequence ``index`` of a split (a pure function of all arguments).

    Args:
        index: sequence number (sequence ``i`` is the same whatever the dataset size).
        num_frames: N frames (the sequence depends on N: events such as exits and crossings are placed
            relative to its length, so a 30-frame sequence is not the start of the 100-frame one).
        size: ``(H, W)`` of the frames.
        split: key of `SOURCE_SPLITS` (disjoint source images and random streams); with
            ``config.photos``, also the photo split (train and mixed: train photographs).
        seed: dataset seed.
        config: generator settings, realism effects included (`SyntheticConfig`).
    Returns:
        a `SyntheticSequence` (RGB frames, ``xywh`` boxes, absence, cover).
    """
    if split not in SOURCE_SPLITS:
        raise ValueError(f"unknown synthetic split {split!r}; expected one of {', '.join(SOURCE_SPLITS)}")
    if num_frames < 1:
        raise ValueError("num_frames must be at least 1")
    rng = np.random.default_rng([int(seed), split_stream(split), int(index)])
    effects = effects_stream(seed, split_stream(split), index) if config.effects_on else None
    scene = plan_scene(rng, num_frames, size, _sources(split, config), config, effects)
    frames, boxes, fractions = render_scene(scene, size)
    if scene.finish is not None:
        frames = finish_frames(frames, scene.finish)
    absence = (fractions < 0.01).astype(np.int64)
    cover = np.array([cover_level(f) for f in fractions], dtype=np.int64)
    height, width = size
    target = scene.target
    meta = {
        "object_class": f"synthetic {target.kind}",
        "motion_class": "static camera" if target.static_camera else "following camera",
        "target_source": photo_label(target.name),
        "background_source": photo_label(scene.background_name),
        "split": split,
        "seed": str(seed),
        "index": str(index),
        "distractors": str(scene.num_distractors),
        "occluders": str(len(scene.layers_above) + len(scene.layers_below) - scene.num_distractors),
        "exit_event": str(scene.exit_event),
        "motion_blur": str(scene.lighting.blur_on),
        "resolution": f"({width}, {height})",
    }
    if effects is not None:
        meta.update(_effects_meta(scene))
    return SyntheticSequence(sequence_name(split, index), frames, boxes, absence, cover, fractions, meta)


def _sources(split: str, config: SyntheticConfig) -> Sources:
    """The split's source list, with the split's share of ``config.photos`` when set."""
    if config.photos is None:
        return SOURCE_SPLITS[split]
    folder = str(config.photos)
    photos = photo_split(folder, split)
    return SourcePool(
        SOURCE_SPLITS[split], photos, config.photo_share, cutout_split(folder, split), config.cutout_share
    )


def _effects_meta(scene: Scene) -> dict[str, str]:
    """What the realism effects did to this sequence (for ``meta_info.ini``)."""
    finish = scene.finish
    quality = finish.jpeg_quality if finish is not None else None
    return {
        "large_target": str(scene.large),
        "tilt": str(scene.target.layer.tilt is not None),
        "rolling_shutter": f"{scene.frame_warp.readout:.3f}" if scene.frame_warp is not None else "0",
        "white_balance_drift": str(scene.lighting.balance is not None),
        "jpeg_quality": f"{quality.min()}-{quality.max()}" if quality is not None else "none",
        "h264_crf": str(finish.h264_crf) if finish is not None and finish.h264_crf is not None else "none",
    }


def render_scene(scene: Scene, size: tuple[int, int]) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Frames ``(H, W, 3)`` uint8 RGB, target boxes ``(n, 4)`` ``xywh`` and visible fractions ``(n,)``.

    Frame 0 shows the whole target: the scene plan puts no exit and no occluder over it at t = 0, and the
    target starts at the camera centre at a size that fits.
    """
    height, width = size
    n = len(scene.camera)
    centre = np.array([(width - 1) / 2, (height - 1) / 2])
    xs = (np.arange(width, dtype=np.float32) - centre[0]) / width
    ys = (np.arange(height, dtype=np.float32) - centre[1]) / height
    frames: list[np.ndarray] = []
    boxes = np.zeros((n, 4))
    fractions = np.zeros(n)
    for t in range(n):
        zoom = math.exp(scene.log_zoom[t])
        frame = _background_frame(scene, t, zoom, centre, width, height)
        _draw_objects(frame, scene, t, zoom, centre, boxes, fractions)
        frames.append(_expose(frame, scene, t, xs, ys))
    return frames, boxes, fractions


def _background_frame(scene: Scene, t: int, zoom: float, centre: np.ndarray, width: int, height: int) -> np.ndarray:
    """The camera's view of the background at frame ``t`` (blurred by the camera's motion), float32."""
    cam = scene.camera
    cam_t = cam[t]
    bg_affine = np.array([[zoom, 0, centre[0] - zoom * cam_t[0]], [0, zoom, centre[1] - zoom * cam_t[1]]])
    if scene.frame_warp is not None:  # the background moves at minus the camera's velocity
        velocity = -zoom * (cam[t] - cam[t - 1]) if t else np.zeros(2)
        bg_affine = (scene.frame_warp.matrix(t, velocity) @ np.vstack([bg_affine, [0.0, 0.0, 1.0]]))[:2]
    bg = cv2.warpAffine(
        scene.background, bg_affine, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    cam_velocity = zoom * (cam[t] - cam[t - 1]) if t else np.zeros(2)
    if scene.lighting.blur_on:
        kernel = line_kernel(*(scene.lighting.exposure * cam_velocity))
        if kernel is not None:
            bg = cv2.filter2D(bg, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
    return bg.astype(np.float32)


def _draw_objects(
    frame: np.ndarray, scene: Scene, t: int, zoom: float, centre: np.ndarray, boxes: np.ndarray, fractions: np.ndarray
) -> None:
    """Draw the layers below the target, the target, then the layers above it onto ``frame``; write the
    target's box into ``boxes[t]`` and its visible fraction into ``fractions[t]`` (both stay 0 when it is
    outside the frame)."""
    cam, lighting = scene.camera, scene.lighting

    def draw(layer: Layer, whole: bool = False) -> tuple[int, int, np.ndarray, float] | None:
        affine = layer_transform(layer, t, cam, zoom, centre, scene.frame_warp)
        blur = layer_blur(layer, t, cam, zoom, lighting.blur_on, lighting.exposure)
        return composite(frame, layer, affine, blur, float(layer.gain[t]), whole=whole)

    for layer in scene.layers_below:
        draw(layer)
    drawn = draw(scene.target.layer, whole=True)
    visible = None
    if drawn is not None:
        tx0, ty0, t_alpha, mass = drawn
        visible = t_alpha.copy()
    for layer in scene.layers_above:
        hit = draw(layer)
        if hit is not None and visible is not None:
            occlude(visible, tx0, ty0, *hit[:3])
    if visible is not None and mass > 0:
        fractions[t] = min(1.0, float(visible.sum()) / mass)
        rows = np.flatnonzero((t_alpha >= 0.5).any(axis=1))
        cols = np.flatnonzero((t_alpha >= 0.5).any(axis=0))
        if rows.size:
            boxes[t] = (tx0 + cols[0], ty0 + rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1)


def _expose(frame: np.ndarray, scene: Scene, t: int, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Apply frame ``t``'s illumination (gain times light ramp) and sensor noise; clip to uint8.

    ``xs`` ``(W,)``, ``ys`` ``(H,)``: float32 pixel offsets from the frame centre, per frame width / height.
    """
    lighting = scene.lighting
    height, width = frame.shape[:2]
    grad = lighting.gradient
    ramp = 1.0 + np.float32(grad[t, 1]) * ys[:, None] + np.float32(grad[t, 0]) * xs[None, :]
    gain = np.float32(math.exp(lighting.log_gain[t])) * ramp
    if lighting.balance is None:
        frame *= gain[:, :, None]
    else:
        frame *= gain[:, :, None]
        frame *= np.exp(lighting.balance[t]).astype(np.float32)
    if lighting.noise is not None:
        oy, ox = lighting.noise_offsets[t]
        frame += lighting.noise[oy : oy + height, ox : ox + width]
    np.clip(frame, 0, 255, out=frame)
    return frame.astype(np.uint8)
