"""Semi-real tracking sequences built from the photographs that scikit-image ships in its wheel.

Each sequence: a textured target (a region of a real image under a smooth random alpha shape: blob,
ellipse, polygon, or a colour segment that follows the image's own edges) moving over a real
background seen through a moving camera (pan that follows the target with a lag, zoom, slight shake).
The target changes scale, rotation and aspect ratio smoothly; the scene has global illumination
drift and a light gradient, the target its own shading change; motion blur follows the target's and
the camera's speed; distractors cut from the SAME image (same shape family) wander near the target,
some of them in front of it; other cut-outs cross in front of it or stand still as pillars (partial
and full occlusion); in some sequences the camera loses the target, which leaves the view and comes
back. All motion is integrated from smooth, noisy velocities (no teleporting).

Ground truth (box convention): the FULL extent of the target, occluded parts included, clipped to the
frame — the tight ``xywh`` box (pixel edges, integers) of the pixels where the target's rendered,
un-blurred alpha is ≥ 0.5 before anything is drawn over it; ``0,0,0,0`` when the target is entirely
outside the frame. ``absence`` = 1 when less than 1 % of the target's area is visible (outside the
frame or hidden); ``cover`` = GOT-10k-style visibility level of the visible fraction ``f``: 0 for
absent, then 1..7 for ``f`` in (0, 15 %], (15, 30], (30, 45], (45, 60], (60, 75], (75, 90], (90, 99.5),
and 8 for fully visible. Frame 0 always shows the whole target unoccluded.

Written in the GOT-10k layout (``list.txt``, ``<seq>/00000001.jpg``, ``groundtruth.txt``,
``absence.label``, ``cover.label``, ``meta_info.ini``), so `seqtrack.data.got10k` reads it.
Everything is a pure function of (seed, split, sequence index, settings); train and test use disjoint
source images (`SOURCE_SPLITS`) and independent random streams.

Command line: ``python -m seqtrack.data.synthetic ROOT --sequences 100 --frames 100 --split train``.
Speed (measured, one thread, generation + JPEG + disk, 320×240): about 200–240 frames/s.
"""

from __future__ import annotations

import math
import os
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from seqtrack.data import procedural
from seqtrack.data.got10k import Got10kTrain
from seqtrack.errors import DatasetError

# Images that are files inside the scikit-image wheel (never the ones its data module downloads).
SKIMAGE_FILES: dict[str, str] = {
    "astronaut": "astronaut.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "rocket": "rocket.jpg",
    "motorcycle_left": "motorcycle_left.png",
    "brick": "brick.png",
    "grass": "grass.png",
    "moon": "moon.png",
    "retina": "retina.jpg",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "immunohistochemistry": "ihc.png",
    "camera": "camera.png",
    "coins": "coins.png",
    "gravel": "gravel.png",
    "cell": "cell.png",
    "colorwheel": "color.png",
    "clock_motion": "clock_motion.png",
    "logo": "logo.png",
    "text": "text.png",
    "page": "page.png",
}

# A source entry that draws a fresh procedural dead-leaves collage (`seqtrack.data.procedural`) each time
# it is picked, seeded from the sequence's random stream: unlimited look-alike-rich textures.
PROCEDURAL = "leaves-*"

# Disjoint source images per split (motorcycle_right is left out: it is motorcycle_left's stereo twin).
# To use other images, add a split: ``SOURCE_SPLITS["mine"] = ("coffee", "brick")`` (names of SKIMAGE_FILES).
_TRAIN_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "brick", "grass", "moon")
SOURCE_SPLITS: dict[str, tuple[str, ...]] = {
    "train": _TRAIN_PHOTOS,
    "test": ("retina", "hubble_deep_field", "immunohistochemistry", "camera", "coins", "gravel", "cell", "colorwheel"),
    # For model selection: images in neither train nor test.
    "val": ("clock_motion", "logo", "text", "page"),
    # The train photographs, and in half the draws a procedural collage (the demo model's stage 3).
    "mixed": _TRAIN_PHOTOS + (PROCEDURAL,) * len(_TRAIN_PHOTOS),
}


def _split_stream(split: str) -> int:
    """Random-stream id of a split: different splits draw independent sequences even with one seed."""
    return zlib.crc32(split.encode("utf-8"))

SHAPE_KINDS = ("blob", "ellipse", "polygon", "segment")


@dataclass(frozen=True)
class SyntheticConfig:
    """Generator settings (defaults give varied, moderately hard sequences).

    Attributes:
        target_size: range of the target's initial sqrt(area) as a fraction of min(H, W) (log-uniform).
        speed: range of the target's typical speed, in target sizes per frame.
        max_distractors: up to this many look-alike cut-outs from the target's image.
        occluder_prob: probability of each of (a crossing occluder, a static pillar).
        exit_prob: probability that the camera loses the target for a while (it leaves the view).
        static_camera_prob: probability of a fixed camera (the target may leave the view by itself).
        blur_prob: probability that a sequence has motion blur.
        noise_sigma: range of the sensor-noise standard deviation (grey levels).
        jpeg_quality: JPEG quality of the written frames.
    """

    target_size: tuple[float, float] = (0.1, 0.42)
    speed: tuple[float, float] = (0.01, 0.12)
    max_distractors: int = 3
    occluder_prob: float = 0.5
    exit_prob: float = 0.3
    static_camera_prob: float = 0.15
    blur_prob: float = 0.5
    noise_sigma: tuple[float, float] = (0.0, 4.0)
    jpeg_quality: int = 90


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


# ----------------------------------------------------------------------------- sources and sprites
def _draw_source(rng: np.random.Generator, sources: tuple[str, ...]) -> str:
    """Pick a source image name; `PROCEDURAL` becomes ``leaves-<k>`` with ``k`` from ``rng``."""
    name = sources[int(rng.integers(len(sources)))]
    if name == PROCEDURAL:
        name = f"{procedural.PREFIX}{int(rng.integers(1_000_000))}"
    return name


@lru_cache(maxsize=16)
def _procedural_source(name: str) -> np.ndarray:
    image = procedural.dead_leaves_image(int(name[len(procedural.PREFIX):]))
    image.setflags(write=False)
    return image


def load_source_image(name: str) -> np.ndarray:
    """A source image as ``(H, W, 3)`` uint8 RGB, read-only: a scikit-image photograph (grey images
    replicated) or ``leaves-<k>``, procedural collage ``k``. Photographs stay cached; collages, the last 16."""
    if name.startswith(procedural.PREFIX) and name[len(procedural.PREFIX):].isdigit():
        return _procedural_source(name)
    return _photograph(name)


@lru_cache(maxsize=None)
def _photograph(name: str) -> np.ndarray:
    if name not in SKIMAGE_FILES:
        raise ValueError(f"unknown source image {name!r}; known: {', '.join(SKIMAGE_FILES)}")
    path = resources.files("skimage.data").joinpath(SKIMAGE_FILES[name])
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"missing scikit-image data file: expected {path} (is scikit-image installed?)")
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    image.setflags(write=False)
    return image


def _tinted(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Grey sources get a random colour tint so textures are not all grey; colour ones are kept."""
    if np.array_equal(image[::17, ::17, 0], image[::17, ::17, 1]):
        tint = rng.uniform(0.55, 1.15, size=3).astype(np.float32)
        return np.clip(image.astype(np.float32) * tint, 0, 255).astype(np.uint8)
    return image


def smooth_alpha(rng: np.random.Generator, height: int, width: int, kind: str, patch: np.ndarray | None = None) -> np.ndarray:
    """A random object shape as a soft ``(height, width)`` float32 alpha in [0, 1] (anti-aliased edge).

    Kinds: ``"blob"`` (smooth radial Fourier outline), ``"ellipse"``, ``"polygon"`` (3–8 corners),
    ``"segment"`` (the colour region of ``patch`` around its centre, smoothed; falls back to a blob
    when that region is too small or too large). The shape fills most of the box, 2 px margin.
    """
    ss = 4  # supersampling for the anti-aliased edge
    cy, cx = (height - 1) / 2, (width - 1) / 2
    ry, rx = (height - 4) / 2, (width - 4) / 2
    if kind == "segment" and patch is not None:
        mask = _segment_mask(rng, patch)
        if mask is not None:
            return mask
        kind = "blob"
    canvas = np.zeros((height * ss, width * ss), dtype=np.uint8)
    if kind == "ellipse":
        points = _outline(np.ones(64), rx, ry, cx, cy, 0.0)
    else:
        count = 96 if kind == "blob" else int(rng.integers(3, 9))
        if kind == "polygon":
            angles = np.sort(rng.uniform(0, 2 * np.pi, count))
        else:
            angles = np.linspace(0, 2 * np.pi, count, endpoint=False)
        if kind == "blob":
            radius = np.ones(count)
            for k in range(1, 5):  # decaying harmonics: smooth, organic outlines
                radius += rng.normal(0, 0.22 / k) * np.cos(k * angles + rng.uniform(0, 2 * np.pi))
        else:
            radius = rng.uniform(0.75, 1.0, count)
        points = np.stack([np.cos(angles) * radius, np.sin(angles) * radius], axis=1)
        # Centre and stretch the outline to span the box exactly: the sprite box is the object's extent.
        low, high = points.min(axis=0), points.max(axis=0)
        points = (points - (low + high) / 2) / np.maximum((high - low) / 2, 1e-9)
        points = points * [rx, ry] + [cx, cy]
    pts = np.round((points + 0.5) * ss - 0.5).astype(np.int32)
    cv2.fillPoly(canvas, [pts], 255, lineType=cv2.LINE_8)
    return cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def _outline(radius: np.ndarray, rx: float, ry: float, cx: float, cy: float, phase: float) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, radius.size, endpoint=False) + phase
    return np.stack([cx + rx * radius * np.cos(angles), cy + ry * radius * np.sin(angles)], axis=1)


def _segment_mask(rng: np.random.Generator, patch: np.ndarray) -> np.ndarray | None:
    """Region of similar colour around the patch centre (flood fill), smoothed; None if implausible."""
    height, width = patch.shape[:2]
    small = cv2.GaussianBlur(patch, (5, 5), 0)
    mask = np.zeros((height + 2, width + 2), dtype=np.uint8)
    tol = int(rng.integers(12, 40))
    seed_point = (width // 2, height // 2)
    cv2.floodFill(small.copy(), mask, seed_point, (0, 0, 0), (tol,) * 3, (tol,) * 3,
                  4 | cv2.FLOODFILL_MASK_ONLY | (255 << 8))
    region = mask[1:-1, 1:-1]
    region = cv2.morphologyEx(region, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    region[:2], region[-2:], region[:, :2], region[:, -2:] = 0, 0, 0, 0
    fraction = region.mean() / 255.0
    if not 0.25 < fraction < 0.85:
        return None
    alpha = cv2.GaussianBlur(region.astype(np.float32) / 255.0, (3, 3), 0)
    return alpha


@dataclass
class Sprite:
    """A cut-out: ``premult`` ``(h, w, 4)`` float32 = (rgb·alpha in 0..255, alpha in 0..1); ``area`` =
    sum of alpha (sprite pixels); ``radius`` = half diagonal (sprite pixels)."""

    premult: np.ndarray
    area: float
    radius: float


def cut_sprite(rng: np.random.Generator, image: np.ndarray, kind: str, side: int, aspect: float,
               near: tuple[int, int] | None = None) -> Sprite:
    """Cut a ``side``-ish sprite of shape ``kind`` from ``image`` (optionally near source pixel ``near``)."""
    img_h, img_w = image.shape[:2]
    # Region size in the source (resampled to ~side px): a random zoom into the photograph.
    region = int(np.clip(rng.uniform(0.12, 0.45) * min(img_h, img_w), 24, min(img_h, img_w) - 2))
    rh = int(np.clip(region / math.sqrt(aspect), 16, img_h - 2))
    rw = int(np.clip(region * math.sqrt(aspect), 16, img_w - 2))
    if near is None:
        y0, x0 = int(rng.integers(0, img_h - rh)), int(rng.integers(0, img_w - rw))
    else:
        y0 = int(np.clip(near[1] + rng.integers(-rh, rh + 1) // 2, 0, img_h - rh - 1))
        x0 = int(np.clip(near[0] + rng.integers(-rw, rw + 1) // 2, 0, img_w - rw - 1))
    patch = image[y0 : y0 + rh, x0 : x0 + rw]
    scale = side / math.sqrt(rh * rw)
    out_h, out_w = max(12, round(rh * scale)), max(12, round(rw * scale))
    patch = cv2.resize(patch, (out_w, out_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    alpha = smooth_alpha(rng, out_h, out_w, kind, patch)
    premult = np.empty((out_h, out_w, 4), dtype=np.float32)
    premult[..., :3] = patch.astype(np.float32) * alpha[..., None]
    premult[..., 3] = alpha
    return Sprite(premult, float(alpha.sum()), 0.5 * math.hypot(out_h, out_w))


# ----------------------------------------------------------------------------- motion
def _smooth_walk(rng: np.random.Generator, n: int, sigma: float, damping: float = 0.9, limit: float | None = None) -> np.ndarray:
    """Integrated AR(1) velocity: a smooth random walk of length ``n`` starting at 0 (reflects at ±limit)."""
    value, velocity = 0.0, 0.0
    out = np.empty(n)
    noise = rng.normal(0, sigma, n)
    for t in range(n):
        out[t] = value
        velocity = damping * velocity + noise[t]
        value += velocity
        if limit is not None and abs(value) > limit:
            value = math.copysign(limit, value)
            velocity = -velocity
    return out


def _trajectory(rng: np.random.Generator, n: int, start: np.ndarray, speed: float, bounds: np.ndarray,
                attract_to: np.ndarray | None = None) -> np.ndarray:
    """World positions ``(n, 2)``: velocity relaxes towards a randomly wandering intended velocity.

    ``bounds`` = (x0, y0, x1, y1): the intended velocity turns back towards the inside when outside.
    ``attract_to``: optional ``(n, 2)`` path the object is loosely attracted to (distractors).
    """
    pos = np.empty((n, 2))
    p = np.array(start, dtype=np.float64)
    angle = rng.uniform(0, 2 * np.pi)
    intent = speed * rng.uniform(0.3, 1.5) * np.array([math.cos(angle), math.sin(angle)])
    velocity = intent.copy()
    kicks = rng.normal(0, 0.18 * speed, (n, 2))
    jitter = rng.normal(0, 0.04 * speed, (n, 2))
    centre = 0.5 * (bounds[:2] + bounds[2:])
    for t in range(n):
        pos[t] = p
        intent += kicks[t]
        if attract_to is not None:
            intent += 0.004 * (attract_to[t] - p)
        outside = (p < bounds[:2]) | (p > bounds[2:])
        if outside.any():
            intent[outside] += 0.15 * speed * np.sign(centre - p)[outside]
        norm = np.linalg.norm(intent)
        if norm > 2.5 * speed:
            intent *= 2.5 * speed / norm
        velocity = 0.85 * velocity + 0.15 * intent + jitter[t]
        p = p + velocity
    return pos


def _bump(n: int, start: int, length: int) -> np.ndarray:
    """Smooth 0 → 1 → 0 profile (sin²) over ``[start, start + length)``, zero elsewhere."""
    out = np.zeros(n)
    t = np.arange(n)
    inside = (t >= start) & (t < start + length)
    out[inside] = np.sin(np.pi * (t[inside] - start) / length) ** 2
    return out


def _follow(target: np.ndarray, start: np.ndarray, stiffness: float, half_view: float) -> np.ndarray:
    """Camera centre ``(n, 2)`` following ``target`` like an operator: a critically damped spring (lag,
    no overshoot) that stiffens when the goal drifts past a quarter of the view from the centre."""
    n = len(target)
    cam = np.empty((n, 2))
    c, v = np.array(start, dtype=np.float64), np.zeros(2)
    for t in range(n):
        cam[t] = c
        offset = target[t] - c
        urgency = max(0.0, float(np.linalg.norm(offset)) / half_view - 0.25)
        k = min(0.25, stiffness * (1.0 + 4.0 * urgency))
        v = v + k * offset - 2 * math.sqrt(k) * v
        c = c + v
    return cam


def _line_kernel(dx: float, dy: float) -> np.ndarray | None:
    """Normalised motion-blur kernel along (dx, dy) pixels, or None when shorter than 1.5 px."""
    length = math.hypot(dx, dy)
    if length < 1.5:
        return None
    half = int(math.ceil(length / 2))
    size = 2 * half + 1
    kernel = np.zeros((size, size), dtype=np.float32)
    steps = np.linspace(-0.5, 0.5, int(math.ceil(length)) * 2 + 1)
    rows = np.rint(half + steps * dy).astype(np.intp)
    cols = np.rint(half + steps * dx).astype(np.intp)
    np.add.at(kernel, (rows, cols), 1.0)
    return kernel / kernel.sum()


# ----------------------------------------------------------------------------- rendering
@dataclass
class _Layer:
    sprite: Sprite
    pos: np.ndarray  # (n, 2) world centre
    log_scale: np.ndarray  # (n,) world px per sprite px (log)
    angle: np.ndarray  # (n,) radians
    log_aspect: np.ndarray  # (n,)
    gain: np.ndarray  # (n,) shading factor
    is_target: bool = False


def _object_affine(layer: _Layer, t: int, cam: np.ndarray, zoom: float, centre: np.ndarray) -> np.ndarray:
    """2×3 affine: sprite pixel → frame pixel at time ``t`` (pixel centres at integer coordinates)."""
    s = math.exp(layer.log_scale[t]) * zoom
    a = math.exp(layer.log_aspect[t] / 2)
    c, si = math.cos(layer.angle[t]), math.sin(layer.angle[t])
    linear = np.array([[c * s * a, -si * s / a], [si * s * a, c * s / a]])
    h, w = layer.sprite.premult.shape[:2]
    sprite_centre = np.array([(w - 1) / 2, (h - 1) / 2])
    offset = zoom * (layer.pos[t] - cam) + centre - linear @ sprite_centre
    return np.concatenate([linear, offset[:, None]], axis=1)


def _render(frame: np.ndarray, layer: _Layer, affine: np.ndarray, blur: np.ndarray | None, gain: float,
            whole: bool = False):
    """Composite a sprite onto the float32 frame.

    Returns ``(x0, y0, alpha, mass)``: its un-blurred alpha in the frame-clipped ROI starting at
    ``(x0, y0)``, and ``mass`` = the alpha sum of the WHOLE rendered sprite, inside the frame or not
    (computed only when ``whole``; the visible fraction is measured against it, so rasterisation
    makes a fully visible target exactly 1). None when the sprite is entirely outside the frame.
    """
    height, width = frame.shape[:2]
    h, w = layer.sprite.premult.shape[:2]
    corners = np.array([[-0.5, -0.5, 1], [w - 0.5, -0.5, 1], [-0.5, h - 0.5, 1], [w - 0.5, h - 0.5, 1]])
    mapped = corners @ affine.T
    pad = 0 if blur is None else blur.shape[0] // 2 + 1
    # Unclipped ROI (u0, v0, u1, v1), then its part inside the frame (x0, y0, x1, y1).
    u0, v0 = int(math.floor(mapped[:, 0].min())) - pad, int(math.floor(mapped[:, 1].min())) - pad
    u1, v1 = int(math.ceil(mapped[:, 0].max())) + 1 + pad, int(math.ceil(mapped[:, 1].max())) + 1 + pad
    x0, y0, x1, y1 = max(0, u0), max(0, v0), min(width, u1), min(height, v1)
    if x1 <= x0 or y1 <= y0:
        return None
    if not whole:
        u0, v0, u1, v1 = x0, y0, x1, y1
    local = affine.copy()
    local[:, 2] -= (u0, v0)
    warped = cv2.warpAffine(layer.sprite.premult, local, (u1 - u0, v1 - v0), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    mass = float(warped[..., 3].sum()) if whole else 0.0
    warped = warped[y0 - v0 : y1 - v0, x0 - u0 : x1 - u0]
    alpha = warped[..., 3].copy()
    if blur is not None:
        warped = cv2.filter2D(warped, -1, blur, borderType=cv2.BORDER_CONSTANT)
    if gain != 1.0:
        warped[..., :3] *= gain
    region = frame[y0:y1, x0:x1]
    region *= 1.0 - warped[..., 3:4]
    region += warped[..., :3]
    return x0, y0, alpha, mass


def cover_level(fraction: float) -> int:
    """GOT-10k-style visibility level 0..8 of a visible fraction (see module docstring)."""
    if fraction < 0.01:
        return 0
    if fraction >= 0.995:
        return 8
    return int(min(7, max(1, math.ceil(fraction / 0.15))))


def generate_sequence(index: int, num_frames: int = 100, size: tuple[int, int] = (240, 320), split: str = "train",
                      seed: int = 0, config: SyntheticConfig = SyntheticConfig()) -> SyntheticSequence:
    """Generate sequence ``index`` of a split (a pure function of all arguments).

    Args:
        index: sequence number (sequence ``i`` is the same whatever the dataset size).
        num_frames: N frames (the sequence depends on N: events such as exits and crossings are placed
            relative to its length, so a 30-frame sequence is not the start of the 100-frame one).
        size: ``(H, W)`` of the frames.
        split: key of `SOURCE_SPLITS` (disjoint source images and random streams).
        seed: dataset seed.
    Returns:
        a `SyntheticSequence` (RGB frames, ``xywh`` boxes, absence, cover).
    """
    if split not in SOURCE_SPLITS:
        raise ValueError(f"unknown synthetic split {split!r}; expected one of {', '.join(SOURCE_SPLITS)}")
    if num_frames < 1:
        raise ValueError("num_frames must be at least 1")
    height, width = size
    rng = np.random.default_rng([int(seed), _split_stream(split), int(index)])
    sources = SOURCE_SPLITS[split]
    n = num_frames
    short = min(height, width)
    centre = np.array([(width - 1) / 2, (height - 1) / 2])

    # Background: a real photograph scaled so that the camera can pan over it.
    bg_name = _draw_source(rng, sources)
    bg_src = _tinted(load_source_image(bg_name), rng)
    # About twice the frame: enough room to pan without upscaling small photographs into mush; the
    # camera may look past the edge, where the photograph is mirrored (BORDER_REFLECT_101).
    bg_scale = rng.uniform(1.0, 1.4) * max(1.8 * width / bg_src.shape[1], 1.8 * height / bg_src.shape[0])
    background = cv2.resize(bg_src, None, fx=bg_scale, fy=bg_scale, interpolation=cv2.INTER_LINEAR)
    world = np.array([background.shape[1], background.shape[0]], dtype=np.float64)

    # Target appearance: a cut-out of another photograph.
    obj_name = _draw_source(rng, sources)
    obj_src = _tinted(load_source_image(obj_name), rng)
    kind = SHAPE_KINDS[int(rng.integers(len(SHAPE_KINDS)))]
    aspect = math.exp(rng.uniform(-0.8, 0.8))
    target_px = short * math.exp(rng.uniform(*np.log(config.target_size)))
    # Sprite resolution close to its size on screen, so textures and edges stay sharp.
    sprite_side = int(np.clip(target_px * rng.uniform(0.9, 1.4), 20, 256))
    near = (int(rng.integers(obj_src.shape[1])), int(rng.integers(obj_src.shape[0])))
    target_sprite = cut_sprite(rng, obj_src, kind, sprite_side, aspect, near)

    # Target motion (world px; the camera starts at zoom 1, centred on the target).
    log_s0 = math.log(target_px / math.sqrt(target_sprite.area))
    sprite_h, sprite_w = target_sprite.premult.shape[:2]
    fit = min(0.85 * width / (sprite_w * math.exp(log_s0)), 0.85 * height / (sprite_h * math.exp(log_s0)))
    if fit < 1:  # frame 0 shows the whole target
        log_s0 += math.log(fit)
        target_px *= fit
    speed = target_px * rng.uniform(*config.speed)
    static_camera = rng.random() < config.static_camera_prob
    start = world / 2 + rng.uniform(-0.2, 0.2, 2) * world
    viewport = np.array([width, height], dtype=np.float64)
    if static_camera:
        # The target roams the view, sometimes crossing its edge and coming back.
        bounds = np.concatenate([start - 0.3 * viewport, start + 0.3 * viewport])
    else:
        bounds = np.concatenate([0.15 * world, 0.85 * world])
    target_pos = _trajectory(rng, n, start, speed, bounds)
    scale_range = math.log(min(1.8, 0.75 * short / target_px))
    log_scale = log_s0 + _smooth_walk(rng, n, rng.uniform(0.001, 0.008), 0.92, limit=max(scale_range, 0.05))
    rotating = rng.random() < 0.5
    angle = _smooth_walk(rng, n, rng.uniform(0.002, 0.015) if rotating else 0.0, 0.9)
    log_aspect = rng.uniform(0, 0.15) * np.sin(2 * np.pi * np.arange(n) / rng.uniform(30, 120) + rng.uniform(0, 6.3))
    shade = np.exp(rng.uniform(0, 0.2) * np.sin(2 * np.pi * np.arange(n) / rng.uniform(20, 80) + rng.uniform(0, 6.3)))
    layers_below: list[_Layer] = []
    layers_above: list[_Layer] = []
    target = _Layer(target_sprite, target_pos, log_scale, angle, log_aspect, shade, is_target=True)
    r_target = target_sprite.radius * math.exp(log_s0)

    # Camera: follows the target (spring with lag); may lose it for a while; zoom drift; slight shake.
    camera_goal = target_pos.copy()
    exit_event = False
    if static_camera:
        cam = np.repeat(start[None], n, axis=0)
    else:
        if n >= 40 and rng.random() < config.exit_prob:
            # long enough for a plausible pan away and back (no whip pans)
            length = int(rng.integers(max(15, min(30, n // 3)), max(16, min(70, n // 2)) + 1))
            begin = int(rng.integers(5, n - length))
            direction = rng.normal(size=2)
            direction /= np.linalg.norm(direction)
            reach = 0.5 * np.abs(direction) @ viewport + 2.5 * r_target
            camera_goal = camera_goal + np.outer(_bump(n, begin, length), direction * reach * 1.3)
            exit_event = True
        cam = _follow(camera_goal, start, rng.uniform(0.03, 0.2), 0.5 * min(width, height))
    cam = cam + _smooth_walk(rng, n, rng.uniform(0, 0.3), 0.5)[:, None] * np.array([1.0, 0.7])
    log_zoom = _smooth_walk(rng, n, rng.uniform(0.0, 0.004), 0.95, limit=0.3)

    # Distractors: same photograph, same shape family, near the target, loosely following it.
    num_distractors = int(rng.integers(0, config.max_distractors + 1))
    for _ in range(num_distractors):
        side = int(sprite_side * rng.uniform(0.8, 1.2))
        sprite = cut_sprite(rng, obj_src, kind, side, aspect * math.exp(rng.uniform(-0.2, 0.2)), near)
        ls = log_s0 + rng.uniform(-0.25, 0.25)
        r = sprite.radius * math.exp(ls)
        above = rng.random() < 0.3
        angle0 = rng.uniform(0, 2 * np.pi)
        distance = (r_target + r) * rng.uniform(1.1, 2.5)
        pos0 = start + distance * np.array([math.cos(angle0), math.sin(angle0)])
        pos = _trajectory(rng, n, pos0, speed * rng.uniform(0.5, 1.5), bounds, attract_to=target_pos)
        layer = _Layer(sprite, pos, ls + _smooth_walk(rng, n, 0.004, 0.9, limit=0.4),
                       _smooth_walk(rng, n, rng.uniform(0, 0.01), 0.9), np.zeros(n), np.ones(n))
        (layers_above if above else layers_below).append(layer)

    # Occluders from other photographs: one crossing in front of the target, one static pillar.
    if n >= 20 and rng.random() < config.occluder_prob:
        other = _tinted(load_source_image(_draw_source(rng, sources)), rng)
        sprite = cut_sprite(rng, other, SHAPE_KINDS[int(rng.integers(3))], sprite_side, math.exp(rng.uniform(-0.7, 0.7)))
        ls = log_s0 + rng.uniform(-0.1, 0.5)
        r = sprite.radius * math.exp(ls)
        t_cross = int(rng.integers(max(10, n // 6), n))
        v_dir = rng.normal(size=2)
        v_dir /= np.linalg.norm(v_dir)
        o_speed = max(speed * rng.uniform(0.5, 2.0), 1.5 * (r_target + r) / t_cross)
        perp = np.array([-v_dir[1], v_dir[0]]) * rng.uniform(-0.7, 0.7) * (r_target + r)
        times = np.arange(n) - t_cross
        for _ in range(8):  # never over the target in frame 0: speed up until it starts clear of it
            pos = target_pos[t_cross] + perp + times[:, None] * v_dir * o_speed
            if np.linalg.norm(pos[0] - start) > 1.05 * (r_target + r):
                layers_above.append(_Layer(sprite, pos, np.full(n, ls), np.full(n, rng.uniform(0, 6.3)),
                                           np.zeros(n), np.ones(n)))
                break
            o_speed *= 1.5
    if n >= 20 and rng.random() < config.occluder_prob:
        other = _tinted(load_source_image(_draw_source(rng, sources)), rng)
        sprite = cut_sprite(rng, other, "polygon", sprite_side, math.exp(rng.uniform(-2.0, -1.2)))
        ls = log_s0 + rng.uniform(0.2, 0.8)
        r = sprite.radius * math.exp(ls)
        t_cross = int(rng.integers(max(10, n // 6), n))
        pos = target_pos[t_cross] + rng.normal(0, 0.3 * r_target, 2)
        if np.linalg.norm(pos - start) > 1.2 * (r_target + r):  # never over the target in frame 0
            layers_above.append(_Layer(sprite, np.repeat(pos[None], n, axis=0), np.full(n, ls),
                                       np.full(n, rng.normal(0, 0.15)), np.zeros(n), np.ones(n)))

    # Scene illumination: global gain drift (+ rare switch) and a slowly turning light gradient.
    log_gain = _smooth_walk(rng, n, rng.uniform(0.0, 0.01), 0.9, limit=0.35)
    if rng.random() < 0.15 and n > 10:
        switch = int(rng.integers(1, n))
        log_gain = log_gain + rng.uniform(-0.4, 0.3) * np.clip((np.arange(n) - switch) / 4.0, 0, 1)
    grad = np.stack([_smooth_walk(rng, n, 0.004, 0.9, limit=0.3) for _ in range(2)], axis=1) + rng.uniform(-0.2, 0.2, 2)
    xs = (np.arange(width, dtype=np.float32) - centre[0]) / width
    ys = (np.arange(height, dtype=np.float32) - centre[1]) / height
    blur_on = rng.random() < config.blur_prob
    exposure = rng.uniform(0.4, 1.0)
    noise_sigma = rng.uniform(*config.noise_sigma)
    noise = rng.normal(0, noise_sigma, (height + 16, width + 16, 3)).astype(np.float32) if noise_sigma > 0.5 else None
    noise_offsets = rng.integers(0, 17, (n, 2))

    # Frame 0 must show the whole target: no exit, no occluder at t = 0 by construction; make sure
    # the target is inside the frame (it starts at the camera centre and fits by its size range).
    frames: list[np.ndarray] = []
    boxes = np.zeros((n, 4))
    fractions = np.zeros(n)
    for t in range(n):
        zoom = math.exp(log_zoom[t])
        cam_t = cam[t]
        bg_affine = np.array([[zoom, 0, centre[0] - zoom * cam_t[0]], [0, zoom, centre[1] - zoom * cam_t[1]]])
        bg = cv2.warpAffine(background, bg_affine, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        cam_velocity = zoom * (cam[t] - cam[t - 1]) if t else np.zeros(2)
        if blur_on:
            kernel = _line_kernel(*(exposure * cam_velocity))
            if kernel is not None:
                bg = cv2.filter2D(bg, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
        frame = bg.astype(np.float32)
        for layer in layers_below:
            _render(frame, layer, _object_affine(layer, t, cam_t, zoom, centre),
                    _layer_blur(layer, t, cam, zoom, blur_on, exposure), float(layer.gain[t]))
        affine = _object_affine(target, t, cam_t, zoom, centre)
        drawn = _render(frame, target, affine, _layer_blur(target, t, cam, zoom, blur_on, exposure), float(shade[t]),
                        whole=True)
        visible = None
        if drawn is not None:
            tx0, ty0, t_alpha, mass = drawn
            visible = t_alpha.copy()
        for layer in layers_above:
            other_affine = _object_affine(layer, t, cam_t, zoom, centre)
            hit = _render(frame, layer, other_affine, _layer_blur(layer, t, cam, zoom, blur_on, exposure), float(layer.gain[t]))
            if hit is not None and visible is not None:
                _occlude(visible, tx0, ty0, *hit[:3])
        if visible is not None and mass > 0:
            fractions[t] = min(1.0, float(visible.sum()) / mass)
            rows = np.flatnonzero((t_alpha >= 0.5).any(axis=1))
            cols = np.flatnonzero((t_alpha >= 0.5).any(axis=0))
            if rows.size:
                boxes[t] = (tx0 + cols[0], ty0 + rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1)
        ramp = 1.0 + np.float32(grad[t, 1]) * ys[:, None] + np.float32(grad[t, 0]) * xs[None, :]
        gain = np.float32(math.exp(log_gain[t])) * ramp
        frame *= gain[:, :, None]
        if noise is not None:
            oy, ox = noise_offsets[t]
            frame += noise[oy : oy + height, ox : ox + width]
        np.clip(frame, 0, 255, out=frame)
        frames.append(frame.astype(np.uint8))
    absence = (fractions < 0.01).astype(np.int64)
    cover = np.array([cover_level(f) for f in fractions], dtype=np.int64)
    meta = {
        "object_class": f"synthetic {kind}",
        "motion_class": "static camera" if static_camera else "following camera",
        "target_source": obj_name,
        "background_source": bg_name,
        "split": split,
        "seed": str(seed),
        "index": str(index),
        "distractors": str(num_distractors),
        "occluders": str(len(layers_above) + len(layers_below) - num_distractors),
        "exit_event": str(exit_event),
        "motion_blur": str(blur_on),
        "resolution": f"({width}, {height})",
    }
    return SyntheticSequence(sequence_name(split, index), frames, boxes, absence, cover, fractions, meta)


def _layer_blur(layer: _Layer, t: int, cam: np.ndarray, zoom: float, blur_on: bool, exposure: float) -> np.ndarray | None:
    """Blur kernel from the layer's apparent (frame) velocity, or None."""
    if not blur_on or t == 0:
        return None
    velocity = zoom * ((layer.pos[t] - cam[t]) - (layer.pos[t - 1] - cam[t - 1]))
    return _line_kernel(*(exposure * velocity))


def _occlude(visible: np.ndarray, tx0: int, ty0: int, ox0: int, oy0: int, o_alpha: np.ndarray) -> None:
    """Multiply the target's visible alpha by (1 − occluder alpha) where their ROIs overlap."""
    th, tw = visible.shape
    oh, ow = o_alpha.shape
    x0, y0 = max(tx0, ox0), max(ty0, oy0)
    x1, y1 = min(tx0 + tw, ox0 + ow), min(ty0 + th, oy0 + oh)
    if x1 <= x0 or y1 <= y0:
        return
    visible[y0 - ty0 : y1 - ty0, x0 - tx0 : x1 - tx0] *= 1.0 - o_alpha[y0 - oy0 : y1 - oy0, x0 - ox0 : x1 - ox0]


# ----------------------------------------------------------------------------- disk layout
def sequence_name(split: str, index: int) -> str:
    """Folder name of sequence ``index`` of ``split``: ``Synthetic_<Split>_<index+1:06d>``."""
    return f"Synthetic_{split.capitalize()}_{index + 1:06d}"


def write_sequence(sequence: SyntheticSequence, folder: Path, jpeg_quality: int = 90) -> None:
    """Write one sequence in the GOT-10k layout; ``groundtruth.txt`` is written last (completion mark)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
    for i, frame in enumerate(sequence.frames, start=1):
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), params)
        if not ok:  # pragma: no cover - OpenCV always encodes uint8 RGB
            raise DatasetError(f"could not encode frame {i} of {folder}")
        (folder / f"{i:08d}.jpg").write_bytes(data.tobytes())
    (folder / "absence.label").write_text("".join(f"{v}\n" for v in sequence.absence))
    (folder / "cover.label").write_text("".join(f"{v}\n" for v in sequence.cover))
    (folder / "meta_info.ini").write_text("[METAINFO]\n" + "".join(f"{k}: {v}\n" for k, v in sequence.meta.items()))
    tmp = folder / "groundtruth.txt.tmp"
    tmp.write_text("".join(",".join(f"{v:.4f}" for v in box) + "\n" for box in sequence.boxes))
    os.replace(tmp, folder / "groundtruth.txt")


def _is_complete(folder: Path, num_frames: int) -> bool:
    return (folder / "groundtruth.txt").is_file() and (folder / f"{num_frames:08d}.jpg").is_file()


def _write_one(args: tuple) -> str:
    root, index, num_frames, size, split, seed, config = args
    name = sequence_name(split, index)
    folder = Path(root) / name
    if not _is_complete(folder, num_frames):
        sequence = generate_sequence(index, num_frames, size, split, seed, config)
        write_sequence(sequence, folder, config.jpeg_quality)
    return name


def write_dataset(root: Path, num_sequences: int, frames_per_sequence: int, size: tuple[int, int] = (240, 320),
                  split: str = "train", seed: int = 0, config: SyntheticConfig | None = None, workers: int = 1,
                  progress: bool = False) -> list[str]:
    """Write ``num_sequences`` sequences into ``root`` in the GOT-10k layout and return their names.

    Resumable: complete sequences already on disk (same name, ground truth and last frame present)
    are kept. ``list.txt`` is written last. ``size`` is ``(H, W)``. ``workers > 1`` uses processes.
    Read it back with ``Got10kTrain(root, split=None)`` or `synthetic_dataset`.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    config = config or SyntheticConfig()
    jobs = [(str(root), i, int(frames_per_sequence), tuple(size), split, int(seed), config) for i in range(num_sequences)]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=num_sequences, desc=f"synthetic {split}", unit="seq")
    names = []
    if workers > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for name in pool.imap(_write_one, jobs):
                names.append(name)
                if bar:
                    bar.update()
    else:
        for job in jobs:
            names.append(_write_one(job))
            if bar:
                bar.update()
    if bar:
        bar.close()
    (root / "list.txt").write_text("".join(f"{name}\n" for name in names))
    return names


def synthetic_dataset(root: Path) -> Got10kTrain:
    """A written synthetic dataset as a training dataset (GOT-10k reader, every line of ``list.txt``)."""
    dataset = Got10kTrain(root, split=None)
    dataset.name = "synthetic"
    return dataset


__all__ = [
    "SKIMAGE_FILES",
    "SOURCE_SPLITS",
    "SyntheticConfig",
    "SyntheticSequence",
    "generate_sequence",
    "write_dataset",
    "write_sequence",
    "synthetic_dataset",
    "cover_level",
]


def main(argv: list[str] | None = None) -> int:
    """``python -m seqtrack.data.synthetic ROOT --sequences N --frames F --size H W --split S --seed K``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m seqtrack.data.synthetic", description=main.__doc__)
    parser.add_argument("root", type=Path, help="output folder (GOT-10k layout)")
    parser.add_argument("--sequences", type=int, default=100)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--size", type=int, nargs=2, default=(240, 320), metavar=("H", "W"))
    parser.add_argument("--split", choices=sorted(SOURCE_SPLITS), default="train")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--max-distractors", type=int, default=SyntheticConfig.max_distractors,
                        help="up to this many look-alikes per sequence (default %(default)s)")
    args = parser.parse_args(argv)
    if args.max_distractors < 0:
        parser.error(f"--max-distractors must be >= 0, got {args.max_distractors}")
    config = SyntheticConfig(max_distractors=args.max_distractors)
    write_dataset(args.root, args.sequences, args.frames, tuple(args.size), args.split, args.seed, config=config,
                  workers=args.workers, progress=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
