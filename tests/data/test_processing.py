"""Processing: jitter statistics, flips, crops through the tracker geometry, token targets."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch

from seqtrack.data.processing import (
    ProcessingConfig,
    crop_transform,
    flip_box_horizontal,
    jitter_box,
    process_pair,
    sequence_targets,
)
from seqtrack.geometry.crop import IMAGENET_MEAN, IMAGENET_STD

PLAIN = ProcessingConfig(
    template_size=32,
    search_size=48,
    search_center_jitter=0.0,
    search_scale_jitter=0.0,
    grayscale_prob=0.0,
    joint_flip_prob=0.0,
    brightness_jitter=0.0,
    crop_flip_prob=0.0,
)


def _scene(box=(40, 30, 20, 10), size=(120, 160)):
    frame = np.zeros(size + (3,), np.uint8)
    x, y, w, h = box
    frame[y : y + h, x : x + w] = (255, 128, 0)
    return frame


def test_jitter_statistics():
    rng = np.random.default_rng(0)
    box = np.array([100.0, 50.0, 40.0, 20.0])
    out = np.array([jitter_box(box, 3.5, 0.5, rng) for _ in range(20000)])
    log_scale = np.log(out[:, 2:] / box[2:])
    assert abs(log_scale.mean()) < 0.02 and abs(log_scale.std() - 0.5) < 0.02
    offset = (out[:, :2] + out[:, 2:] / 2) - (box[:2] + box[2:] / 2)
    unit = offset / (np.sqrt(out[:, 2] * out[:, 3])[:, None] * 3.5)  # U[-0.5, 0.5)
    assert unit.min() >= -0.5 and unit.max() < 0.5
    assert abs(unit.mean()) < 0.01 and abs(unit.std() - 1 / math.sqrt(12)) < 0.01
    # templates: no jitter at all
    np.testing.assert_allclose(jitter_box(box, 0.0, 0.0, rng), box)


def test_token_targets_hand_computed():
    # xywh (0.25, 0.5, 0.25, 0.125) -> centre (0.375, 0.5625), size (0.25, 0.125)
    # tokens = trunc(v * 3999): 1499.625 -> 1499, 2249.4375 -> 2249, 999.75 -> 999, 499.875 -> 499
    seq_input, seq_target = sequence_targets(np.array([0.25, 0.5, 0.25, 0.125]), 4000, "xywh")
    assert seq_input.tolist() == [4001, 1499, 2249, 999, 499]
    assert seq_target.tolist() == [1499, 2249, 999, 499, 4000]
    assert seq_input.dtype == torch.int64
    # clamping: a box half outside the crop keeps only its inside part
    _, target = sequence_targets(np.array([-0.5, 0.0, 1.0, 1.0]), 4000, "xywh")
    assert target.tolist() == [int(0.25 * 3999), int(0.5 * 3999), int(0.5 * 3999), 3999, 4000]


def test_flip_box_conventions():
    np.testing.assert_allclose(flip_box_horizontal(np.array([10.0, 5, 20, 8]), 100), [69.0, 5, 20, 8])
    rng = np.random.default_rng(0)
    crop = np.zeros((8, 8, 3), np.uint8)
    crop[:, :2] = 255
    tensor, box = crop_transform(crop, np.array([0.0, 0.1, 0.25, 0.5]), rng, 0.0, flip_prob=1.0)
    np.testing.assert_allclose(box, [0.75, 0.1, 0.25, 0.5])
    white = (1 - IMAGENET_MEAN[0]) / IMAGENET_STD[0]
    assert torch.allclose(tensor[0, :, -2:], torch.full((8, 2), white)) and tensor[0, 0, 0] < 0


def test_process_pair_plain_geometry():
    frame = _scene()
    boxes = np.array([[40.0, 30, 20, 10]] * 3)
    sample = process_pair([frame, frame, frame], boxes, PLAIN, np.random.default_rng(0))
    assert sample["templates"].shape == (2, 3, 32, 32) and sample["templates"].dtype == torch.float32
    assert sample["search"].shape == (3, 48, 48)
    assert sample["seq_input"].shape == (5,) and sample["seq_target"].shape == (5,)
    # crop side = ceil(sqrt(200) * 4) = 57, rf = 48 / 57; centre at (S - 1) / 2 -> 0.5
    side = math.ceil(math.sqrt(200) * 4)
    rf = 48 / side
    expected = np.array([0.5 - 10 * rf / 47, 0.5 - 5 * rf / 47, 20 * rf / 47, 10 * rf / 47])
    np.testing.assert_allclose(sample["search_box"].numpy(), expected, atol=1e-6)
    tokens = [int(v * 3999) for v in (0.5, 0.5, 20 * rf / 47, 10 * rf / 47)]
    assert sample["seq_target"].tolist()[:4] == tokens
    # the target's colour sits at the crop centre
    red = (1 - IMAGENET_MEAN[0]) / IMAGENET_STD[0]
    assert abs(float(sample["search"][0, 24, 24]) - red) < 1e-4


def test_joint_flip_keeps_target_centred_and_gray_is_gray():
    frame = _scene()
    boxes = np.array([[40.0, 30, 20, 10]] * 3)
    config = replace(PLAIN, joint_flip_prob=1.0, grayscale_prob=1.0)
    sample = process_pair([frame] * 3, boxes, config, np.random.default_rng(0))
    search = sample["search"]
    # grayscale: equal channels before normalisation
    raw = search * torch.tensor(IMAGENET_STD).view(3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    assert torch.allclose(raw[0], raw[1], atol=1e-5) and torch.allclose(raw[1], raw[2], atol=1e-5)
    assert raw[0, 24, 24] > 0.3  # still on the target after the flip (crop follows the flipped box)


def test_invalid_sample_reported():
    frame = _scene()
    boxes = np.array([[40.0, 30, 20, 10], [40.0, 30, 20, 10], [40.0, 30, 0.0, 10]])
    assert process_pair([frame] * 3, boxes, PLAIN, np.random.default_rng(0)) is None


def test_brightness_range():
    rng = np.random.default_rng(0)
    crop = np.full((4, 4, 3), 100, np.uint8)
    values = []
    for _ in range(500):
        tensor, _ = crop_transform(crop, np.zeros(4), rng, 0.2, 0.0)
        values.append(float(tensor[0, 0, 0]) * IMAGENET_STD[0] + IMAGENET_MEAN[0])
    factors = np.array(values) * 255 / 100
    assert factors.min() >= 0.8 - 1e-5 and factors.max() <= 1.2 + 1e-5
    assert abs(factors.mean() - 1.0) < 0.02
