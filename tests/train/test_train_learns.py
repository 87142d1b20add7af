"""It learns: the smallest network, trained in-process for a few hundred steps, lowers its loss."""

from __future__ import annotations

import dataclasses
import statistics

import pytest
import torch

from seqtrack.config import load_yaml
from seqtrack.train.metrics import read_metrics
from seqtrack.train.options import TrainOptions
from seqtrack.train.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")


def _train(config, dataset, out):
    train(
        config,
        TrainOptions(
            out=out, log_every=1, progress=False, checkpoint_every_steps=0, tensorboard=False, print_fn=lambda *_: None
        ),
        dataset=dataset,
    )
    return [r["loss"] for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "step"]


def test_loss_falls_on_generated_crops(write_config, squares, tmp_path):
    steps, batch = 200, 8
    config = load_yaml(write_config())
    config.train = dataclasses.replace(
        config.train, samples_per_epoch=steps * batch, batch_size=batch, epochs=1, lr=1e-3
    )
    losses = _train(config, squares(64, config.model.bins, 2, steps * batch), tmp_path / "run")
    assert len(losses) == steps
    initial, final = statistics.mean(losses[:3]), statistics.mean(losses[-20:])
    print(f"loss {initial:.3f} -> {final:.3f}")
    assert final < 0.6 * initial


class _Fixed(torch.utils.data.Dataset):
    """The first ``k`` items of epoch 0 of a dataset, over and over."""

    def __init__(self, dataset, k: int, length: int) -> None:
        self.items = [dataset[i] for i in range(k)]
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        return self.items[index % len(self.items)]


def test_memorises_a_small_batch_through_the_images(write_config, squares, tmp_path):
    # Four squares at four places: predicting their positions from the token prior alone cannot go
    # below ~ln(4) per centre token; a near-zero loss needs the images.
    steps, batch = 120, 4
    config = load_yaml(write_config(overrides={"model": {"decoder": {"dropout": 0.0}}}))
    config.train = dataclasses.replace(
        config.train, samples_per_epoch=steps * batch, batch_size=batch, epochs=1, lr=1e-3
    )
    losses = _train(config, _Fixed(squares(64, config.model.bins, 2), batch, steps * batch), tmp_path / "run")
    prior_floor = 2 * torch.log(torch.tensor(4.0)).item() / (4 + 0.01)
    print(f"loss {losses[0]:.3f} -> {statistics.mean(losses[-10:]):.3f} (prior floor {prior_floor:.3f})")
    assert statistics.mean(losses[-10:]) < 0.5 * prior_floor
