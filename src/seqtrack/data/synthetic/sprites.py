"""Object shapes and cut-outs: a soft random alpha (blob, ellipse, polygon, colour segment) over a patch
of a source image, kept premultiplied so that rendering is one warp and one blend per layer.

Arrays are ``(h, w[, c])`` in sprite pixels; outline points are ``(x, y)``, pixel centres at integer coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

SHAPE_KINDS = ("blob", "ellipse", "polygon", "segment")


def smooth_alpha(
    rng: np.random.Generator, height: int, width: int, kind: str, patch: np.ndarray | None = None
) -> np.ndarray:
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
    cv2.floodFill(
        small.copy(), mask, seed_point, (0, 0, 0), (tol,) * 3, (tol,) * 3, 4 | cv2.FLOODFILL_MASK_ONLY | (255 << 8)
    )
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


def cut_sprite(
    rng: np.random.Generator,
    image: np.ndarray,
    kind: str,
    side: int,
    aspect: float,
    near: tuple[int, int] | None = None,
) -> Sprite:
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


def cutout_sprite(rng: np.random.Generator, rgba: np.ndarray, side: int) -> Sprite:
    """A sprite of a whole cut-out object (``rgba``: ``(h, w, 4)`` uint8, straight alpha), resampled to about
    ``side`` px (sqrt of its box area), mirrored in half of the draws, with a 2 px transparent margin.

    Resampling is done on premultiplied colour, so the pixels the alpha hides never bleed into the edge.
    """
    height, width = rgba.shape[:2]
    alpha = rgba[..., 3].astype(np.float32) / 255.0
    premult = np.empty((height, width, 4), dtype=np.float32)
    premult[..., :3] = rgba[..., :3].astype(np.float32) * alpha[..., None]
    premult[..., 3] = alpha
    scale = side / math.sqrt(height * width)
    out_h, out_w = max(12, round(height * scale)), max(12, round(width * scale))
    premult = cv2.resize(premult, (out_w, out_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        premult = premult[:, ::-1]
    premult = np.pad(premult, ((2, 2), (2, 2), (0, 0)))
    np.clip(premult[..., 3], 0.0, 1.0, out=premult[..., 3])
    return Sprite(np.ascontiguousarray(premult), float(premult[..., 3].sum()), 0.5 * math.hypot(out_h + 4, out_w + 4))
