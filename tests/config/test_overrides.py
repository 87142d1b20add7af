"""``--set KEY=VALUE`` (`apply_overrides`, `add_set_argument`): any field, checked like a file's values."""

from __future__ import annotations

import argparse

import pytest

from seqtrack.config import (
    ConfigError,
    TrackerConfig,
    TrainConfig,
    UpdatePolicy,
    add_set_argument,
    apply_overrides,
    experiment_preset,
)


def test_dotted_keys_reach_the_fields_and_values_are_converted():
    base = experiment_preset("t128")
    config = apply_overrides(
        base, ["train.lr=2e-4", "model.encoder.depth=6", "tracker.window_power=4", "train.datasets=[SYNTHETIC]"]
    )
    assert config.train.lr == 2e-4 and type(config.train.lr) is float
    assert config.model.encoder.depth == 6 and config.tracker.window_power == 4.0
    assert config.train.datasets == ["SYNTHETIC"]
    assert base.train.lr == 1e-4 and base.model.encoder.depth == 12  # the given config is left alone
    assert apply_overrides(base, []) is base


def test_later_assignments_win_and_sections_take_mappings():
    config = apply_overrides(experiment_preset("t128"), ["train.lr=1e-3", "train={lr: 3e-4, epochs: 3}"])
    assert (config.train.lr, config.train.epochs, config.train.batch_size) == (3e-4, 3, 16)
    config = apply_overrides(experiment_preset("t128"), ["model={encoder: {depth: 2}}"])
    assert config.model.encoder.depth == 2 and config.model.encoder.embed_dim == 192  # merged, not replaced


def test_mapping_fields_take_new_entries():
    config = apply_overrides(experiment_preset("t128"), ["tracker.update_presets.mine.interval=3"])
    assert config.tracker.update_presets["mine"] == UpdatePolicy(3, 0.6)
    assert config.tracker.update_presets["lasot"].interval == 450


def test_a_train_crop_factor_reaches_the_model():
    config = apply_overrides(experiment_preset("t128"), ["train.template_factor=2"])
    assert config.model.template_factor == 2.0 and config.train.template_factor == 2.0
    again = apply_overrides(config, ["train.lr=1e-3"])  # the derived model factor is no contradiction
    assert again.model.template_factor == 2.0
    with pytest.raises(ConfigError, match="model.template_factor 3.0 differs from train.template_factor 2.0"):
        apply_overrides(config, ["model.template_factor=3"])


def test_a_tracker_config_alone_takes_keys_with_or_without_its_prefix():
    tracker = TrackerConfig()
    for key in ("window_power", "tracker.window_power"):
        assert apply_overrides(tracker, [f"{key}=4"], root="tracker").window_power == 4.0
    assert apply_overrides(tracker, ["lost_search_factor=2"], root="tracker").lost_search_factor == 2.0
    assert apply_overrides(tracker, ["lost_search_factor=null"], root="tracker").lost_search_factor is None
    with pytest.raises(ConfigError, match=r"^--set window=maybe: tracker.window: expected true or false \(bool\)"):
        apply_overrides(tracker, ["window=maybe"], root="tracker")
    train = apply_overrides(TrainConfig(), ["amp=bf16"], root="train")
    assert train.amp == "bf16"


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("train.lr=abc", "--set train.lr=abc: train.lr: expected a number (float), got 'abc' (str)"),
        ("train.lrr=1", "--set train.lrr=1: train.lrr: unknown key (did you mean 'lr'?); valid keys of train: "),
        ("trian.lr=1", "--set trian.lr=1: trian: unknown key (did you mean 'train'?); valid keys: model, tracker"),
        ("train.amp=fp32", "--set train.amp=fp32: train.amp: expected one of 'off', 'fp16', 'bf16', got 'fp32'"),
        ("train.lr.x=1", "--set train.lr.x=1: train.lr: is a number (float), it has no key 'x'"),
        ("train.lr", "--set train.lr: expected KEY=VALUE with a dotted KEY"),
        ("train..lr=1", "--set train..lr=1: expected KEY=VALUE"),
        ("=1", "--set =1: expected KEY=VALUE"),
        ("train.lr=[1", "--set train.lr=[1: train.lr: the value is not valid YAML: "),
        ("train.lr=", "--set train.lr=: train.lr: expected a number (float), got null"),
        ("model.encoder=3", "--set model.encoder=3: model.encoder: expected a mapping (the fields of EncoderConfig)"),
        ("tracker.window_power=40", "--set tracker.window_power=40: tracker: window_power must be in (0, 16]"),
    ],
)
def test_bad_assignments_are_one_line_naming_the_argument(assignment, message):
    with pytest.raises(ConfigError) as info:
        apply_overrides(experiment_preset("t128"), [assignment])
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_add_set_argument_collects_repeated_assignments():
    parser = argparse.ArgumentParser()
    add_set_argument(parser, help="override a tracker setting")
    assert parser.parse_args([]).set == []
    assert parser.parse_args(["--set", "a=1", "--set", "b.c=x"]).set == ["a=1", "b.c=x"]
    assert "override a tracker setting" in parser.format_help() and "KEY=VALUE" in parser.format_help()
