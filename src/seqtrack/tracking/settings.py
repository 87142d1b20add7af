"""Which tracker settings apply: the rule shared by `Tracker.from_pretrained`, ``seqtrack track`` and
``seqtrack eval``.

From lowest to highest priority:

1. the official tracker (`TrackerConfig` defaults, the per-benchmark update presets of the model);
2. the settings recorded in the weights file as recommended for those weights (our safetensors metadata,
   `seqtrack.model.header.TRACKER_KEY`) — skipped with ``settings="official"``;
3. what the caller sets explicitly (keyword arguments, command-line flags, ``--set tracker.X=V``).

The update preset (``updates``) and its interval/threshold overrides are applied last, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

from seqtrack.config import ModelConfig, TrackerConfig, update_presets_for
from seqtrack.errors import CheckpointError, InputError

SettingsSource = Literal["weights", "official"]
SETTINGS_SOURCES: tuple[str, ...] = get_args(SettingsSource)


def resolve_tracker_config(
    model_config: ModelConfig,
    recommended: Mapping[str, object] | None = None,
    *,
    settings: str = "weights",
    overrides: Mapping[str, object] | None = None,
    updates: str | None = "default",
    update_interval: int | None = None,
    update_threshold: float | None = None,
) -> TrackerConfig:
    """The `TrackerConfig` for a network, following the priority rule of this module.

    Args:
        model_config: the network's config (names its update presets).
        recommended: the weights' recommended `TrackerConfig` fields (`WeightsHeader.tracker`).
        settings: ``"weights"`` (default: use ``recommended``) or ``"official"`` (ignore them).
        overrides: fields the caller sets; they win over both.
        updates, update_interval, update_threshold: the update preset and its explicit overrides.
    Raises:
        InputError: an unknown ``settings`` value or a bad override; CheckpointError: recommended
            settings in the file that `TrackerConfig` refuses.
    """
    if settings not in SETTINGS_SOURCES:
        raise InputError(f"settings must be one of {', '.join(SETTINGS_SOURCES)}, got {settings!r}")
    stored = dict(recommended or {}) if settings == "weights" else {}
    try:
        TrackerConfig(**stored)
    except (TypeError, InputError) as error:
        raise CheckpointError(f"the tracker settings stored with the weights are invalid: {error}") from None
    fields = {**stored, **dict(overrides or {})}
    try:
        base = TrackerConfig(update_presets=update_presets_for(model_config.name), **fields)
    except TypeError as error:  # an unknown field name
        raise InputError(f"unknown tracker setting: {error}") from None
    return base.with_updates(updates, update_interval, update_threshold)


__all__ = ["resolve_tracker_config", "SETTINGS_SOURCES", "SettingsSource"]
