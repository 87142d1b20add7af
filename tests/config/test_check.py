"""The config check (`seqtrack.config.check`): each annotation's rule, the conversions, and the messages."""

from __future__ import annotations

import dataclasses
import typing
from typing import Literal

import pytest

from seqtrack.config import (
    ConfigError,
    DecoderConfig,
    EncoderConfig,
    ExperimentConfig,
    ModelConfig,
    TrackerConfig,
    TrainConfig,
    UpdatePolicy,
    build_config,
    check_value,
    model_config_from_dict,
    to_dict,
)
from seqtrack.config.check import describe, field_types
from seqtrack.errors import InputError

ALL_CONFIGS = (ExperimentConfig, ModelConfig, EncoderConfig, DecoderConfig, TrackerConfig, UpdatePolicy, TrainConfig)


@pytest.mark.parametrize(
    ("annotation", "value", "expected"),
    [
        # float: ints and floats, and strings written as numbers (YAML 1.1 reads 1e-4 as a string)
        (float, 1, 1.0),
        (float, 2.5, 2.5),
        (float, "1e-4", 1e-4),
        (float, "2.5e-3", 2.5e-3),
        (float, "-3E+2", -300.0),
        (float, ".5", 0.5),
        # int: ints, and floats with an integral value (nothing is lost)
        (int, 8, 8),
        (int, 8.0, 8),
        (bool, True, True),
        (bool, False, False),
        (str, "LASOT", "LASOT"),
        (Literal["off", "fp16"], "fp16", "fp16"),
        (float | None, None, None),
        (float | None, "1e-3", 1e-3),
        (list[float], [1, "2e0", 3.5], [1.0, 2.0, 3.5]),
        (tuple[int, ...], [1, 2.0], (1, 2)),
        (dict[str, float], {"a": 1}, {"a": 1.0}),
    ],
)
def test_accepted_values_are_converted(annotation, value, expected):
    got = check_value(value, annotation, key="k")
    assert got == expected and type(got) is type(expected)
    if isinstance(expected, (list, tuple, dict)):
        items = expected.values() if isinstance(expected, dict) else expected
        got_items = got.values() if isinstance(got, dict) else got
        assert [type(x) for x in got_items] == [type(x) for x in items]


@pytest.mark.parametrize(
    ("annotation", "value", "message"),
    [
        (float, "abc", "k: expected a number (float), got 'abc' (str)"),
        (float, True, "k: expected a number (float), got True (bool)"),
        (float, "nan", "got 'nan' (str)"),  # only numbers as written; .nan is YAML's own spelling
        (float, "1_000", "got '1_000' (str)"),
        (float, [1.0], "got [1.0] (list)"),
        (int, True, "k: expected an integer (int), got True (bool)"),
        (int, 8.5, "k: expected an integer (int), got 8.5 (float)"),
        (int, "8", "got '8' (str)"),
        (bool, 1, "k: expected true or false (bool), got 1 (int)"),
        (bool, "true", "got 'true' (str)"),
        (str, 5, "k: expected a string (str), got 5 (int)"),
        (str, None, "k: expected a string (str), got null"),
        (Literal["off", "fp16"], "fp32", "k: expected one of 'off', 'fp16', got 'fp32' (str)"),
        (Literal["off", "fp16"], False, "got False (bool)"),  # YAML 1.1 reads a bare off as false
        (float | None, "x", "k: expected a number (float) or null, got 'x' (str)"),
        (list[float], [1.0, "x"], r"k[1]: expected a number (float), got 'x' (str)"),
        (list[float], 1.0, "k: expected a list (list[float]), got 1.0 (float)"),
        (dict[str, int], {"a": "x"}, "k.a: expected an integer (int), got 'x' (str)"),
        (dict[str, int], {3: 1}, "k.3: expected a str key, got 3 (int)"),
        (dict[str, int], [1], "k: expected a mapping (dict[str, int]), got [1] (list)"),
        (UpdatePolicy, 3, "k: expected a mapping (the fields of UpdatePolicy), got 3 (int)"),
        (UpdatePolicy, {"every": 3}, "k.every: unknown key; valid keys of k: interval, threshold"),
    ],
)
def test_refused_values_name_the_key_the_type_and_the_value(annotation, value, message):
    with pytest.raises(ConfigError) as info:
        check_value(value, annotation, key="k", source="f.yaml")
    text = str(info.value)
    assert text.startswith("f.yaml: k") and text.endswith(message) and "\n" not in text
    assert isinstance(info.value, InputError)  # the CLI prints it as one line, exit status 2


def test_long_values_are_cut_short():
    with pytest.raises(ConfigError, match=r"got \[0, 1, 2, .*\.\.\. \(list\)$"):
        check_value(list(range(100)), str, key="k")


def test_sections_are_built_recursively_and_unknown_keys_listed():
    config = build_config(ModelConfig, {"encoder": {"depth": 2.0, "drop_path": "1e-1"}, "bins": 64}, root="model")
    assert config.encoder.depth == 2 and type(config.encoder.depth) is int and config.encoder.drop_path == 0.1
    with pytest.raises(ConfigError) as info:
        build_config(ModelConfig, {"encoder": {"dpeth": 2}}, source="m.json", root="model")
    assert str(info.value).startswith("m.json: model.encoder.dpeth: unknown key (did you mean 'depth'?); ")
    assert "valid keys of model.encoder: embed_dim, depth, num_heads" in str(info.value)
    with pytest.raises(ConfigError, match="^model: unknown keys 'a', 'b'; valid keys of model: encoder, decoder"):
        build_config(ModelConfig, {"a": 1, "b": 2}, root="model")


def test_values_a_class_refuses_name_the_section():
    with pytest.raises(ConfigError, match=r"^x.yaml: tracker: size_smoothing must be in \(0, 1\]"):
        build_config(ExperimentConfig, {"tracker": {"size_smoothing": 2}}, source="x.yaml")


def test_instances_are_taken_as_they_are():
    policy = UpdatePolicy(3, 0.5)
    tracker = build_config(TrackerConfig, {"update_presets": {"mine": policy}})
    assert tracker.update_presets["mine"] is policy


def test_dict_sections_of_the_config_classes_are_checked():
    with pytest.raises(ConfigError, match=r"^train.lr: expected a number \(float\), got 'abc' \(str\)$"):
        ExperimentConfig(train={"lr": "abc"})
    assert ExperimentConfig(train={"lr": "1e-4"}).train.lr == 1e-4
    with pytest.raises(ConfigError, match=r"^update_presets.lasot.interval: expected an integer"):
        TrackerConfig(update_presets={"lasot": {"interval": "x"}})


def test_model_config_from_dict_checks_metadata():
    config = model_config_from_dict(to_dict(ModelConfig(bins=64)))
    assert config == ModelConfig(bins=64)
    data = to_dict(ModelConfig())
    data["encoder"]["depth"] = "12"
    with pytest.raises(ConfigError, match=r"^model.encoder.depth: expected an integer \(int\), got '12' \(str\)$"):
        model_config_from_dict(data)
    with pytest.raises(ConfigError, match=r"^w.safetensors: model: expected a mapping"):
        model_config_from_dict([1, 2], source="w.safetensors")


def test_every_config_field_has_a_checkable_type():
    # A field type the check does not know would be a TypeError at load time: caught here instead.
    for cls in ALL_CONFIGS:
        for name, annotation in field_types(cls).items():
            default = to_dict(cls())[name] if dataclasses.is_dataclass(annotation) else getattr(cls(), name)
            if isinstance(default, dict) and typing.get_origin(annotation) is dict:
                default = {k: to_dict(v) if dataclasses.is_dataclass(v) else v for k, v in default.items()}
            check_value(default, annotation, key=f"{cls.__name__}.{name}")
            assert describe(annotation)


def test_update_presets_is_a_mapping_of_policies():
    assert field_types(TrackerConfig)["update_presets"] == dict[str, UpdatePolicy]
    assert describe(dict[str, UpdatePolicy]) == "a mapping (dict[str, UpdatePolicy])"
