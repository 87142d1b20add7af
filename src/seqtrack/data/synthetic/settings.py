"""Settings of the synthetic generator (one frozen dataclass: it is part of every sequence's identity)."""

from __future__ import annotations

from dataclasses import dataclass


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
