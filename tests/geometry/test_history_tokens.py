"""`history_tokens`: the K previous boxes as the decoder's temporal tokens (paper Tab. 5)."""

import pytest
import torch

from seqtrack.geometry.tokens import box_to_tokens, history_tokens

BINS = 101  # token = trunc(v * 100): easy to read


def test_layout_is_box_after_box_oldest_first():
    # (1, K=2, 4) xywh top-left; binary fractions, so the truncation to bins is exact.
    boxes = torch.tensor([[[0.125, 0.25, 0.25, 0.5], [0.5, 0.5, 0.25, 0.25]]])
    tokens = history_tokens(boxes, BINS, "xywh")
    assert tokens.shape == (1, 8) and tokens.dtype == torch.int64
    # (cx, cy, w, h) of the oldest box, then of the newer one.
    assert tokens.tolist() == [[25, 50, 25, 50, 62, 62, 25, 25]]


@pytest.mark.parametrize("seq_format", ["xywh", "whxy", "corner"])
def test_equals_box_to_tokens_per_box(seq_format):
    g = torch.Generator().manual_seed(0)
    boxes = torch.rand(3, 4, 4, generator=g) * 0.6  # B = 3, K = 4
    tokens = history_tokens(boxes, 4000, seq_format)
    assert tokens.shape == (3, 16)
    for k in range(4):
        assert torch.equal(tokens[:, 4 * k : 4 * k + 4], box_to_tokens(boxes[:, k], 4000, seq_format))


def test_boxes_outside_the_crop_are_clamped_to_the_bins():
    boxes = torch.tensor([[[-0.5, 0.9, 0.2, 0.4]]])  # left of the crop, and through its bottom edge
    tokens = history_tokens(boxes, BINS, "corner")
    assert tokens.tolist() == [[0, 90, 0, 100]]
    assert int(tokens.min()) >= 0 and int(tokens.max()) <= BINS - 1


def test_accepts_lists_and_refuses_other_shapes():
    assert history_tokens([[[0.0, 0.0, 1.0, 1.0]]], BINS).tolist() == [[50, 50, 100, 100]]
    with pytest.raises(ValueError, match="boxes_norm"):
        history_tokens(torch.zeros(2, 4), BINS)
    with pytest.raises(ValueError, match="boxes_norm"):
        history_tokens(torch.zeros(2, 1, 5), BINS)
