import pytest
import yaml

from seqtrack.config import (MODEL_PRESETS, ExperimentConfig, experiment_preset, load_yaml, model_preset,
                             save_yaml)
from seqtrack.errors import InputError


def test_presets_are_official():
    b256 = model_preset("b256")
    assert (b256.encoder.embed_dim, b256.encoder.depth, b256.encoder.num_heads) == (768, 12, 12)
    assert (b256.search_size, b256.template_size, b256.num_templates, b256.bins) == (256, 256, 2, 4000)
    assert (b256.decoder.hidden_dim, b256.decoder.num_layers, b256.decoder.num_heads) == (256, 2, 8)
    l384 = model_preset("seqtrack_l384")
    assert (l384.encoder.embed_dim, l384.encoder.depth, l384.search_size) == (1024, 24, 384)
    assert l384.num_memory_tokens == 576


def test_preset_copy_is_independent():
    a = model_preset("b256")
    a.encoder.depth = 3
    assert MODEL_PRESETS["b256"].encoder.depth == 12


def test_yaml_round_trip(tmp_path):
    config = experiment_preset("t128")
    save_yaml(config, tmp_path / "c.yaml")
    assert load_yaml(tmp_path / "c.yaml") == config


def test_yaml_preset_with_override(tmp_path):
    (tmp_path / "c.yaml").write_text("preset: b256\nmodel:\n  bins: 1000\ntrain:\n  batch_size: 4\n")
    config = load_yaml(tmp_path / "c.yaml")
    assert config.model.bins == 1000 and config.model.encoder.embed_dim == 768 and config.train.batch_size == 4


def test_yaml_unknown_key(tmp_path):
    (tmp_path / "c.yaml").write_text("model:\n  binz: 3\n")
    with pytest.raises(InputError, match="binz"):
        load_yaml(tmp_path / "c.yaml")


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
    from seqtrack.config import official_yaml_to_config

    config = official_yaml_to_config(data)
    assert config.model.decoder.num_layers == 6  # config.py default when the yaml is silent
    assert config.model.num_templates == 1 and config.tracker.window is False
    assert config.model.encoder.embed_dim == 1024 and config.model.search_size == 384


def test_update_presets():
    tracker = experiment_preset("b256").tracker
    assert tracker.with_updates("lasot").update_interval == 450
    assert tracker.with_updates("vot20").update_threshold == 0.55
    assert experiment_preset("l256").tracker.with_updates("vot20").update_threshold == 0.475
    assert tracker.with_updates("lasot", interval=3).update_interval == 3
    with pytest.raises(InputError, match="unknown update preset"):
        tracker.with_updates("nope")


def test_crop_factors_travel_from_training_to_tracking(tmp_path):
    import torch

    from seqtrack.config import DecoderConfig, EncoderConfig, ModelConfig, TrackerConfig
    from seqtrack.model import SeqTrack
    from seqtrack.model.weights import load_model, save_safetensors
    from seqtrack.tracking.tracker import Tracker

    path = tmp_path / "exp.yaml"
    path.write_text("preset: t128\ntrain: {template_factor: 2.0, search_factor: 3.5}\n")
    experiment = load_yaml(path)
    assert (experiment.model.template_factor, experiment.model.search_factor) == (2.0, 3.5)
    assert experiment_preset("b256").model.template_factor == 4.0  # official: 4 and 4

    small = ModelConfig(encoder=EncoderConfig(embed_dim=32, depth=1, num_heads=2),
                        decoder=DecoderConfig(hidden_dim=32, num_heads=2, dim_feedforward=32),
                        template_size=32, search_size=64, bins=20, template_factor=2.0, search_factor=3.5)
    weights = tmp_path / "w.safetensors"
    save_safetensors(SeqTrack(small), weights)
    model = load_model(weights)
    tracker = Tracker(model)
    assert (tracker.config.template_factor, tracker.config.search_factor) == (2.0, 3.5)
    explicit = Tracker(model, TrackerConfig(template_factor=4.0))  # an explicit setting wins
    assert (explicit.config.template_factor, explicit.config.search_factor) == (4.0, 3.5)
    # the template crop really uses the network's factor: a white 10x10 box fills 1/4 of a factor-2
    # crop (20 px of context), 1/16 of a factor-4 one
    frame = torch.zeros(100, 100, 3, dtype=torch.uint8).numpy()
    frame[40:50, 40:50] = 255
    for trk, share in ((tracker, 1 / 4), (explicit, 1 / 16)):
        trk.init(frame, [40, 40, 10, 10])
        template = trk.state.targets[0].templates[0]  # (3, 32, 32) normalised
        bright = (template[0] > 0).float().mean().item()
        assert bright == pytest.approx(share, abs=0.03)
