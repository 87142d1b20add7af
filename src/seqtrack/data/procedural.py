"""Procedural source images for the synthetic tracking data: "dead leaves" collages.

A dead-leaves image stacks many opaque shapes (discs, ellipses, polygons, rectangles) whose sizes follow a
power law, like objects at many distances. Each image has its own small colour palette and its own mix
of fills (flat, gradient, stripes, noise), so it holds many look-alike shapes: a target cut from it has
distractors beside it, which eight photographs alone do not give often enough. Training on such images is
also known to transfer to natural images (Baradad et al., "Learning to See by Looking at Noise", 2021).

Pure functions of the seed; no files. ``dead_leaves_image(7)`` is the same array on every machine with the
same OpenCV and NumPy.
"""

from __future__ import annotations

import math
import zlib

import cv2
import numpy as np

PREFIX = "leaves-"  # source name of procedural image k: f"{PREFIX}{k}"


def _palette(rng: np.random.Generator) -> np.ndarray:
    """``(K, 3)`` float32 RGB base colours: a few hues, some close to each other (look-alikes)."""
    count = int(rng.integers(2, 7))
    hue = rng.uniform(0, 180, count)
    if rng.random() < 0.5:  # a narrow hue family: harder look-alikes
        hue = (hue[:1] + rng.normal(0, 12, count)) % 180
    sat = rng.uniform(40, 255, count)
    val = rng.uniform(60, 255, count)
    hsv = np.stack([hue, sat, val], axis=1).astype(np.uint8)[None]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0].astype(np.float32)


def _fill(rng: np.random.Generator, h: int, w: int, colour: np.ndarray, style: str) -> np.ndarray:
    """``(h, w, 3)`` float32 texture of one shape around ``colour``."""
    if style == "flat":
        return np.broadcast_to(colour, (h, w, 3)).astype(np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, math.pi)
    along = (xs * math.cos(angle) + ys * math.sin(angle)) / max(h, w, 1)
    if style == "gradient":
        other = np.clip(colour * rng.uniform(0.4, 1.4, 3), 0, 255)
        return colour + along[..., None] * (other - colour)
    if style == "stripes":
        period = rng.uniform(0.1, 0.5)
        wave = 0.5 + 0.5 * np.sin(2 * math.pi * along / period)
        other = np.clip(colour * rng.uniform(0.3, 0.8), 0, 255)
        return colour + wave[..., None] * (other - colour)
    # "noise": smooth random texture (upsampled noise) modulating the colour
    cells = int(rng.integers(2, 9))
    noise = rng.uniform(0.55, 1.35, (cells, cells, 3)).astype(np.float32)
    noise = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(colour * noise, 0, 255)


def dead_leaves_image(seed: int, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """A procedural collage as ``(H, W, 3)`` uint8 RGB (``size`` = ``(H, W)``), a pure function of ``seed``.

    Shapes are drawn back to front; radii ``r`` follow ``p(r) ~ r^-3`` between 5-16 px (per image) and a third of the
    short side, the classic dead-leaves law (scale-invariant statistics, like photographs).
    """
    rng = np.random.default_rng([int(seed), zlib.crc32(b"dead-leaves")])
    height, width = size
    palette = _palette(rng)
    styles = ("flat", "gradient", "stripes", "noise")
    style_p = rng.dirichlet(np.ones(len(styles)))
    image = _fill(rng, height, width, palette[int(rng.integers(len(palette)))], "gradient")
    r_min, r_max = rng.uniform(5.0, 16.0), min(height, width) / 3
    # E[area] of one shape under that law is 2 pi r_min^2 ln(r_max / r_min): draw enough shapes to cover
    # the canvas 1.5 to 5 times over (mostly covered; sometimes some background shows).
    mean_area = 2 * math.pi * r_min**2 * math.log(r_max / r_min)
    count = int(rng.uniform(1.5, 5.0) * height * width / mean_area)
    # inverse CDF of p(r) ~ r^-3 on [r_min, r_max]
    u = rng.random(count)
    radii = 1.0 / np.sqrt(1.0 / r_min**2 - u * (1.0 / r_min**2 - 1.0 / r_max**2))
    radii = np.sort(radii)[::-1]  # big ones first: the small ones stay visible on top
    for radius in radii:
        r = float(radius)
        aspect = math.exp(rng.uniform(-0.6, 0.6))
        rx, ry = r * math.sqrt(aspect), r / math.sqrt(aspect)
        cx, cy = rng.uniform(-r, width + r), rng.uniform(-r, height + r)
        kind = int(rng.integers(4))
        half = int(math.ceil(max(rx, ry))) + 2
        x0, y0 = int(cx) - half, int(cy) - half
        box = 2 * half + 1
        mask = np.zeros((box, box), dtype=np.uint8)
        centre = (half, half)
        if kind == 0:
            cv2.circle(mask, centre, int(round(r)), 255, -1, cv2.LINE_AA)
        elif kind == 1:
            cv2.ellipse(
                mask, centre, (max(1, int(rx)), max(1, int(ry))), rng.uniform(0, 180), 0, 360, 255, -1, cv2.LINE_AA
            )
        else:
            corners = 4 if kind == 2 else int(rng.integers(3, 8))
            angles = (
                np.sort(rng.uniform(0, 2 * math.pi, corners))
                if kind == 3
                else np.arange(4) * math.pi / 2 + rng.uniform(0, math.pi / 2)
            )
            pts = np.stack([half + rx * np.cos(angles), half + ry * np.sin(angles)], axis=1)
            cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 255, cv2.LINE_AA)
        # clip the shape's square to the image
        ix0, iy0, ix1, iy1 = max(0, x0), max(0, y0), min(width, x0 + box), min(height, y0 + box)
        if ix1 <= ix0 or iy1 <= iy0:
            continue
        alpha = mask[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0].astype(np.float32)[..., None] / 255.0
        colour = np.clip(palette[int(rng.integers(len(palette)))] * rng.uniform(0.85, 1.15, 3), 0, 255)
        style = styles[int(rng.choice(len(styles), p=style_p))]
        texture = _fill(rng, iy1 - iy0, ix1 - ix0, colour, style)
        region = image[iy0:iy1, ix0:ix1]
        region *= 1.0 - alpha
        region += alpha * texture
    if rng.random() < 0.5:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.5))
    return np.clip(image, 0, 255).astype(np.uint8)


__all__ = ["PREFIX", "dead_leaves_image"]
