"""Motion of the synthetic scene: smooth random walks, object trajectories, the camera operator, blur kernels.

Everything is integrated from smooth, noisy velocities (no teleporting). Positions are world pixels
``(x, y)`` (the background photograph's scaled pixel grid); arrays over time are ``(n, ...)``.
"""

from __future__ import annotations

import math

import numpy as np


def smooth_walk(
    rng: np.random.Generator, n: int, sigma: float, damping: float = 0.9, limit: float | None = None
) -> np.ndarray:
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


def trajectory(
    rng: np.random.Generator,
    n: int,
    start: np.ndarray,
    speed: float,
    bounds: np.ndarray,
    attract_to: np.ndarray | None = None,
) -> np.ndarray:
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


def bump(n: int, start: int, length: int) -> np.ndarray:
    """Smooth 0 → 1 → 0 profile (sin²) over ``[start, start + length)``, zero elsewhere."""
    out = np.zeros(n)
    t = np.arange(n)
    inside = (t >= start) & (t < start + length)
    out[inside] = np.sin(np.pi * (t[inside] - start) / length) ** 2
    return out


def follow(target: np.ndarray, start: np.ndarray, stiffness: float, half_view: float) -> np.ndarray:
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


def line_kernel(dx: float, dy: float) -> np.ndarray | None:
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
