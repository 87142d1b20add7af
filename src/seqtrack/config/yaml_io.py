"""Configs in and out of YAML: our own layout (``model`` / ``tracker`` / ``train`` sections, optionally on
top of a ``preset``), and the official experiment files, which `load_yaml` hands to
`seqtrack.config.official`. Every value read is checked against its field's type first
(`seqtrack.config.check`): a bad file is one `ConfigError` naming it, the key, the type and the value."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from seqtrack.config.check import ConfigError, build_config, check_value, field_types, unknown_keys_detail, yaml_problem
from seqtrack.config.experiment import ExperimentConfig, experiment_preset
from seqtrack.config.model import ModelConfig
from seqtrack.config.official import official_yaml_to_config
from seqtrack.errors import InputError


def to_dict(config: Any) -> dict:
    """Plain nested dict of a config dataclass (YAML/JSON friendly)."""
    return dataclasses.asdict(config)


def model_config_from_dict(data: dict, *, source: str = "") -> ModelConfig:
    """Rebuild a `ModelConfig` from `to_dict` output (e.g. a weights file's metadata), every value
    checked against its field's type; unknown keys and wrong types are a `ConfigError` naming
    ``source`` (may be empty) and the dotted key (``model.encoder.depth``)."""
    return build_config(ModelConfig, data, source=source, root="model")


def save_yaml(config: ExperimentConfig | ModelConfig, path: str | Path) -> None:
    """Write a config as YAML (our own layout: ``model`` / ``tracker`` / ``train`` sections)."""
    import yaml  # lazily: `seqtrack track` never needs it (start-up time)

    Path(path).write_text(yaml.safe_dump(to_dict(config), sort_keys=False))


# A chain of `base:` files deeper than this is a mistake (or a cycle the path check missed), not a config.
MAX_BASE_DEPTH = 8


def load_yaml(path: str | Path) -> ExperimentConfig:
    """Read an experiment YAML: our own layout, or an official one (``MODEL``/``DATA``/``TEST`` blocks).

    A file may also start from a preset: ``preset: b256`` then override any section; or from another of
    our files: ``base: ../baseline.yaml`` (a path relative to this file; that file's own ``base`` or
    ``preset`` applies first), then override any section. Every value is checked against its field's
    type and converted (``lr: 1e-4``, a string to YAML 1.1, becomes the float); an unknown key, a wrong
    type or a refused value is an `InputError` (a `ConfigError`) such as
    ``configs/x.yaml: train.lr: expected a number (float), got 'abc' (str)``.
    """
    path = Path(path)
    data = _read_mapping(path)
    if "MODEL" in data or "TEST" in data:
        return official_yaml_to_config(data, name=path.stem, source=str(path))
    return build_config(ExperimentConfig, _resolved(path, data, chain=()), source=str(path))


def _read_mapping(path: Path) -> dict:
    import yaml

    if not path.is_file():
        raise InputError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise InputError(f"{path} is not valid YAML: {yaml_problem(error)}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} must hold a mapping at the top level")
    return data


def _resolved(path: Path, data: dict, chain: tuple[Path, ...]) -> dict:
    """``data`` (read from ``path``) laid over its ``base`` file or ``preset``, as one plain dict."""
    # Checked here rather than by `build_config` so that the list of valid keys includes the two links.
    unknown = [str(key) for key in data if key not in field_types(ExperimentConfig) and key not in ("preset", "base")]
    if unknown:
        raise ConfigError(str(path), *unknown_keys_detail(ExperimentConfig, unknown, "", extra=("preset", "base")))
    data = dict(data)
    preset, base_file = data.pop("preset", None), data.pop("base", None)
    if preset is not None and base_file is not None:
        raise ConfigError(str(path), "base", "give either 'base' (a file) or 'preset' (a name), not both")
    base: dict = {}
    if preset is not None:
        name = check_value(preset, str, key="preset", source=str(path))
        try:
            base = to_dict(experiment_preset(name))
        except InputError as error:  # an unknown preset name
            raise ConfigError(str(path), "preset", str(error)) from None
    elif base_file is not None:
        relative = check_value(base_file, str, key="base", source=str(path))
        target = (path.parent / relative).resolve()
        here = chain + (path.resolve(),)
        if target in here:
            raise ConfigError(str(path), "base", f"{relative!r} leads back to a file that uses it (a cycle)")
        if len(here) >= MAX_BASE_DEPTH:
            raise ConfigError(str(path), "base", f"more than {MAX_BASE_DEPTH} files chained through 'base'")
        if not target.is_file():
            raise ConfigError(str(path), "base", f"file not found: {relative} (relative to {path.parent})")
        parent = _read_mapping(target)
        if "MODEL" in parent or "TEST" in parent:
            raise ConfigError(str(path), "base", f"{relative} is an official experiment file; use our layout")
        base = _resolved(target, parent, here)
    return _deep_merge(base, data)


def _deep_merge(base: dict, override: dict) -> dict:
    """``base`` with ``override`` laid over it, section by section; ``update_presets`` is replaced whole,
    not merged."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "update_presets":
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
