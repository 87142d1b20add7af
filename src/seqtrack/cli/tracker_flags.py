"""The tracker-setting flags of ``seqtrack track`` and ``seqtrack attention`` (`TrackerConfig` fields behind
named flags), and the ``--settings`` choice between the settings stored with the weights and the official
tracker. (``seqtrack eval`` sets the same fields with ``--set tracker.FIELD=VALUE``.)"""

from __future__ import annotations

import argparse

from seqtrack.errors import InputError

# flag field -> (type, metavar, help). Defaults are None: an unset flag leaves the field to the weights'
# recommended settings or, without those, to the official tracker (seqtrack.tracking.settings).
SETTING_FLAGS: dict[str, tuple[type, str, str]] = {
    "size_smoothing": (float, "A", "weight of the predicted size against the previous one, in (0, 1] (1: official)"),
    "hold_score": (float, "S", "keep the previous box when the confidence (0..40) is below S (0: official, never)"),
    "window_power": (
        float,
        "P",
        "power of the Hann window on the centre tokens (1: official; larger: stronger pull towards the previous "
        "position)",
    ),
    "lost_search_factor": (
        float,
        "F",
        "re-detection: search a crop F x the target size once the target seems lost (official: off)",
    ),
    "lost_after": (int, "N", "the target seems lost after N consecutive frames scoring below --lost-score (3)"),
    "lost_score": (float, "S", "confidence (0..40) below which a frame counts as low (1.0)"),
}


def add_settings_argument(parser: argparse.ArgumentParser) -> None:
    """``--settings weights|official``."""
    parser.add_argument(
        "--settings",
        choices=("weights", "official"),
        default="weights",
        help="weights (default): the tracker settings the weights file recommends (the demo model's), "
        "then your flags; official: the paper's tracker on any weights, then your flags",
    )


def add_tracker_setting_arguments(parser: argparse.ArgumentParser) -> None:
    """The update preset flags, `add_settings_argument`, one flag per field of `SETTING_FLAGS`, and
    ``--set tracker.FIELD=VALUE`` for any other `TrackerConfig` field."""
    from seqtrack.config.overrides import add_set_argument

    group = parser.add_argument_group("tracker settings (unset: the weights' recommended ones, else official)")
    group.add_argument(
        "--updates",
        default="default",
        help="template-update preset: default, lasot, got10k_test, trackingnet, tnl2k, otb, nfs, "
        "uav, vot20 ... (default: default)",
    )
    group.add_argument("--update-interval", type=int, help="override the preset's update interval (frames)")
    group.add_argument("--update-threshold", type=float, help="override the preset's confidence threshold")
    # Validated in `tracker_overrides` (not argparse choices): a bad value is one line naming the flag.
    group.add_argument(
        "--update-mode",
        default=None,
        metavar="MODE",
        help="likelihood (official): replace the dynamic template only when the score beats the threshold; "
        "naive: every update interval whatever the score (the paper's Tab. 4 ablation)",
    )
    group.add_argument(
        "--no-window",
        dest="window",
        action="store_false",
        default=None,
        help="no Hann window on the centre tokens (tracker.window=false; the official tracker uses it)",
    )
    add_settings_argument(group)
    for field, (kind, metavar, help_text) in SETTING_FLAGS.items():
        group.add_argument(f"--{field.replace('_', '-')}", type=kind, default=None, metavar=metavar, help=help_text)
    add_set_argument(
        group, help="set any tracker setting, e.g. --set tracker.window=false (repeatable; wins over flags)"
    )


def set_overrides(assignments: list[str], base: dict | None = None) -> dict:
    """The `TrackerConfig` fields that ``--set`` assignments give (``tracker.`` prefix optional), each checked
    and converted like a config file's value (`seqtrack.config.overrides.apply_overrides`), laid over ``base``."""
    from seqtrack.config import TrackerConfig
    from seqtrack.config.overrides import apply_overrides

    fields = dict(base or {})
    if not assignments:
        return fields
    updated = apply_overrides(TrackerConfig(**fields), assignments, root="tracker")
    for assignment in assignments:
        name = assignment.split("=", 1)[0].strip().removeprefix("tracker.").split(".")[0]
        fields[name] = getattr(updated, name)
    return fields


def tracker_overrides(args: argparse.Namespace) -> dict:
    """The `TrackerConfig` fields the user set with flags, checked now (before anything is opened); a bad
    value is reported with the flag the user typed, not the config field behind it."""
    from seqtrack.config import TrackerConfig

    named = (*SETTING_FLAGS, "update_mode", "window")
    options = {field: getattr(args, field) for field in named if getattr(args, field, None) is not None}
    try:
        TrackerConfig(**options)
    except InputError as error:
        message = str(error)
        field = next((key for key in options if message.startswith(key + " ")), None)
        if field is None:
            raise
        raise InputError(f"--{field.replace('_', '-')}{message[len(field) :]}") from None
    options = set_overrides(getattr(args, "set", None) or [], options)
    power = options.get("window_power", 1.0)
    if getattr(args, "backend", "torch") != "torch" and power != 1.0:
        raise InputError(
            f"--window-power {power:g} needs --backend torch (an exported graph applies "
            "the Hann window as is or not at all)"
        )
    return options


__all__ = [
    "add_tracker_setting_arguments",
    "add_settings_argument",
    "tracker_overrides",
    "set_overrides",
    "SETTING_FLAGS",
]
