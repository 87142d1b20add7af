"""Settings of the synthetic generator (one frozen dataclass: it is part of every sequence's identity)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from seqtrack.errors import InputError


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

    Realism effects (all off by default: the output is then bit-identical to the generator without them;
    their random draws come from a separate stream, so turning one on keeps the rest of the scene):
        photos: a folder of photographs (``photo_packages`` writes one), split train / val / test by a
            hash of each file name (`seqtrack.data.synthetic.photos`); None: scikit-image photographs only.
        photo_share: with ``photos``, the probability that a source image is drawn from that folder
            rather than from the split's own sources.
        cutout_share: with ``photos`` holding cut-outs (``*.cutout.png``), the probability that the target
            is a whole cut-out object (its real outline) rather than a shape cut from a photograph.
        warp: largest out-of-plane tilt (radians) of the target and its look-alikes: a perspective
            warp that changes slowly over the sequence (0 at frame 0).
        color_drift: limit of the slow per-channel log gain walk (white balance) and, doubled, of an
            extra global exposure walk.
        jpeg_range: ``(low, high)`` JPEG quality range: each frame goes through JPEG at a random quality
            in memory (before being written); None: off.
        h264_prob: probability that a whole sequence goes through H.264 (PyAV, libx264) at a CRF drawn
            from ``h264_crf``.
        rolling_shutter: largest readout time as a fraction of the frame interval: each object (and the
            background) is sheared by its own apparent velocity times that time.
        shake: camera shake amplitude in frame pixels (a jittery translation and a slight roll).
        large_prob: probability of a slow, large target (30-70 % of the frame's short side).
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
    photos: str | None = None
    photo_share: float = 0.8
    cutout_share: float = 0.5
    warp: float = 0.0
    color_drift: float = 0.0
    jpeg_range: tuple[int, int] | None = None
    h264_prob: float = 0.0
    h264_crf: tuple[int, int] = (20, 36)
    rolling_shutter: float = 0.0
    shake: float = 0.0
    large_prob: float = 0.0

    def __post_init__(self) -> None:
        for name in (
            "photo_share",
            "cutout_share",
            "h264_prob",
            "large_prob",
            "blur_prob",
            "occluder_prob",
            "exit_prob",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InputError(f"SyntheticConfig.{name} must be in [0, 1], got {value}")
        for name in ("warp", "color_drift", "rolling_shutter", "shake"):
            if getattr(self, name) < 0:
                raise InputError(f"SyntheticConfig.{name} must be >= 0, got {getattr(self, name)}")
        if self.warp > 1.0:
            raise InputError(f"SyntheticConfig.warp must be at most 1 radian, got {self.warp}")
        if self.jpeg_range is not None and not 1 <= self.jpeg_range[0] <= self.jpeg_range[1] <= 100:
            raise InputError(f"SyntheticConfig.jpeg_range must be 1 <= low <= high <= 100, got {self.jpeg_range}")
        if not 0 <= self.h264_crf[0] <= self.h264_crf[1] <= 51:
            raise InputError(f"SyntheticConfig.h264_crf must be 0 <= low <= high <= 51, got {self.h264_crf}")

    @property
    def effects_on(self) -> bool:
        """Whether any realism effect (not counting ``photos``) is on: they need the second random stream."""
        photo_fields = ("photos", "photo_share", "cutout_share")
        return any(
            getattr(self, name) != getattr(_DEFAULT, name) for name in REALISM_FIELDS if name not in photo_fields
        )


# Everything after ``jpeg_quality``: the options that the default generator does not have.
REALISM_FIELDS = tuple(f.name for f in fields(SyntheticConfig))[9:]
_DEFAULT = SyntheticConfig()


def realistic(config: SyntheticConfig = _DEFAULT) -> SyntheticConfig:
    """The ``--realism`` preset: ``config`` with a mix of every effect (its other settings kept).

    Measured cost: about 1.7x the default generator's time (package docstring).
    """
    return replace(
        config,
        warp=0.6,
        color_drift=0.12,
        jpeg_range=(35, 90),
        h264_prob=0.3,
        rolling_shutter=0.6,
        shake=1.5,
        large_prob=0.25,
        blur_prob=max(config.blur_prob, 0.7),
    )
