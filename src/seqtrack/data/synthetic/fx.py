"""Realism effects of the synthetic sequences: out-of-plane warps, camera shake and roll, rolling shutter,
white-balance and exposure drift, JPEG and H.264 compression (options of `SyntheticConfig`, all off by default).

Every draw here comes from the sequence's SECOND random stream (`effects_stream`), after the scene plan:
turning an effect on changes what that effect does and nothing else about the scene.

Geometric effects act through the transforms that render each layer (sprite pixel → frame pixel, a 3×3
homography), so the ground truth, measured on the rendered target's alpha, stays exact. Frame
coordinates: pixels ``(x, y)``, centres at integer positions.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import cv2
import numpy as np

from seqtrack.data.synthetic.motion import smooth_walk
from seqtrack.data.synthetic.settings import SyntheticConfig

# Slow, large targets (``large_prob``): initial size range (fraction of the short side) and speed range.
LARGE_SIZE = (0.3, 0.7)
LARGE_SPEED = (0.002, 0.02)
_EFFECTS_STREAM = 0x5EA1  # appended to the sequence's seed words for the second random stream


def effects_stream(seed: int, split_id: int, index: int) -> np.random.Generator:
    """The second random stream of a sequence (realism effects), independent of the scene's stream."""
    return np.random.default_rng([int(seed), int(split_id), int(index), _EFFECTS_STREAM])


@dataclass
class FrameWarp:
    """Whole-frame geometry of each frame: camera roll and rolling shutter.

    Attributes:
        roll: ``(n,)`` camera roll in radians about the frame centre.
        readout: rolling-shutter readout time as a fraction of the frame interval (row ``y`` is read
            ``readout · (y − cy) / H`` frames after the centre row).
        centre: ``(2,)`` frame centre ``(cx, cy)``; height: frame height H in pixels.
    """

    roll: np.ndarray
    readout: float
    centre: np.ndarray
    height: int

    def matrix(self, t: int, velocity: np.ndarray) -> np.ndarray:
        """3×3 frame → frame transform at frame ``t`` for content moving at ``velocity`` ``(2,)`` frame px
        per frame: roll about the centre, then the rolling-shutter shear (``x += vx·r·(y−cy)/H``, same for y)."""
        cx, cy = self.centre
        c, s = math.cos(self.roll[t]), math.sin(self.roll[t])
        roll = np.array([[c, -s, cx - c * cx + s * cy], [s, c, cy - s * cx - c * cy], [0.0, 0.0, 1.0]])
        kx, ky = np.asarray(velocity, dtype=np.float64) * self.readout / self.height
        shear = np.array([[1.0, kx, -kx * cy], [0.0, 1.0 + ky, -ky * cy], [0.0, 0.0, 1.0]])
        return shear @ roll


@dataclass
class Finish:
    """Compression of the finished frames: ``jpeg_quality`` ``(n,)`` per frame (or None), then H.264 at
    ``h264_crf`` for the whole sequence (or None)."""

    jpeg_quality: np.ndarray | None
    h264_crf: int | None


def tilt_homography(angles: np.ndarray, width: int, height: int) -> np.ndarray:
    """3×3 sprite → sprite homography of a sprite ``(height, width)`` tilted out of plane.

    ``angles`` ``(2,)``: rotation about the sprite's horizontal and vertical axes (radians), seen by a
    pinhole at 2.5 half-diagonals, centre kept in place. The denominator stays ≥ 0.6 inside the sprite, so
    no part of it folds behind the camera.
    """
    a, b = float(angles[0]), float(angles[1])
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    r = ry @ rx
    focal = 2.5 * 0.5 * math.hypot(width, height)
    centred = np.array([[r[0, 0], r[0, 1], 0.0], [r[1, 0], r[1, 1], 0.0], [r[2, 0] / focal, r[2, 1] / focal, 1.0]])
    cx, cy = (width - 1) / 2, (height - 1) / 2
    to_centre = np.array([[1.0, 0, -cx], [0, 1.0, -cy], [0, 0, 1.0]])
    back = np.array([[1.0, 0, cx], [0, 1.0, cy], [0, 0, 1.0]])
    return back @ centred @ to_centre


def tilt_walk(rng: np.random.Generator, n: int, limit: float) -> np.ndarray:
    """``(n, 2)`` slowly changing tilt angles (radians), 0 at frame 0 (where the whole target shows), |·| ≤ limit."""
    return np.stack([smooth_walk(rng, n, rng.uniform(0.1, 0.5) * limit / 25, 0.96, limit=limit) for _ in range(2)], 1)


def camera_shake(rng: np.random.Generator, n: int, amplitude: float) -> tuple[np.ndarray, np.ndarray]:
    """Hand-held shake: ``(n, 2)`` frame-pixel jitter (fast, mean-reverting) and ``(n,)`` roll in radians."""
    jitter = np.stack([smooth_walk(rng, n, 0.6 * amplitude, 0.3, limit=3 * amplitude) for _ in range(2)], 1)
    roll = smooth_walk(rng, n, 0.0015 * amplitude, 0.6, limit=0.02 * amplitude)
    return jitter, roll


def drift(rng: np.random.Generator, n: int, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """Slow colour drift: ``(n, 3)`` per-channel log gain (white balance, |·| ≤ limit) and ``(n,)`` extra
    log exposure (|·| ≤ 2·limit)."""
    balance = np.stack([smooth_walk(rng, n, limit / 30, 0.95, limit=limit) for _ in range(3)], 1)
    balance += rng.uniform(-limit, limit, 3) * 0.5
    exposure = smooth_walk(rng, n, limit / 20, 0.95, limit=2 * limit)
    return balance, exposure


def plan_finish(rng: np.random.Generator, n: int, config: SyntheticConfig) -> Finish:
    """Per-frame JPEG qualities (``jpeg_range``) and, with probability ``h264_prob``, an H.264 CRF."""
    quality = None
    if config.jpeg_range is not None:
        low, high = config.jpeg_range
        # a slow quality walk with per-frame noise, as a streaming encoder's rate control gives
        base = rng.uniform(low, high) + smooth_walk(rng, n, 0.8, 0.9) + rng.normal(0, 3, n)
        quality = np.clip(np.rint(base), low, high).astype(np.int64)
    crf = None
    if rng.random() < config.h264_prob:
        crf = int(rng.integers(config.h264_crf[0], config.h264_crf[1] + 1))
    return Finish(quality, crf)


def finish_frames(frames: list[np.ndarray], finish: Finish) -> list[np.ndarray]:
    """Frames ``(H, W, 3)`` uint8 RGB after the planned compression (new arrays; geometry unchanged)."""
    if finish.jpeg_quality is not None:
        frames = [_jpeg(frame, int(q)) for frame, q in zip(frames, finish.jpeg_quality)]
    if finish.h264_crf is not None:
        frames = h264_roundtrip(frames, finish.h264_crf)
    return frames


def _jpeg(frame: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 images
        return frame
    return cv2.imdecode(data, cv2.IMREAD_COLOR)  # channel order is kept: it was encoded as it came


def h264_roundtrip(frames: list[np.ndarray], crf: int) -> list[np.ndarray]:
    """Encode ``frames`` (``(H, W, 3)`` uint8 RGB, even or odd sizes) with libx264 at ``crf`` in memory and
    decode them again: blocking, ringing and smeared motion as in real video. Needs PyAV (``av``)."""
    from seqtrack.errors import require_extra

    av = require_extra("av", "video", "H.264 compression of synthetic sequences (h264_prob)")
    height, width = frames[0].shape[:2]
    # yuv420p needs even sizes: pad by edge replication, crop after decoding.
    pad_h, pad_w = height % 2, width % 2
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width + pad_w, height + pad_h, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast", "threads": "1"}
        for frame in frames:
            if pad_h or pad_w:
                frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
            # OpenCV's colour conversion both ways: several times faster than PyAV's, and consistent.
            yuv = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YUV_I420)
            for packet in stream.encode(av.VideoFrame.from_ndarray(yuv, format="yuv420p")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    buffer.seek(0)
    with av.open(buffer) as container:
        decoded = [
            cv2.cvtColor(f.to_ndarray(format="yuv420p"), cv2.COLOR_YUV2RGB_I420)[:height, :width]
            for f in container.decode(video=0)
        ]
    if len(decoded) != len(frames):  # pragma: no cover - libx264 returns every frame it was given
        raise RuntimeError(f"H.264 round trip returned {len(decoded)} of {len(frames)} frames")
    return decoded
