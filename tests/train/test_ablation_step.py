"""`TrainStep` with the ablation variants: bidirectional logits cover the four coordinates only (targets cut
to them), temporal models get the batch's history (and refuse a batch without one)."""

from __future__ import annotations

import pytest
import torch

from seqtrack.config import load_yaml
from seqtrack.errors import InputError
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.train.loss import SequenceLoss, token_iou
from seqtrack.train.step import TrainStep

pytestmark = pytest.mark.usefixtures("one_thread")


def _step(write_config, model_overrides: dict) -> tuple[TrainStep, object]:
    config = load_yaml(write_config(overrides={"model": model_overrides}))
    torch.manual_seed(0)
    model = SeqTrack(config.model).train()
    return TrainStep.from_recipe(model, config.train, torch.device("cpu"), dropout=False), config


def _batch(config, squares, history: torch.Tensor | None = None) -> dict:
    data = squares(64, config.model.bins, config.model.num_templates, 4)
    batch = torch.utils.data.default_collate([data[i] for i in range(3)])
    if history is not None:
        batch["history"] = history
    return batch


def test_autoregressive_loss_uses_the_five_targets(write_config, squares):
    step, config = _step(write_config, {})
    batch = _batch(config, squares)
    result = step(batch)
    assert result.logits.shape == (3, 5, config.model.bins + 2)
    expected = SequenceLoss(config.model.bins, config.train.special_token_weight)(result.logits, batch["seq_target"])
    assert torch.equal(result.loss, expected)


def test_bidirectional_loss_and_iou_use_the_four_coordinates(write_config, squares):
    step, config = _step(write_config, {"decoding": "bidirectional"})
    batch = _batch(config, squares)
    result = step(batch)
    bins = config.model.bins
    assert result.logits.shape == (3, 4, bins + 2)
    coordinates = batch["seq_target"][:, :4]
    expected = SequenceLoss(bins, config.train.special_token_weight)(result.logits, coordinates)
    assert torch.equal(result.loss, expected)
    assert torch.equal(result.iou, token_iou(result.logits.float(), coordinates, bins).mean())


def test_temporal_step_passes_the_history(write_config, squares):
    losses = []
    for fill in (0, 20):
        step, config = _step(write_config, {"temporal_frames": 2})
        history = torch.full((3, 8), fill, dtype=torch.int64)
        losses.append(step(_batch(config, squares, history)).loss)
    assert not torch.equal(losses[0], losses[1])  # the same weights and images: only the history differs


def test_temporal_step_refuses_a_batch_without_history(write_config, squares):
    step, config = _step(write_config, {"temporal_frames": 2})
    with pytest.raises(InputError, match="temporal_frames is 2 .*'history'"):
        step(_batch(config, squares))
