"""The training recipe refuses values a run cannot use (issue 18): each is one `ConfigError` naming the
field, whether it comes from our YAML, ``--set``, a flag or an official experiment file, and no other
exception ever comes out of a malformed official file."""

from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path

import pytest
import yaml

import seqtrack
from seqtrack.config import ConfigError, TrainConfig, load_yaml
from seqtrack.config.official import official_yaml_to_config
from seqtrack.errors import SeqTrackError

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize(
    "field, value, detail",
    [
        ("lr", -1e-4, "must be > 0, got -0.0001"),
        ("lr", 0.0, "must be > 0, got 0.0"),
        ("lr", NAN, "must be a finite number, got nan"),
        ("weight_decay", -1.0, "must be >= 0, got -1.0"),
        ("weight_decay", INF, "must be a finite number, got inf"),
        ("epochs", -1, "must be at least 1, got -1"),
        ("epochs", 0, "must be at least 1, got 0"),
        ("batch_size", 0, "must be at least 1, got 0"),
        ("samples_per_epoch", 0, "must be at least 1, got 0"),
        ("save_every", 0, "must be at least 1, got 0"),
        ("lr_drop_epoch", 0, "must be at least 1, got 0"),
        ("max_sample_interval", 0, "must be at least 1, got 0"),
        ("num_workers", -1, "must be at least 0, got -1"),
        ("seed", -1, "must be at least 0, got -1"),
        ("seed", 2**40, "must be at most 2147483647"),
        ("lr_drop_gamma", 0.0, "must be in (0, 1], got 0.0"),
        ("lr_drop_gamma", 1.5, "must be in (0, 1], got 1.5"),
        ("grad_clip_norm", NAN, "must be a finite number, got nan"),
        ("encoder_lr_multiplier", INF, "must be a finite number, got inf"),
        ("search_center_jitter", -0.5, "must be in [0, 16], got -0.5"),
        ("search_scale_jitter", 3.0, "must be in [0, 2], got 3.0"),
        ("template_scale_jitter", NAN, "must be a finite number, got nan"),
        ("search_factor", 0.5, "must be in [1, 16], got 0.5"),
        ("template_factor", 100.0, "must be in [1, 16], got 100.0"),
        ("center_sigma", 0.0, "must be > 0, got 0.0"),
        ("target_sigma", -1.0, "must be >= 0, got -1.0"),
        ("ce_weight", -1.0, "must be >= 0, got -1.0"),
        ("special_token_weight", NAN, "must be a finite number, got nan"),
        ("center_loss_weight", -0.1, "must be >= 0, got -0.1"),
    ],
)
def test_out_of_range_values_name_the_field(field, value, detail):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**{field: value})
    assert str(info.value).startswith(f"train.{field}: {detail}")
    with pytest.raises(ConfigError, match=f"^train.{field}: "):  # a copy with another value is checked too
        dataclasses.replace(TrainConfig(), **{field: value})


def test_dataset_ratios():
    with pytest.raises(ConfigError, match=r"^train.dataset_ratios\[1\]: must be a finite number >= 0, got -1.0"):
        TrainConfig(dataset_ratios=[1.0, -1.0, 1.0, 1.0])
    with pytest.raises(ConfigError, match="at least one ratio must be above 0"):
        TrainConfig(dataset_ratios=[0.0, 0.0, 0.0, 0.0])


def test_the_shipped_recipes_and_the_official_semantics_pass():
    TrainConfig()
    TrainConfig(encoder_lr_multiplier=0.0, grad_clip_norm=0.0)  # frozen encoder, no clipping
    TrainConfig(encoder_lr_multiplier=-1.0, grad_clip_norm=-1.0)  # the same, as spelled before
    TrainConfig(lr_drop_gamma=1.0, num_workers=0, seed=0, weight_decay=0.0)
    shipped = sorted((Path(seqtrack.__file__).parent / "configs").glob("*.yaml"))
    assert shipped
    for path in shipped:
        load_yaml(path)


def test_a_bad_value_in_our_yaml_names_the_file_and_the_key(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("preset: t128\ntrain: {epochs: -1}\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert str(info.value) == f"{path}: train.epochs: must be at least 1, got -1"


# --- official experiment files ------------------------------------------------------------------------------

OFFICIAL = """
DATA:
  MAX_SAMPLE_INTERVAL: 400
  SEARCH: {CENTER_JITTER: 3.5, FACTOR: 4.0, NUMBER: 1, SCALE_JITTER: 0.5, SIZE: 256}
  TEMPLATE: {CENTER_JITTER: 0, FACTOR: 4.0, NUMBER: 2, SCALE_JITTER: 0, SIZE: 256}
  TRAIN: {DATASETS_NAME: [LASOT, GOT10K_vottrain], DATASETS_RATIO: [1, 1], SAMPLE_PER_EPOCH: 60000}
MODEL:
  BINS: 4000
  HIDDEN_DIM: 256
  ENCODER: {TYPE: vit_base_patch16, DROP_PATH: 0}
  DECODER: {NHEADS: 8, DROPOUT: 0.1, DIM_FEEDFORWARD: 1024, DEC_LAYERS: 2, PRE_NORM: false}
TRAIN:
  AMP: false
  BATCH_SIZE: 16
  EPOCH: 500
  LR: 0.0001
  LR_DROP_EPOCH: 400
  SCHEDULER: {DECAY_RATE: 0.1}
  GRAD_CLIP_NORM: 0.1
TEST:
  SEARCH_SIZE: 256
  TEMPLATE_SIZE: 256
  WINDOW: true
  UPDATE_INTERVALS: {LASOT: 450, VOT20: 1}
  UPDATE_THRESHOLD: {VOT20: 0.55}
"""


def _places(node: dict, prefix: tuple = ()):
    """Every key path of a nested mapping (blocks and leaves)."""
    for key, value in node.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from _places(value, (*prefix, key))


def _mutations():
    base = yaml.safe_load(OFFICIAL)
    for place in _places(base):
        for label, value in [("dropped", None), ("a string", "abc"), ("a list", [1, "x"]), ("null", None)]:
            data = copy.deepcopy(base)
            parent = data
            for key in place[:-1]:
                parent = parent[key]
            if label == "dropped":
                del parent[place[-1]]
            else:
                parent[place[-1]] = value
            yield pytest.param(data, id=f"{'.'.join(place)}={label}")


def test_the_official_sample_is_valid():
    official_yaml_to_config(yaml.safe_load(OFFICIAL), source="seqtrack_b256.yaml")


@pytest.mark.parametrize("data", list(_mutations()))
def test_a_malformed_official_file_is_one_config_error_or_valid(data):
    """Drop any block or key, or set it to a string, a list or null: either the file still makes a valid
    config (a missing key takes the official default), or the error is one line naming the file."""
    try:
        config = official_yaml_to_config(data, source="seqtrack_b256.yaml")
    except SeqTrackError as error:
        text = str(error)
        assert text.startswith("seqtrack_b256.yaml: ") and "\n" not in text, text
    else:
        assert config.train.epochs >= 1 and config.train.lr > 0


@pytest.mark.parametrize(
    "place, value, message",
    [
        (("TRAIN", "EPOCH"), -1, "TRAIN.EPOCH (train.epochs): must be at least 1, got -1"),
        (("TRAIN", "LR"), ".nan", "TRAIN.LR (train.lr): expected a number (float), got '.nan' (str)"),
        (("TRAIN", "LR"), NAN, "TRAIN.LR (train.lr): must be a finite number, got nan"),
        (("TRAIN", "BATCH_SIZE"), 0, "TRAIN.BATCH_SIZE (train.batch_size): must be at least 1, got 0"),
        (("TRAIN", "SCHEDULER"), {"DECAY_RATE": 5}, "TRAIN.SCHEDULER.DECAY_RATE (train.lr_drop_gamma): must be in"),
        (("TRAIN", "AMP"), "yes", "TRAIN.AMP: expected true or false (bool), got 'yes' (str)"),
        (("DATA", "SEARCH"), {"SCALE_JITTER": -1}, "DATA.SEARCH.SCALE_JITTER (train.search_scale_jitter): must be"),
    ],
)
def test_official_range_errors_name_the_official_key(place, value, message):
    data = yaml.safe_load(OFFICIAL)
    data[place[0]][place[1]] = value
    with pytest.raises(ConfigError) as info:
        official_yaml_to_config(data, source="x.yaml")
    assert str(info.value).startswith(f"x.yaml: {message}")
