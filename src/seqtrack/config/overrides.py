"""``--set KEY=VALUE``: command-line overrides of any config field, checked like a YAML file's values.

For a command that reads a config::

    from seqtrack.config.overrides import add_set_argument, apply_overrides

    add_set_argument(parser, help="override a tracker setting, e.g. --set tracker.window_power=4")
    ...
    tracker = apply_overrides(tracker, args.set, root="tracker")  # args.set: list[str], [] when not given

* A key is the dotted path of a field: ``train.lr``, ``model.encoder.depth``, ``tracker.window_power``,
  ``tracker.update_presets.lasot.interval`` (an entry of a mapping field; a new entry takes the defaults
  of the fields not given).
* ``root`` says where ``config`` sits in an experiment: ``""`` for an `ExperimentConfig`, ``"tracker"``
  for a `TrackerConfig` on its own (``"model"``, ``"train"`` likewise). Keys may be written relative to
  ``config`` (``window_power=4``) or in full from the experiment (``tracker.window_power=4``): the
  ``root`` prefix is optional, so one spelling works for ``seqtrack train`` and ``seqtrack track`` alike.
  Errors always name the full key.
* A value is read as YAML (``2e-4``, ``true``, ``null``, ``[LASOT, COCO17]``, ``{interval: 5}``), then
  checked and converted by the config check (`seqtrack.config.check`). A mapping given to a section
  (``train={lr: 2e-4, epochs: 3}``) sets those fields of it; a mapping given to a mapping field
  (``tracker.update_presets={...}``) replaces it, as in a YAML file.
* Assignments apply in order (a later one wins) and the config is rebuilt once, so that the config
  classes' own checks (ranges, the crop factors' agreement) see the final values.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Sequence
from typing import Any, TypeVar

from seqtrack.config.check import (
    ConfigError,
    build_config,
    check_value,
    describe,
    field_types,
    unknown_keys_detail,
    yaml_problem,
)
from seqtrack.config.experiment import ExperimentConfig
from seqtrack.config.model import OFFICIAL_CROP_FACTOR

C = TypeVar("C")

# The network's crop factors in an experiment are copies of the train block's (`ExperimentConfig`).
_DERIVED_MODEL_FIELDS = ("template_factor", "search_factor")


def add_set_argument(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    """Add the repeatable ``--set KEY=VALUE`` option; its values land in ``args.set`` (``[]`` when none),
    ready for `apply_overrides`."""
    parser.add_argument(
        "--set",
        dest="set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=help
        or "override a config field (repeatable; the value is YAML, checked against the field's type), "
        "e.g. --set train.lr=2e-4",
    )


def apply_overrides(config: C, assignments: Sequence[str], *, root: str = "") -> C:
    """A new config: ``config`` with the ``KEY=VALUE`` ``assignments`` applied (see the module docstring).

    Args:
        config: a config dataclass (`ExperimentConfig`, `TrackerConfig`, `ModelConfig`, `TrainConfig`);
            it is not changed.
        assignments: ``["train.lr=2e-4", "model.encoder.depth=6"]``, as `add_set_argument` collects them.
        root: where ``config`` sits in an experiment (``""``, ``"tracker"``, ...); keys may carry it as a
            prefix or not.
    Returns:
        ``config`` itself when there are no assignments, else a new config of the same class.
    Raises:
        ConfigError: an `InputError` whose message starts with the ``--set`` argument at fault, e.g.
            ``--set train.lr=abc: train.lr: expected a number (float), got 'abc' (str)``.
    """
    if not assignments:
        return config
    cls = type(config)
    data = dataclasses.asdict(config)
    if cls is ExperimentConfig:
        # The model's crop factors are copies of the train block's: back to "not stated", so that a new
        # train factor reaches the model when rebuilt; a model factor set below must agree, as in a file.
        for name in _DERIVED_MODEL_FIELDS:
            data["model"][name] = OFFICIAL_CROP_FACTOR
    for assignment in assignments:
        import yaml  # here, not at import: the track path never parses YAML (start-up time)

        source = f"--set {assignment}"
        parts, text = _split(assignment, root, source)
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ConfigError(
                source, _join(root, parts), f"the value is not valid YAML: {yaml_problem(error)}"
            ) from None
        _assign(data, cls, parts, value, root, source)
    # The class's own checks see all the assignments together; an error there names them all.
    return build_config(cls, data, source=" ".join(f"--set {a}" for a in assignments), root=root)


def _join(root: str, parts: list[str]) -> str:
    return ".".join([root, *parts] if root else parts)


def _split(assignment: str, root: str, source: str) -> tuple[list[str], str]:
    """``(key parts relative to the config, value text)``; the ``root`` prefix is dropped when given."""
    key, sep, text = assignment.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(parts):
        raise ConfigError(source, "", "expected KEY=VALUE with a dotted KEY, e.g. --set train.lr=2e-4")
    prefix = root.split(".") if root else []
    if prefix and parts[: len(prefix)] == prefix and len(parts) > len(prefix):
        parts = parts[len(prefix) :]
    return parts, text


def _assign(data: dict, cls: type, parts: list[str], value: Any, root: str, source: str) -> None:
    """Check ``value`` against the field at ``parts`` and store it in ``data`` (`dataclasses.asdict` form)."""
    annotation: Any = cls
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if dataclasses.is_dataclass(annotation):
            if part not in field_types(annotation):
                key, detail = unknown_keys_detail(annotation, [part], _join(root, parts[:depth]))
                raise ConfigError(source, key, detail)
            annotation = field_types(annotation)[part]
        elif typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
            if not last:
                node.setdefault(part, {})  # a new entry of a mapping field: its other fields take defaults
        else:
            where = _join(root, parts[:depth])
            raise ConfigError(source, where, f"is {describe(annotation)}, it has no key {part!r}")
        if not last:
            node = node[part]
    if dataclasses.is_dataclass(annotation) and isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
        value = _merge_section(annotation, node[parts[-1]], value)
    value = check_value(value, annotation, key=_join(root, parts), source=source)
    node[parts[-1]] = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


def _merge_section(cls: type, current: dict, given: dict) -> dict:
    """A mapping given to a section sets those fields of it, section by section below; any other field
    (a mapping field such as ``update_presets`` included) is replaced, as in a YAML file."""
    merged = dict(current)
    for key, value in given.items():
        annotation = field_types(cls).get(key)
        if dataclasses.is_dataclass(annotation) and isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = _merge_section(annotation, merged[key], value)
        merged[key] = value
    return merged
