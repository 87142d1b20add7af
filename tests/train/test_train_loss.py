"""The weighted cross-entropy (spec §5.4) against hand-computed values."""

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
    logits = torch.tensor([[[0.0, 0.0, 0.0, 0.0],               # target 0: p = 1/4
                            [0.0, math.log(3.0), 0.0, 0.0],     # target 1: p = 3/6
                            [0.0, 0.0, math.log(2.0), 0.0]]])   # target END: p = 2/5
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
