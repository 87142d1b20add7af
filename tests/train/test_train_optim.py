"""AdamW parameter groups, the StepLR schedule at epochs 1 / 400 / 401, freezing, gradient clipping."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from seqtrack.config import TrainConfig, model_preset
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.train.optim import build_optimizer, build_scheduler, clip_gradients, lr_at_epoch, parameter_groups


@pytest.fixture(scope="module")
def model():
    config = model_preset("t128")
    config.encoder.depth = 1
    return SeqTrack(config)


def test_groups_split_on_encoder_name(model):
    groups = parameter_groups(model, TrainConfig())
    assert [g["name"] for g in groups] == ["other", "encoder"]
    ids = [{id(p) for p in g["params"]} for g in groups]
    names = {id(p): n for n, p in model.named_parameters()}
    assert all("encoder" not in names[i] for i in ids[0])
    assert all(names[i].startswith("encoder.") for i in ids[1])
    assert len(ids[0]) + len(ids[1]) == len(list(model.parameters()))  # every parameter, once
    top = {names[i] for i in ids[0]}
    assert {"pos_embed", "bottleneck.weight", "vocab_embed.layers.2.bias"} <= top
    assert any(n.startswith("decoder.") for n in top)
    assert all(g["weight_decay"] == 1e-4 for g in groups)  # decay on ALL parameters, biases and norms included


def test_lrs_at_epochs_1_400_401(model):
    config = TrainConfig()  # lr 1e-4, encoder x0.1, drop at 400, gamma 0.1
    optimizer = build_optimizer(model, config)
    scheduler = build_scheduler(optimizer, config)
    seen = {}
    optimizer.step()  # no gradients: a no-op that keeps the scheduler from warning
    for epoch in range(1, 402):
        seen[epoch] = [g["lr"] for g in optimizer.param_groups]
        scheduler.step()  # once after every epoch
    assert seen[1] == pytest.approx([1e-4, 1e-5], rel=1e-12)
    assert seen[400] == pytest.approx([1e-4, 1e-5], rel=1e-12)
    assert seen[401] == pytest.approx([1e-5, 1e-6], rel=1e-12)
    for epoch in (1, 2, 399, 400, 401, 402):
        if epoch in seen:
            assert seen[epoch][0] == pytest.approx(lr_at_epoch(config, epoch))
            assert seen[epoch][1] == pytest.approx(lr_at_epoch(config, epoch, encoder=True))
    assert lr_at_epoch(config, 500) == pytest.approx(1e-5)
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.defaults["betas"] == (0.9, 0.999) and optimizer.defaults["eps"] == 1e-8


@pytest.mark.parametrize(
    "settings", [{"encoder_lr_multiplier": 0.0}, {"encoder_lr_multiplier": -1.0}, {"freeze_encoder": True}]
)
def test_encoder_freezes(settings):
    config = model_preset("t128")
    config.encoder.depth = 1
    model = SeqTrack(config)
    groups = parameter_groups(model, dataclasses.replace(TrainConfig(), **settings))
    assert [g["name"] for g in groups] == ["other"]
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert all(p.requires_grad for n, p in model.named_parameters() if "encoder" not in n)


def test_clip_total_l2_norm():
    a, b = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(4))
    a.grad = torch.tensor([3.0, 0.0, 0.0])
    b.grad = torch.tensor([0.0, 4.0, 0.0, 0.0])
    norm = clip_gradients([a, b], 0.1)
    assert norm.item() == pytest.approx(5.0)
    total = torch.cat([a.grad, b.grad]).norm().item()
    assert total == pytest.approx(0.1, rel=1e-5)
    assert (a.grad[0] / b.grad[1]).item() == pytest.approx(0.75)  # direction kept
    a.grad = torch.tensor([0.03, 0.0, 0.0])
    b.grad = torch.tensor([0.0, 0.04, 0.0, 0.0])
    clip_gradients([a, b], 0.1)  # below the threshold: untouched
    assert a.grad[0].item() == pytest.approx(0.03)
