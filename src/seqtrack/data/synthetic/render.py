"""Rendering of the synthetic scene: layers (a sprite and its path over time) composited onto a frame.

Frame coordinates: pixels ``(x, y)``, centres at integer positions; frames are ``(H, W, 3)`` float32
in 0..255 while being drawn. A layer's world position is mapped to the frame by the camera (centre
``cam`` in world pixels, ``zoom`` frame pixels per world pixel).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from seqtrack.data.synthetic.fx import FrameWarp, tilt_homography
from seqtrack.data.synthetic.motion import line_kernel
from seqtrack.data.synthetic.sprites import Sprite


@dataclass
class Layer:
    """One object of the scene over ``n`` frames: a sprite, where it is and how it is posed at each frame.

    ``log_aspect`` stretches the sprite's x by ``exp(log_aspect / 2)`` and its y by the inverse (area kept);
    ``gain`` multiplies its colours (the target's own shading change; 1 for the other objects);
    ``tilt``: optional ``(n, 2)`` out-of-plane angles (radians, `seqtrack.data.synthetic.fx.tilt_homography`).
    """

    sprite: Sprite
    pos: np.ndarray  # (n, 2) world centre
    log_scale: np.ndarray  # (n,) world px per sprite px (log)
    angle: np.ndarray  # (n,) radians
    log_aspect: np.ndarray  # (n,)
    gain: np.ndarray  # (n,) shading factor
    is_target: bool = False
    tilt: np.ndarray | None = None


def object_affine(layer: Layer, t: int, cam: np.ndarray, zoom: float, centre: np.ndarray) -> np.ndarray:
    """2×3 affine: sprite pixel → frame pixel at time ``t`` (pixel centres at integer coordinates)."""
    s = math.exp(layer.log_scale[t]) * zoom
    a = math.exp(layer.log_aspect[t] / 2)
    c, si = math.cos(layer.angle[t]), math.sin(layer.angle[t])
    linear = np.array([[c * s * a, -si * s / a], [si * s * a, c * s / a]])
    h, w = layer.sprite.premult.shape[:2]
    sprite_centre = np.array([(w - 1) / 2, (h - 1) / 2])
    offset = zoom * (layer.pos[t] - cam) + centre - linear @ sprite_centre
    return np.concatenate([linear, offset[:, None]], axis=1)


def layer_transform(
    layer: Layer, t: int, cam: np.ndarray, zoom: float, centre: np.ndarray, warp: FrameWarp | None
) -> np.ndarray:
    """Sprite pixel → frame pixel at time ``t``: `object_affine` (2×3) when the layer has no tilt and the
    scene no `FrameWarp`; else that affine composed with the tilt (before) and the frame warp (after), 2×3
    when it stays affine, 3×3 with a perspective part. ``cam``: ``(n, 2)`` camera centres."""
    affine = object_affine(layer, t, cam[t], zoom, centre)
    if layer.tilt is None and warp is None:
        return affine
    matrix = np.vstack([affine, [0.0, 0.0, 1.0]])
    if layer.tilt is not None:
        h, w = layer.sprite.premult.shape[:2]
        matrix = matrix @ tilt_homography(layer.tilt[t], w, h)
    if warp is not None:
        velocity = zoom * ((layer.pos[t] - cam[t]) - (layer.pos[t - 1] - cam[t - 1])) if t else np.zeros(2)
        matrix = warp.matrix(t, velocity) @ matrix
    return matrix if layer.tilt is not None else matrix[:2]


def composite(
    frame: np.ndarray, layer: Layer, affine: np.ndarray, blur: np.ndarray | None, gain: float, whole: bool = False
) -> tuple[int, int, np.ndarray, float] | None:
    """Composite a sprite onto the float32 frame; ``affine``: 2×3 affine or 3×3 homography, sprite → frame.

    Returns ``(x0, y0, alpha, mass)``: its un-blurred alpha in the frame-clipped ROI starting at
    ``(x0, y0)``, and ``mass`` = the alpha sum of the WHOLE rendered sprite, inside the frame or not
    (computed only when ``whole``; the visible fraction is measured against it, so rasterisation
    makes a fully visible target exactly 1). None when the sprite is entirely outside the frame.
    """
    height, width = frame.shape[:2]
    h, w = layer.sprite.premult.shape[:2]
    corners = np.array([[-0.5, -0.5, 1], [w - 0.5, -0.5, 1], [-0.5, h - 0.5, 1], [w - 0.5, h - 0.5, 1]])
    mapped = corners @ affine.T
    if affine.shape[0] == 3:  # perspective: the tilt keeps the denominator positive over the sprite
        mapped = mapped[:, :2] / mapped[:, 2:]
    pad = 0 if blur is None else blur.shape[0] // 2 + 1
    # Unclipped ROI (u0, v0, u1, v1), then its part inside the frame (x0, y0, x1, y1).
    u0, v0 = int(math.floor(mapped[:, 0].min())) - pad, int(math.floor(mapped[:, 1].min())) - pad
    u1, v1 = int(math.ceil(mapped[:, 0].max())) + 1 + pad, int(math.ceil(mapped[:, 1].max())) + 1 + pad
    x0, y0, x1, y1 = max(0, u0), max(0, v0), min(width, u1), min(height, v1)
    if x1 <= x0 or y1 <= y0:
        return None
    if not whole:
        u0, v0, u1, v1 = x0, y0, x1, y1
    if affine.shape[0] == 3:
        local = np.array([[1.0, 0.0, -u0], [0.0, 1.0, -v0], [0.0, 0.0, 1.0]]) @ affine
        warped = cv2.warpPerspective(
            layer.sprite.premult, local, (u1 - u0, v1 - v0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
    else:
        local = affine.copy()
        local[:, 2] -= (u0, v0)
        warped = cv2.warpAffine(
            layer.sprite.premult,
            local,
            (u1 - u0, v1 - v0),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
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


def layer_blur(layer: Layer, t: int, cam: np.ndarray, zoom: float, blur_on: bool, exposure: float) -> np.ndarray | None:
    """Blur kernel from the layer's apparent (frame) velocity, or None."""
    if not blur_on or t == 0:
        return None
    velocity = zoom * ((layer.pos[t] - cam[t]) - (layer.pos[t - 1] - cam[t - 1]))
    return line_kernel(*(exposure * velocity))


def occlude(visible: np.ndarray, tx0: int, ty0: int, ox0: int, oy0: int, o_alpha: np.ndarray) -> None:
    """Multiply the target's visible alpha by (1 − occluder alpha) where their ROIs overlap."""
    th, tw = visible.shape
    oh, ow = o_alpha.shape
    x0, y0 = max(tx0, ox0), max(ty0, oy0)
    x1, y1 = min(tx0 + tw, ox0 + ow), min(ty0 + th, oy0 + oh)
    if x1 <= x0 or y1 <= y0:
        return
    visible[y0 - ty0 : y1 - ty0, x0 - tx0 : x1 - tx0] *= 1.0 - o_alpha[y0 - oy0 : y1 - oy0, x0 - ox0 : x1 - ox0]
