"""Planning of one synthetic sequence: every random choice, drawn from the sequence's one random stream.

`plan_scene` draws, in this order: the background, the target (appearance, then motion), the camera,
the distractors, the occluders (a crossing one, then a static pillar), the illumination and the sensor.
The order is part of the data: moving or adding a draw changes every sequence generated after it, so
each step below draws exactly what the single original function drew, in the same order. Rendering
(`seqtrack.data.synthetic.sequence`) draws nothing.

World coordinates: pixels ``(x, y)`` of the scaled background photograph. The camera starts at zoom 1,
centred on the target; the frame is ``(H, W)`` = ``size``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from seqtrack.data.synthetic import fx
from seqtrack.data.synthetic.motion import bump, follow, smooth_walk, trajectory
from seqtrack.data.synthetic.photos import load_cutout
from seqtrack.data.synthetic.render import Layer
from seqtrack.data.synthetic.settings import SyntheticConfig
from seqtrack.data.synthetic.sources import SourcePool, draw_source, load_source_image, tinted
from seqtrack.data.synthetic.sprites import SHAPE_KINDS, Sprite, cut_sprite, cutout_sprite

Sources = tuple[str, ...] | SourcePool


@dataclass
class Target:
    """The target, and what its look-alikes and occluders are derived from.

    Attributes:
        name: its source image; source: that image, ``(h, w, 3)`` uint8 RGB (tinted when grey), or
            ``(h, w, 4)`` RGBA for a cut-out.
        kind: shape kind (`SHAPE_KINDS`, or ``"object"`` for a cut-out); aspect: width / height of the cut.
        near: ``(x, y)`` source pixel the cut is taken around (distractors are cut near it too).
        sprite_side: sprite resolution, sqrt(sprite pixels); log_scale0: initial log world px per sprite px.
        radius: initial half diagonal in world px.
        speed: typical speed, world px per frame; start: ``(2,)`` world ``(x, y)`` at frame 0.
        bounds: ``(x0, y0, x1, y1)`` world box its intended velocity turns back from.
        static_camera: whether the camera stays still (the target may then leave the view by itself).
        layer: its `Layer` over the ``n`` frames.
    """

    name: str
    source: np.ndarray
    kind: str
    aspect: float
    near: tuple[int, int]
    sprite_side: int
    log_scale0: float
    radius: float
    speed: float
    start: np.ndarray
    bounds: np.ndarray
    static_camera: bool
    layer: Layer


@dataclass
class Lighting:
    """Illumination and sensor over ``n`` frames.

    Attributes:
        log_gain: ``(n,)`` log global gain (slow drift, sometimes a switch).
        gradient: ``(n, 2)`` light ramp slope along ``(x, y)``, per frame width / height.
        blur_on: motion blur in this sequence; exposure: blur length as a fraction of a frame's motion.
        noise: ``(H + 16, W + 16, 3)`` float32 sensor-noise tile, or None (no noise).
        noise_offsets: ``(n, 2)`` ``(row, col)`` of each frame's window into ``noise``.
        balance: ``(n, 3)`` per-channel log gain (white-balance drift), or None (``color_drift`` off).
    """

    log_gain: np.ndarray
    gradient: np.ndarray
    blur_on: bool
    exposure: float
    noise: np.ndarray | None
    noise_offsets: np.ndarray
    balance: np.ndarray | None = None


@dataclass
class Scene:
    """Everything random about one sequence, ready to render.

    Attributes:
        background_name: its source image; background: ``(Hb, Wb, 3)`` uint8, the world.
        target: the `Target`; camera: ``(n, 2)`` world ``(x, y)`` at the frame centre; log_zoom: ``(n,)``.
        exit_event: whether the camera pans away from the target for a while.
        layers_below, layers_above: objects drawn before / after the target (distractors, occluders).
        num_distractors: how many of those layers are look-alikes of the target.
        lighting: the `Lighting`.
        frame_warp: camera roll and rolling shutter (`fx.FrameWarp`), or None.
        finish: compression of the finished frames (`fx.Finish`), or None.
        large: whether the target is a slow, large one (``large_prob``).
    """

    background_name: str
    background: np.ndarray
    target: Target
    camera: np.ndarray
    log_zoom: np.ndarray
    exit_event: bool
    layers_below: list[Layer]
    layers_above: list[Layer]
    num_distractors: int
    lighting: Lighting
    frame_warp: fx.FrameWarp | None = None
    finish: fx.Finish | None = None
    large: bool = False


def plan_scene(
    rng: np.random.Generator,
    n: int,
    size: tuple[int, int],
    sources: Sources,
    config: SyntheticConfig,
    effects: np.random.Generator | None = None,
) -> Scene:
    """Draw the scene of an ``n``-frame sequence of ``size`` ``(H, W)`` from source images ``sources``.

    ``effects``: the sequence's second random stream (`fx.effects_stream`), for the realism options of
    ``config``; None when they are all off (the scene is then exactly the original generator's).
    """
    height, width = size
    large = effects is not None and effects.random() < config.large_prob
    background_name, background = _plan_background(rng, sources, width, height)
    world = np.array([background.shape[1], background.shape[0]], dtype=np.float64)
    target = _plan_target(rng, n, sources, width, height, world, config, large)
    camera, log_zoom, exit_event = _plan_camera(rng, n, target, width, height, config)
    layers_below, layers_above = _plan_distractors(rng, n, target, config)
    num_distractors = len(layers_below) + len(layers_above)
    layers_above += _plan_occluders(rng, n, sources, target, config)
    lighting = _plan_lighting(rng, n, width, height, config)
    scene = Scene(
        background_name,
        background,
        target,
        camera,
        log_zoom,
        exit_event,
        layers_below,
        layers_above,
        num_distractors,
        lighting,
        large=large,
    )
    if effects is not None:
        _plan_effects(effects, n, scene, size, config)
    return scene


def _plan_effects(
    rng: np.random.Generator, n: int, scene: Scene, size: tuple[int, int], config: SyntheticConfig
) -> None:
    """Add the realism effects of ``config`` to a planned scene (draws from the second stream only)."""
    height, width = size
    if config.warp > 0:
        scene.target.layer.tilt = fx.tilt_walk(rng, n, config.warp)
        above = scene.num_distractors - len(scene.layers_below)  # look-alikes come before the occluders
        for layer in scene.layers_below + scene.layers_above[:above]:
            layer.tilt = fx.tilt_walk(rng, n, config.warp)
    roll = np.zeros(n)
    if config.shake > 0:
        jitter, roll = fx.camera_shake(rng, n, config.shake)
        scene.camera = scene.camera + jitter / np.exp(scene.log_zoom)[:, None]  # frame px -> world px
    readout = rng.uniform(0.3, 1.0) * config.rolling_shutter if config.rolling_shutter > 0 else 0.0
    if config.shake > 0 or readout > 0:
        centre = np.array([(width - 1) / 2, (height - 1) / 2])
        scene.frame_warp = fx.FrameWarp(roll, readout, centre, height)
    if config.color_drift > 0:
        balance, exposure = fx.drift(rng, n, config.color_drift)
        scene.lighting.balance = balance
        scene.lighting.log_gain = scene.lighting.log_gain + exposure
    scene.finish = fx.plan_finish(rng, n, config)


def _plan_background(rng: np.random.Generator, sources: Sources, width: int, height: int) -> tuple[str, np.ndarray]:
    """A real photograph scaled so that the camera can pan over it: ``(name, (Hb, Wb, 3) uint8)``."""
    name = draw_source(rng, sources)
    source = tinted(load_source_image(name), rng)
    # About twice the frame: enough room to pan without upscaling small photographs into mush; the
    # camera may look past the edge, where the photograph is mirrored (BORDER_REFLECT_101).
    scale = rng.uniform(1.0, 1.4) * max(1.8 * width / source.shape[1], 1.8 * height / source.shape[0])
    return name, cv2.resize(source, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)


def _plan_target(
    rng: np.random.Generator,
    n: int,
    sources: Sources,
    width: int,
    height: int,
    world: np.ndarray,
    config: SyntheticConfig,
    large: bool = False,
) -> Target:
    """The target: a cut-out of another photograph, then where it starts and how it moves (``large``: a
    slow target of `fx.LARGE_SIZE`, same draws)."""
    short = min(height, width)
    cutout = _draw_cutout(rng, sources)
    if cutout is None:
        name = draw_source(rng, sources)
        source = tinted(load_source_image(name), rng)
        kind = SHAPE_KINDS[int(rng.integers(len(SHAPE_KINDS)))]
        aspect = math.exp(rng.uniform(-0.8, 0.8))
    else:  # a whole object with its real outline (its RGBA image is the source)
        name, source = cutout
        kind, aspect = "object", source.shape[1] / source.shape[0]
    target_px = short * math.exp(rng.uniform(*np.log(fx.LARGE_SIZE if large else config.target_size)))
    # Sprite resolution close to its size on screen, so textures and edges stay sharp.
    sprite_side = int(np.clip(target_px * rng.uniform(0.9, 1.4), 20, 256))
    if cutout is None:
        near = (int(rng.integers(source.shape[1])), int(rng.integers(source.shape[0])))
        sprite = cut_sprite(rng, source, kind, sprite_side, aspect, near)
    else:
        near = (0, 0)
        sprite = cutout_sprite(rng, source, sprite_side)

    log_s0 = math.log(target_px / math.sqrt(sprite.area))
    sprite_h, sprite_w = sprite.premult.shape[:2]
    fit = min(0.85 * width / (sprite_w * math.exp(log_s0)), 0.85 * height / (sprite_h * math.exp(log_s0)))
    if fit < 1:  # frame 0 shows the whole target
        log_s0 += math.log(fit)
        target_px *= fit
    speed = target_px * rng.uniform(*(fx.LARGE_SPEED if large else config.speed))
    static_camera = rng.random() < config.static_camera_prob
    start = world / 2 + rng.uniform(-0.2, 0.2, 2) * world
    viewport = np.array([width, height], dtype=np.float64)
    if static_camera:
        # The target roams the view, sometimes crossing its edge and coming back.
        bounds = np.concatenate([start - 0.3 * viewport, start + 0.3 * viewport])
    else:
        bounds = np.concatenate([0.15 * world, 0.85 * world])
    layer = _target_layer(rng, n, sprite, start, speed, bounds, log_s0, target_px, short)
    return Target(
        name,
        source,
        kind,
        aspect,
        near,
        sprite_side,
        log_s0,
        sprite.radius * math.exp(log_s0),
        speed,
        start,
        bounds,
        static_camera,
        layer,
    )


def _draw_cutout(rng: np.random.Generator, sources: Sources) -> tuple[str, np.ndarray] | None:
    """``(name, (h, w, 4) RGBA)`` of a cut-out target with probability ``cutout_share`` when the pool has
    cut-outs (one extra draw, then the pick), else None (and no draw)."""
    if not isinstance(sources, SourcePool) or not sources.cutouts or rng.random() >= sources.cutout_share:
        return None
    name = sources.cutouts[int(rng.integers(len(sources.cutouts)))]
    return name, load_cutout(name)


def _target_layer(
    rng: np.random.Generator,
    n: int,
    sprite: Sprite,
    start: np.ndarray,
    speed: float,
    bounds: np.ndarray,
    log_s0: float,
    target_px: float,
    short: int,
) -> Layer:
    """The target's path, scale change (at most x1.8 and at most 3/4 of the frame), rotation (in half of
    the sequences), aspect wobble and shading change."""
    pos = trajectory(rng, n, start, speed, bounds)
    scale_range = math.log(min(1.8, 0.75 * short / target_px))
    log_scale = log_s0 + smooth_walk(rng, n, rng.uniform(0.001, 0.008), 0.92, limit=max(scale_range, 0.05))
    rotating = rng.random() < 0.5
    angle = smooth_walk(rng, n, rng.uniform(0.002, 0.015) if rotating else 0.0, 0.9)
    log_aspect = rng.uniform(0, 0.15) * np.sin(2 * np.pi * np.arange(n) / rng.uniform(30, 120) + rng.uniform(0, 6.3))
    shade = np.exp(rng.uniform(0, 0.2) * np.sin(2 * np.pi * np.arange(n) / rng.uniform(20, 80) + rng.uniform(0, 6.3)))
    return Layer(sprite, pos, log_scale, angle, log_aspect, shade, is_target=True)


def _plan_camera(
    rng: np.random.Generator, n: int, target: Target, width: int, height: int, config: SyntheticConfig
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Camera centre ``(n, 2)``, log zoom ``(n,)`` and whether it loses the target for a while.

    It follows the target (a spring with lag), may pan away and back, drifts in zoom and shakes slightly.
    """
    viewport = np.array([width, height], dtype=np.float64)
    camera_goal = target.layer.pos.copy()
    exit_event = False
    if target.static_camera:
        cam = np.repeat(target.start[None], n, axis=0)
    else:
        if n >= 40 and rng.random() < config.exit_prob:
            # long enough for a plausible pan away and back (no whip pans)
            length = int(rng.integers(max(15, min(30, n // 3)), max(16, min(70, n // 2)) + 1))
            begin = int(rng.integers(5, n - length))
            direction = rng.normal(size=2)
            direction /= np.linalg.norm(direction)
            reach = 0.5 * np.abs(direction) @ viewport + 2.5 * target.radius
            camera_goal = camera_goal + np.outer(bump(n, begin, length), direction * reach * 1.3)
            exit_event = True
        cam = follow(camera_goal, target.start, rng.uniform(0.03, 0.2), 0.5 * min(width, height))
    cam = cam + smooth_walk(rng, n, rng.uniform(0, 0.3), 0.5)[:, None] * np.array([1.0, 0.7])
    log_zoom = smooth_walk(rng, n, rng.uniform(0.0, 0.004), 0.95, limit=0.3)
    return cam, log_zoom, exit_event


def _plan_distractors(
    rng: np.random.Generator, n: int, target: Target, config: SyntheticConfig
) -> tuple[list[Layer], list[Layer]]:
    """Look-alikes ``(below, above)`` the target: same photograph, same shape family, cut near the
    target's patch, starting beside it and loosely following it."""
    below: list[Layer] = []
    above: list[Layer] = []
    for _ in range(int(rng.integers(0, config.max_distractors + 1))):
        side = int(target.sprite_side * rng.uniform(0.8, 1.2))
        if target.kind == "object":  # another one of the same object: the hardest look-alike
            sprite = cutout_sprite(rng, target.source, side)
        else:
            sprite = cut_sprite(
                rng, target.source, target.kind, side, target.aspect * math.exp(rng.uniform(-0.2, 0.2)), target.near
            )
        ls = target.log_scale0 + rng.uniform(-0.25, 0.25)
        r = sprite.radius * math.exp(ls)
        in_front = rng.random() < 0.3
        angle0 = rng.uniform(0, 2 * np.pi)
        distance = (target.radius + r) * rng.uniform(1.1, 2.5)
        pos0 = target.start + distance * np.array([math.cos(angle0), math.sin(angle0)])
        pos = trajectory(rng, n, pos0, target.speed * rng.uniform(0.5, 1.5), target.bounds, attract_to=target.layer.pos)
        layer = Layer(
            sprite,
            pos,
            ls + smooth_walk(rng, n, 0.004, 0.9, limit=0.4),
            smooth_walk(rng, n, rng.uniform(0, 0.01), 0.9),
            np.zeros(n),
            np.ones(n),
        )
        (above if in_front else below).append(layer)
    return below, above


def _plan_occluders(
    rng: np.random.Generator, n: int, sources: Sources, target: Target, config: SyntheticConfig
) -> list[Layer]:
    """Occluders cut from other photographs, all in front of the target: one crossing it, one static
    pillar, each with probability ``occluder_prob`` (sequences of 20 frames or more)."""
    layers = []
    if n >= 20 and rng.random() < config.occluder_prob:
        layers.append(_crossing_occluder(rng, n, sources, target))
    if n >= 20 and rng.random() < config.occluder_prob:
        layers.append(_pillar(rng, n, sources, target))
    return [layer for layer in layers if layer is not None]


def _crossing_occluder(rng: np.random.Generator, n: int, sources: Sources, target: Target) -> Layer | None:
    """An object that crosses in front of the target at a random frame, in a straight line; None when it
    cannot start clear of the target."""
    other = tinted(load_source_image(draw_source(rng, sources)), rng)
    sprite = cut_sprite(
        rng, other, SHAPE_KINDS[int(rng.integers(3))], target.sprite_side, math.exp(rng.uniform(-0.7, 0.7))
    )
    ls = target.log_scale0 + rng.uniform(-0.1, 0.5)
    r = sprite.radius * math.exp(ls)
    t_cross = int(rng.integers(max(10, n // 6), n))
    v_dir = rng.normal(size=2)
    v_dir /= np.linalg.norm(v_dir)
    o_speed = max(target.speed * rng.uniform(0.5, 2.0), 1.5 * (target.radius + r) / t_cross)
    perp = np.array([-v_dir[1], v_dir[0]]) * rng.uniform(-0.7, 0.7) * (target.radius + r)
    times = np.arange(n) - t_cross
    for _ in range(8):  # never over the target in frame 0: speed up until it starts clear of it
        pos = target.layer.pos[t_cross] + perp + times[:, None] * v_dir * o_speed
        if np.linalg.norm(pos[0] - target.start) > 1.05 * (target.radius + r):
            return Layer(sprite, pos, np.full(n, ls), np.full(n, rng.uniform(0, 6.3)), np.zeros(n), np.ones(n))
        o_speed *= 1.5
    return None


def _pillar(rng: np.random.Generator, n: int, sources: Sources, target: Target) -> Layer | None:
    """A tall thin static object where the target will be at a random frame; None when it would cover
    the target in frame 0."""
    other = tinted(load_source_image(draw_source(rng, sources)), rng)
    sprite = cut_sprite(rng, other, "polygon", target.sprite_side, math.exp(rng.uniform(-2.0, -1.2)))
    ls = target.log_scale0 + rng.uniform(0.2, 0.8)
    r = sprite.radius * math.exp(ls)
    t_cross = int(rng.integers(max(10, n // 6), n))
    pos = target.layer.pos[t_cross] + rng.normal(0, 0.3 * target.radius, 2)
    if np.linalg.norm(pos - target.start) > 1.2 * (target.radius + r):
        return Layer(
            sprite,
            np.repeat(pos[None], n, axis=0),
            np.full(n, ls),
            np.full(n, rng.normal(0, 0.15)),
            np.zeros(n),
            np.ones(n),
        )
    return None


def _plan_lighting(rng: np.random.Generator, n: int, width: int, height: int, config: SyntheticConfig) -> Lighting:
    """Global gain drift (and a rare switch), a slowly turning light gradient, blur and sensor noise."""
    log_gain = smooth_walk(rng, n, rng.uniform(0.0, 0.01), 0.9, limit=0.35)
    if rng.random() < 0.15 and n > 10:
        switch = int(rng.integers(1, n))
        log_gain = log_gain + rng.uniform(-0.4, 0.3) * np.clip((np.arange(n) - switch) / 4.0, 0, 1)
    walks = np.stack([smooth_walk(rng, n, 0.004, 0.9, limit=0.3) for _ in range(2)], axis=1)
    gradient = walks + rng.uniform(-0.2, 0.2, 2)
    blur_on = rng.random() < config.blur_prob
    exposure = rng.uniform(0.4, 1.0)
    noise_sigma = rng.uniform(*config.noise_sigma)
    noise = rng.normal(0, noise_sigma, (height + 16, width + 16, 3)).astype(np.float32) if noise_sigma > 0.5 else None
    noise_offsets = rng.integers(0, 17, (n, 2))
    return Lighting(log_gain, gradient, blur_on, exposure, noise, noise_offsets)
