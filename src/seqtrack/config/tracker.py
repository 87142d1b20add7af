"""Online tracking settings (the official ``TEST`` block) and the per-benchmark template-update presets."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal, get_args

from seqtrack.config.check import build_config
from seqtrack.errors import InputError


@dataclass
class UpdatePolicy:
    """When the dynamic template is replaced: ``frame % interval == 0 and score > threshold``."""

    interval: int = 9999
    threshold: float = 0.6


# Official per-benchmark update settings (docs/official-behaviour.md §4.4): data, not if-chains.
UPDATE_PRESETS: dict[str, UpdatePolicy] = {
    "default": UpdatePolicy(9999, 0.6),
    "lasot": UpdatePolicy(450, 0.6),
    "lasot_extension_subset": UpdatePolicy(9999, 0.6),
    "got10k_test": UpdatePolicy(1, 0.6),
    "trackingnet": UpdatePolicy(25, 0.6),
    "tnl2k": UpdatePolicy(25, 0.6),
    "otb": UpdatePolicy(9999, 0.6),
    "nfs": UpdatePolicy(9999, 0.6),
    "uav": UpdatePolicy(9999, 0.6),
    "vot20": UpdatePolicy(10, 0.475),
    "vot21": UpdatePolicy(10, 0.475),
    "vot22": UpdatePolicy(10, 0.475),
}

# Per-model overrides of the VOT entries in the released yamls (docs/official-behaviour.md §4.4).
_VOT_OVERRIDES = {"b256": UpdatePolicy(1, 0.55), "b384": UpdatePolicy(20, 0.45)}


def update_presets_for(model_name: str) -> dict[str, UpdatePolicy]:
    """The update presets of a released model (the VOT entries differ for b256 and b384)."""
    presets = dict(UPDATE_PRESETS)
    override = _VOT_OVERRIDES.get(model_name)
    if override is not None:
        for key in ("vot20", "vot21", "vot22"):
            presets[key] = override
    return presets


# How the dynamic template is replaced every `TrackerConfig.update_interval` frames: "likelihood" (official:
# only when the confidence beats `update_threshold`) or "naive" (always; the paper's Tab. 4 #9 ablation).
UpdateMode = Literal["likelihood", "naive"]
UPDATE_MODES: tuple[str, ...] = get_args(UpdateMode)


@dataclass
class TrackerConfig:
    """Online tracking settings (the official ``TEST`` block)."""

    # None → the factors the network was trained with (`ModelConfig`; 4.0 for the released models).
    template_factor: float | None = None
    search_factor: float | None = None
    window: bool = True
    update_interval: int = 9999
    update_threshold: float = 0.6
    # "likelihood" (official): replace the dynamic template only when the score beats `update_threshold`;
    # "naive" (Tab. 4 #9): every `update_interval` frames whatever the score.
    update_mode: UpdateMode = "likelihood"
    clip_margin: float = 10.0
    # Not in the official tracker (its behaviour is the default): weight of the predicted size against
    # the previous one (geometric blend; 1 = take the prediction), and a confidence (0..40) below which
    # the previous box is kept (0 = never).
    size_smoothing: float = 1.0
    hold_score: float = 0.0
    # Power of the Hann window on the centre tokens (1 = official; larger = stronger pull towards the
    # previous position, against look-alikes; used only while `window` is on).
    window_power: float = 1.0
    # Re-detection: after `lost_after` consecutive frames scoring below `lost_score`, search a wider crop
    # (`lost_search_factor` x the target size instead of `search_factor`) until the score recovers.
    # None = off (official).
    lost_search_factor: float | None = None
    lost_after: int = 3
    lost_score: float = 1.0
    update_presets: dict[str, UpdatePolicy] = field(default_factory=lambda: dict(UPDATE_PRESETS))

    def __post_init__(self) -> None:
        if self.update_mode not in UPDATE_MODES:
            raise InputError(f"update_mode must be one of {', '.join(UPDATE_MODES)}, got {self.update_mode!r}")
        if not 0.0 < float(self.size_smoothing) <= 1.0:
            raise InputError(f"size_smoothing must be in (0, 1] (1 = official), got {self.size_smoothing}")
        if not 0.0 <= float(self.hold_score) <= 40.0:
            raise InputError(f"hold_score must be in [0, 40] (0 = official), got {self.hold_score}")
        if not 0.0 < float(self.window_power) <= 16.0:
            raise InputError(f"window_power must be in (0, 16] (1 = official), got {self.window_power}")
        if self.lost_search_factor is not None and not 1.0 <= float(self.lost_search_factor) <= 16.0:
            raise InputError(f"lost_search_factor must be in [1, 16] (None = off), got {self.lost_search_factor}")
        if int(self.lost_after) < 1:
            raise InputError(f"lost_after must be >= 1 frame, got {self.lost_after}")
        if not 0.0 <= float(self.lost_score) <= 40.0:
            raise InputError(f"lost_score must be in [0, 40], got {self.lost_score}")
        # Dict entries (from YAML) become `UpdatePolicy`s, their values checked against the field types
        # (`build_config`); the caller's keys and values are kept, in a mapping of this config's own
        # (editing it does not edit the caller's).
        self.update_presets = {
            k: (build_config(UpdatePolicy, v, root=f"update_presets.{k}") if isinstance(v, dict) else v)
            for k, v in self.update_presets.items()
        }

    def with_updates(
        self, preset: str | None = None, interval: int | None = None, threshold: float | None = None
    ) -> TrackerConfig:
        """A copy with the update policy of a named preset, then explicit overrides applied."""
        config = dataclasses.replace(self)
        if preset is not None:
            key = preset.lower()
            if key not in self.update_presets:
                known = ", ".join(sorted(self.update_presets))
                raise InputError(f"unknown update preset {preset!r}; known presets: {known}")
            config.update_interval = self.update_presets[key].interval
            config.update_threshold = self.update_presets[key].threshold
        if interval is not None:
            if interval < 1:
                raise InputError(f"update interval must be >= 1, got {interval}")
            config.update_interval = interval
        if threshold is not None:
            config.update_threshold = threshold
        return config
