"""The weighted cross-entropy (docs/official-behaviour.md §5.4) against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from seqtrack.train.loss import SequenceLoss, class_weights, token_iou


def test_class_weights():
    w = class_weights(4000)
    assert w.shape == (4002,)
    assert torch.all(w[:4000] == 1.0)
    assert w[4000].item() == pytest.approx(0.01) and w[4001].item() == pytest.approx(0.01)


def test_loss_hand_computed():
    # bins = 2: classes 0, 1 are coordinates, 2 = END, 3 = START.
    logits = torch.tensor(
        [
            [
                [0.0, 0.0, 0.0, 0.0],  # target 0: p = 1/4
                [0.0, math.log(3.0), 0.0, 0.0],  # target 1: p = 3/6
                [0.0, 0.0, math.log(2.0), 0.0],
            ]
        ]
    )  # target END: p = 2/5
    targets = torch.tensor([[0, 1, 2]])
    ce = [math.log(4.0), math.log(2.0), math.log(2.5)]
    expected = (ce[0] + ce[1] + 0.01 * ce[2]) / (1 + 1 + 0.01)
    assert SequenceLoss(bins=2)(logits, targets).item() == pytest.approx(expected, rel=1e-6)
    assert SequenceLoss(bins=2, ce_weight=2.0)(logits, targets).item() == pytest.approx(2 * expected, rel=1e-6)
    # a START target weighs 0.01 too; a different special weight changes the denominator
    loss = SequenceLoss(bins=2, special_token_weight=0.5)(logits[:, 2:], torch.tensor([[3]]))
    assert loss.item() == pytest.approx(math.log(5.0), rel=1e-6)  # one target: the weight cancels


def test_loss_is_weighted_mean_over_batch_and_dtype_safe():
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 10)
    targets = torch.randint(0, 8, (3, 5))
    targets[:, -1] = 8  # END
    weights = class_weights(8)
    per = torch.nn.functional.cross_entropy(logits.reshape(-1, 10), targets.reshape(-1), reduction="none")
    w = weights[targets.reshape(-1)]
    expected = (w * per).sum() / w.sum()
    assert SequenceLoss(8)(logits, targets).item() == pytest.approx(expected.item(), rel=1e-6)
    # bf16 logits (autocast) are lifted to float32
    out = SequenceLoss(8)(logits.bfloat16(), targets)
    assert out.dtype == torch.float32


def test_token_iou():
    bins = 100
    targets = torch.tensor([[50, 50, 20, 20, bins]])
    perfect = torch.nn.functional.one_hot(targets, bins + 2).float() * 10
    assert token_iou(perfect, targets, bins).item() == pytest.approx(1.0)
    shifted = torch.nn.functional.one_hot(torch.tensor([[60, 50, 20, 20, bins]]), bins + 2).float()
    assert token_iou(shifted, targets, bins).item() == pytest.approx(1 / 3, rel=1e-4)


def test_soft_targets_shape_and_mass():
    from seqtrack.train.loss import soft_targets

    labels = torch.tensor([0, 5, 9, 10, 11])  # bins = 10: 10 = END, 11 = START
    q = soft_targets(labels, bins=10, sigma=1.5, vocab=12)
    assert q.shape == (5, 12)
    assert torch.allclose(q.sum(dim=-1), torch.ones(5))
    assert q[:3, 10:].abs().max().item() == 0.0  # no mass on special tokens for coordinates
    assert q[1].argmax().item() == 5 and q[1, 4].item() == pytest.approx(q[1, 6].item())
    assert q[0].argmax().item() == 0 and q[2].argmax().item() == 9  # truncated at the ends, renormalised
    assert torch.equal(q[3], torch.nn.functional.one_hot(torch.tensor(10), 12).float())
    assert torch.equal(q[4], torch.nn.functional.one_hot(torch.tensor(11), 12).float())


def test_soft_loss_hand_computed_and_limits():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 12)
    targets = torch.tensor([[1, 4, 7, 9, 10], [0, 2, 3, 8, 10]])
    hard = SequenceLoss(bins=10)(logits, targets)
    # a vanishing sigma is the official one-hot loss
    assert SequenceLoss(bins=10, target_sigma=1e-3)(logits, targets).item() == pytest.approx(hard.item(), rel=1e-6)
    # sigma = 1: compare with the formula written out for every target
    logp = torch.log_softmax(logits, dim=-1)
    total, weight = 0.0, 0.0
    for b in range(2):
        for i in range(5):
            y = targets[b, i].item()
            if y < 10:
                q = torch.tensor([math.exp(-0.5 * (c - y) ** 2) for c in range(10)] + [0.0, 0.0])
                q = q / q.sum()
                w = 1.0
            else:
                q = torch.nn.functional.one_hot(torch.tensor(y), 12).float()
                w = 0.01
            total += w * -(q * logp[b, i]).sum().item()
            weight += w
    assert SequenceLoss(bins=10, target_sigma=1.0)(logits, targets).item() == pytest.approx(total / weight, rel=1e-5)
    with pytest.raises(ValueError, match="target_sigma"):
        SequenceLoss(bins=10, target_sigma=-1.0)


def test_soft_loss_prefers_near_misses():
    # one coordinate target at bin 50: mass on bin 52 must cost less than mass on bin 90 (hard CE: equal)
    targets = torch.tensor([[50]])
    near, far = torch.full((1, 1, 102), -10.0), torch.full((1, 1, 102), -10.0)
    near[0, 0, 52] = 10.0
    far[0, 0, 90] = 10.0
    soft = SequenceLoss(bins=100, target_sigma=2.0)
    hard = SequenceLoss(bins=100)
    assert soft(near, targets) < soft(far, targets)
    assert hard(near, targets).item() == pytest.approx(hard(far, targets).item())


def test_center_loss_points_at_the_centre_token():
    from seqtrack.train.loss import center_loss

    bins, grid = 100, 4
    # a box centred at (0.6, 0.3) of the crop: token column 2, row 1 (0-based) of the 4 x 4 grid
    cx, cy = round(0.6 * (bins - 1)), round(0.3 * (bins - 1))
    targets = torch.tensor([[cx, cy, 20, 20, bins]])
    right = torch.full((1, grid * grid), -5.0)
    right[0, 1 * grid + 2] = 5.0
    wrong = torch.full((1, grid * grid), -5.0)
    wrong[0, 3 * grid + 0] = 5.0
    assert center_loss(right, targets, bins) < center_loss(wrong, targets, bins)
    # the optimum is the Gaussian target itself: its loss equals its entropy, lower than any peak
    scores = torch.zeros(1, grid * grid, requires_grad=True)
    optimizer = torch.optim.SGD([scores], lr=5.0)
    for _ in range(300):
        optimizer.zero_grad()
        loss = center_loss(scores, targets, bins)
        loss.backward()
        optimizer.step()
    assert scores.detach().argmax().item() == 1 * grid + 2
    assert loss.item() < center_loss(right, targets, bins).item()


def test_center_head_step_and_checkpoint(tmp_path):
    from seqtrack.config import DecoderConfig, EncoderConfig, ModelConfig, TrainConfig
    from seqtrack.model import SeqTrack
    from seqtrack.model.weights import load_model, save_safetensors
    from seqtrack.train.optim import build_optimizer
    from seqtrack.train.step import TrainStep, make_scaler

    config = ModelConfig(
        encoder=EncoderConfig(embed_dim=32, depth=1, num_heads=2),
        decoder=DecoderConfig(hidden_dim=32, num_heads=2, dim_feedforward=32),
        template_size=32,
        search_size=64,
        bins=20,
        center_head=True,
    )
    torch.manual_seed(0)
    model = SeqTrack(config)
    batch = {
        "templates": torch.randn(2, 2, 3, 32, 32),
        "search": torch.randn(2, 3, 64, 64),
        "seq_input": torch.tensor([[21, 5, 6, 7, 8], [21, 9, 9, 3, 3]]),
        "seq_target": torch.tensor([[5, 6, 7, 8, 20], [9, 9, 3, 3, 20]]),
    }
    logits, center = model(batch["templates"], batch["search"], batch["seq_input"], return_center=True)
    assert logits.shape == (2, 5, 22) and center.shape == (2, 16)
    train = TrainConfig(center_loss_weight=1.0)
    step = TrainStep(
        model,
        build_optimizer(model, train),
        make_scaler(torch.device("cpu"), "off"),
        SequenceLoss(20),
        "off",
        1.0,
        torch.device("cpu"),
        20,
        "xywh",
        center_loss_weight=1.0,
    )
    before = model.center_head.weight.detach().clone()
    step(batch)
    assert not torch.equal(before, model.center_head.weight)  # the head trains
    path = tmp_path / "c.safetensors"
    save_safetensors(model, path)
    assert load_model(path).config.center_head  # and travels with the weights
    plain = SeqTrack(
        ModelConfig(encoder=config.encoder, decoder=config.decoder, template_size=32, search_size=64, bins=20)
    )
    assert not any("center_head" in k for k in plain.state_dict())  # off: official state dict
    with pytest.raises(Exception, match="center"):
        TrainStep(
            plain,
            build_optimizer(plain, train),
            make_scaler(torch.device("cpu"), "off"),
            SequenceLoss(20),
            "off",
            1.0,
            torch.device("cpu"),
            20,
            "xywh",
            center_loss_weight=1.0,
        )
