"""`ExperimentConfig`: the network's crop factors come from the train block, and nothing a caller gave is
silently replaced."""

import pytest

from seqtrack.config import ExperimentConfig, ModelConfig, TrainConfig, experiment_preset, load_yaml, save_yaml
from seqtrack.errors import InputError


def test_crop_factors_travel_from_training_to_tracking(tmp_path):
    import torch

    from seqtrack.config import DecoderConfig, EncoderConfig, TrackerConfig
    from seqtrack.model import SeqTrack
    from seqtrack.model.weights import load_model, save_safetensors
    from seqtrack.tracking.tracker import Tracker

    path = tmp_path / "exp.yaml"
    path.write_text("preset: t128\ntrain: {template_factor: 2.0, search_factor: 3.5}\n")
    experiment = load_yaml(path)
    assert (experiment.model.template_factor, experiment.model.search_factor) == (2.0, 3.5)
    assert experiment_preset("b256").model.template_factor == 4.0  # official: 4 and 4

    small = ModelConfig(
        encoder=EncoderConfig(embed_dim=32, depth=1, num_heads=2),
        decoder=DecoderConfig(hidden_dim=32, num_heads=2, dim_feedforward=32),
        template_size=32,
        search_size=64,
        bins=20,
        template_factor=2.0,
        search_factor=3.5,
    )
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


def test_model_factors_left_official_take_the_train_blocks():
    model = ModelConfig()
    experiment = ExperimentConfig(model=model, train=TrainConfig(template_factor=2.0, search_factor=3.0))
    assert (experiment.model.template_factor, experiment.model.search_factor) == (2.0, 3.0)
    assert (model.template_factor, model.search_factor) == (4.0, 4.0)  # the caller's object is left alone
    agreeing = ExperimentConfig(model=ModelConfig(template_factor=2.0), train=TrainConfig(template_factor=2))
    assert agreeing.model.template_factor == 2.0 and isinstance(agreeing.model.template_factor, float)


def test_model_factors_that_contradict_the_train_block_are_refused(tmp_path):
    with pytest.raises(InputError, match="model.search_factor 3.0 differs from train.search_factor 4.0"):
        ExperimentConfig(model=ModelConfig(search_factor=3.0), train=TrainConfig())
    path = tmp_path / "exp.yaml"
    path.write_text("preset: t128\nmodel: {template_factor: 2.0}\n")  # was silently trained at 4.0
    with pytest.raises(InputError, match="model.template_factor 2.0 differs from train.template_factor 4.0"):
        load_yaml(path)


def test_saved_experiments_round_trip_with_their_factors(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("preset: t128\ntrain: {template_factor: 2.0, search_factor: 3.0}\n")
    experiment = load_yaml(path)
    save_yaml(experiment, tmp_path / "saved.yaml")
    assert load_yaml(tmp_path / "saved.yaml") == experiment


def test_dict_sections_and_center_head():
    experiment = ExperimentConfig(model={"center_head": True}, train={"center_loss_weight": 0.5})
    assert experiment.model.center_head and experiment.train.center_loss_weight == 0.5
    with pytest.raises(InputError, match="center_loss_weight > 0 needs model.center_head"):
        ExperimentConfig(train=TrainConfig(center_loss_weight=1.0))
