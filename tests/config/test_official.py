"""The official experiment files: read by `load_yaml`, translated by `official_yaml_to_config`."""

import pytest
import yaml

from seqtrack.config import ExperimentConfig, load_yaml, model_preset
from seqtrack.config.official import official_yaml_to_config
from seqtrack.errors import InputError

OFFICIAL_B256 = """
DATA:
  MAX_SAMPLE_INTERVAL: 400
  SAMPLER_MODE: order
  SEQ_FORMAT: xywh
  SEARCH: {CENTER_JITTER: 3.5, FACTOR: 4.0, NUMBER: 1, SCALE_JITTER: 0.5, SIZE: 256}
  TEMPLATE: {CENTER_JITTER: 0, FACTOR: 4.0, NUMBER: 2, SCALE_JITTER: 0, SIZE: 256}
  TRAIN:
    DATASETS_NAME: [LASOT, GOT10K_vottrain, COCO17, TRACKINGNET]
    DATASETS_RATIO: [1, 1, 1, 1]
    SAMPLE_PER_EPOCH: 60000
MODEL:
  BINS: 4000
  FEATURE_TYPE: x
  HIDDEN_DIM: 256
  ENCODER: {TYPE: vit_base_patch16, PRETRAIN_TYPE: mae, DROP_PATH: 0}
  DECODER: {NHEADS: 8, DROPOUT: 0.1, DIM_FEEDFORWARD: 1024, DEC_LAYERS: 2, PRE_NORM: false}
TRAIN:
  BATCH_SIZE: 16
  EPOCH: 500
  LR: 0.0001
  LR_DROP_EPOCH: 400
  ENCODER_MULTIPLIER: 0.1
  WEIGHT_DECAY: 0.0001
  GRAD_CLIP_NORM: 0.1
TEST:
  EPOCH: 500
  SEARCH_FACTOR: 4.0
  SEARCH_SIZE: 256
  TEMPLATE_FACTOR: 4.0
  TEMPLATE_SIZE: 256
  WINDOW: true
  NUM_TEMPLATES: 2
  UPDATE_INTERVALS: {LASOT: 450, GOT10K_TEST: 1, TRACKINGNET: 25, VOT20: 1}
  UPDATE_THRESHOLD: {VOT20: 0.55}
"""


def test_official_yaml_reader(tmp_path):
    path = tmp_path / "seqtrack_b256.yaml"
    path.write_text(OFFICIAL_B256)
    config = load_yaml(path)
    assert isinstance(config, ExperimentConfig)
    assert config.model == model_preset("b256")
    assert config.tracker.window is True
    assert config.tracker.update_presets["vot20"].interval == 1
    assert config.tracker.update_presets["vot20"].threshold == 0.55
    assert config.tracker.update_presets["lasot"].interval == 450
    assert config.train.batch_size == 16 and config.train.max_sample_interval == 400
    assert config.train.dataset_ratios == [1, 1, 1, 1]


def test_official_yaml_defaults_follow_official_config():
    data = yaml.safe_load("MODEL: {ENCODER: {TYPE: vit_large_patch16}}\nTEST: {SEARCH_SIZE: 384, TEMPLATE_SIZE: 384}")
    config = official_yaml_to_config(data)
    assert config.model.decoder.num_layers == 6  # config.py default when the yaml is silent
    assert config.model.num_templates == 1 and config.tracker.window is False


def test_official_values_are_checked_and_errors_name_the_official_key(tmp_path):
    path = tmp_path / "seqtrack_b256.yaml"
    path.write_text(OFFICIAL_B256.replace("LR: 0.0001", "LR: 1e-4"))
    config = load_yaml(path)
    assert config.train.lr == 1e-4 and type(config.train.lr) is float
    assert type(config.train.dataset_ratios[0]) is float  # DATASETS_RATIO [1, 1, 1, 1]: ints become floats
    for old, new, message in [
        ("LR: 0.0001", "LR: abc", "TRAIN.LR (train.lr): expected a number (float), got 'abc' (str)"),
        ("BINS: 4000", "BINS: many", "MODEL.BINS (model.bins): expected an integer (int), got 'many' (str)"),
        ("DATASETS_RATIO: [1, 1, 1, 1]", "DATASETS_RATIO: [1, x]", "DATA.TRAIN.DATASETS_RATIO[1] (train.dataset_"),
        ("VOT20: 0.55", "VOT20: high", "TEST.UPDATE_THRESHOLD.VOT20 (tracker.update_presets.vot20.threshold): "),
        ("FEATURE_TYPE: x", "FEATURE_TYPE: y", "MODEL.FEATURE_TYPE (model.feature_type): expected one of 'x', 'xz'"),
        ("TYPE: vit_base_patch16", "TYPE: resnet", "MODEL.ENCODER.TYPE: unsupported 'resnet'; supported: "),
        ("NUMBER: 1, SCALE", "NUMBER: 2, SCALE", "DATA.SEARCH.NUMBER: other than 1 is not supported"),
    ]:
        assert old in OFFICIAL_B256
        path.write_text(OFFICIAL_B256.replace(old, new))
        with pytest.raises(InputError) as info:
            load_yaml(path)
        assert str(info.value).startswith(f"{path}: {message}"), str(info.value)
    with pytest.raises(InputError, match=r"^MODEL: expected a mapping"):
        official_yaml_to_config({"MODEL": 3})
