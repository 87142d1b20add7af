"""History boxes of training samples (temporal tokens, Tab. 5): which frames, their geometry, their noise,
and that a sample without history is drawn exactly as before."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from seqtrack.data.base import TrainingDataset
from seqtrack.data.pair_dataset import PairDataset
from seqtrack.data.processing import ProcessingConfig, history_noise, process_pair
from seqtrack.data.sampler import PairSampler, SamplerConfig, previous_boxes
from seqtrack.data.sequence import Sequence
from seqtrack.geometry.tokens import box_to_tokens

PLAIN = ProcessingConfig(
    template_size=32,
    search_size=48,
    search_center_jitter=0.0,
    search_scale_jitter=0.0,
    grayscale_prob=0.0,
    joint_flip_prob=0.0,
    brightness_jitter=0.0,
    crop_flip_prob=0.0,
    bins=1000,
    history_jitter=0.0,
)


def _frame(box, size=(120, 160)):
    frame = np.zeros(size + (3,), np.uint8)
    x, y, w, h = (int(v) for v in box)
    frame[y : y + h, x : x + w] = (255, 128, 0)
    return frame


def _boxes(n: int) -> np.ndarray:
    """A target moving 1 px right and 2 px down per frame (frame k: x = 10 + k, y = 5 + 2k)."""
    k = np.arange(n, dtype=np.float64)
    return np.stack([10 + k, 5 + 2 * k, np.full(n, 20.0), np.full(n, 10.0)], axis=1)


# ---------------------------------------------------------------------------------------- which frames
def test_previous_boxes_stride_one_oldest_first():
    boxes = _boxes(30)
    out = previous_boxes(boxes, np.ones(30, bool), frame=10, count=4)
    np.testing.assert_array_equal(out, boxes[6:10])


def test_previous_boxes_clamp_to_frame_zero():
    boxes = _boxes(30)
    out = previous_boxes(boxes, np.ones(30, bool), frame=2, count=4)
    np.testing.assert_array_equal(out, boxes[[0, 0, 0, 1]])


def test_previous_boxes_invisible_repeat_the_nearest_earlier_valid():
    boxes = _boxes(30)
    valid = np.ones(30, bool)
    valid[[7, 8]] = False
    out = previous_boxes(boxes, valid, frame=10, count=4)
    np.testing.assert_array_equal(out, boxes[[6, 6, 6, 9]])


def test_previous_boxes_without_an_earlier_valid_box_take_the_next_one():
    boxes = _boxes(30)
    valid = np.ones(30, bool)
    valid[:3] = False
    np.testing.assert_array_equal(previous_boxes(boxes, valid, frame=4, count=3), boxes[[3, 3, 3]])
    valid[:] = False
    np.testing.assert_array_equal(previous_boxes(boxes, valid, frame=4, count=2), boxes[[4, 4]])
    assert previous_boxes(boxes, valid, frame=4, count=0).shape == (0, 4)


class _Videos(TrainingDataset):
    """Two 30-frame videos of `_boxes` (frames named by their index), or one still image."""

    name = "fake"

    def __init__(self, is_video: bool = True) -> None:
        self.is_video = is_video

    def __len__(self) -> int:
        return 2

    def sequence(self, index: int) -> Sequence:
        n = 30 if self.is_video else 1
        boxes = _boxes(n) + 3 * index
        return Sequence(f"s{index}", [Path(f"s{index}/{k}") for k in range(n)], boxes)


def test_sampler_adds_the_previous_boxes_of_the_search_frame():
    sampler = PairSampler([_Videos()], config=SamplerConfig(max_interval=10, history_frames=4))
    rng = np.random.default_rng(0)
    for _ in range(20):
        pair = sampler.sample(rng)
        search = int(pair.frame_ids[-1])
        expected = [pair.sequence.boxes[max(search - 4 + k, 0)] for k in range(4)]
        np.testing.assert_array_equal(pair.history_boxes, expected)


def test_sampler_history_takes_no_draw_and_k0_has_none():
    plain = PairSampler([_Videos()], config=SamplerConfig(max_interval=10))
    temporal = PairSampler([_Videos()], config=SamplerConfig(max_interval=10, history_frames=3))
    a_rng, b_rng = np.random.default_rng(5), np.random.default_rng(5)
    for _ in range(10):
        a, b = plain.sample(a_rng), temporal.sample(b_rng)
        assert a.history_boxes is None
        np.testing.assert_array_equal(a.frame_ids, b.frame_ids)
        assert b.history_boxes.shape == (3, 4)


def test_still_images_repeat_the_search_box():
    sampler = PairSampler([_Videos(is_video=False)], config=SamplerConfig(history_frames=2))
    pair = sampler.sample(np.random.default_rng(0))
    np.testing.assert_array_equal(pair.history_boxes, [pair.search_box, pair.search_box])


# ---------------------------------------------------------------------------------------- geometry
def _process(config, history, boxes=((30, 40, 20, 10),) * 3, seed=0):
    frames = [_frame(b) for b in boxes]
    return process_pair(frames, np.array(boxes, float), config, np.random.default_rng(seed), history=history)


def test_history_box_equal_to_the_search_box_maps_onto_the_target():
    search = np.array([30, 40, 20, 10], float)
    sample = _process(PLAIN, np.stack([search, search]))
    torch.testing.assert_close(sample["history_boxes"], sample["search_box"].expand(2, 4), rtol=0, atol=1e-6)
    assert sample["history"].dtype == torch.int64 and sample["history"].shape == (8,)
    assert torch.equal(sample["history"], sample["seq_target"][:4].repeat(2))


@pytest.mark.parametrize(
    "joint_flip, crop_flip, sign", [(0.0, 0.0, 1.0), (1.0, 0.0, -1.0), (0.0, 1.0, -1.0), (1.0, 1.0, 1.0)]
)
def test_history_follows_the_search_crop_offset_scale_and_flips(joint_flip, crop_flip, sign):
    # Frame box 4 px left of and 3 px above the search box; the crop is ceil(4 x sqrt(20 x 10)) = 57 px
    # of the frame resized to 48.
    config = replace(PLAIN, joint_flip_prob=joint_flip, crop_flip_prob=crop_flip)
    past = np.array([[26, 37, 20, 10]], float)
    sample = _process(config, past)
    scale = 48 / 57 / 47  # frame pixels -> crop units of S - 1
    delta = (sample["history_boxes"][0] - sample["search_box"]).double().numpy()
    np.testing.assert_allclose(delta, [sign * -4 * scale, -3 * scale, 0, 0], atol=1e-6)
    expected = box_to_tokens(sample["history_boxes"], bins=1000)
    assert torch.equal(sample["history"], expected.flatten())


def test_history_uses_the_jittered_search_crop():
    config = replace(PLAIN, search_center_jitter=3.5, search_scale_jitter=0.5)
    search = np.array([30, 40, 20, 10], float)
    for seed in range(5):
        sample = _process(config, search[None], seed=seed)
        torch.testing.assert_close(sample["history_boxes"][0], sample["search_box"], rtol=0, atol=1e-6)


def test_history_changes_no_other_draw():
    config = ProcessingConfig(template_size=32, search_size=48, bins=1000)
    for seed in range(4):
        plain = _process(config, None, seed=seed)
        temporal = _process(config, np.array([[26, 37, 20, 10]] * 3, float), seed=seed)
        assert "history" not in plain and "history_boxes" not in plain
        assert plain.keys() | {"history", "history_boxes"} == temporal.keys()
        for key, value in plain.items():
            assert torch.equal(value, temporal[key]), key


# ---------------------------------------------------------------------------------------- noise
def test_history_noise_statistics():
    boxes = np.tile([0.2, 0.3, 0.2, 0.1], (20000, 1))
    noisy = history_noise(boxes, 0.1, np.random.default_rng(0))
    size = boxes[:, 2:]
    centre_error = (noisy[:, :2] + noisy[:, 2:] / 2 - boxes[:, :2] - size / 2) / size
    log_scale = np.log(noisy[:, 2:] / size)
    np.testing.assert_allclose(centre_error.std(axis=0), 0.1, rtol=0.05)
    np.testing.assert_allclose(log_scale.std(axis=0), 0.1, rtol=0.05)
    np.testing.assert_allclose(centre_error.mean(axis=0), 0.0, atol=0.005)
    np.testing.assert_array_equal(history_noise(boxes[:3], 0.0, np.random.default_rng(0)), boxes[:3])


def test_history_jitter_moves_the_history_not_the_target():
    search = np.array([30, 40, 20, 10], float)
    exact = _process(PLAIN, np.stack([search] * 4))
    noisy = _process(replace(PLAIN, history_jitter=0.1), np.stack([search] * 4))
    assert torch.equal(exact["seq_target"], noisy["seq_target"])
    error = (noisy["history_boxes"] - exact["history_boxes"]).abs()
    assert (error > 1e-4).all()
    assert error.max() < 0.5 * exact["search_box"][2:].min()  # 0.1 of the box size is a small error


# ---------------------------------------------------------------------------------------- dataset
def test_pair_dataset_items_and_batches_carry_the_history():
    def loader(path: Path) -> np.ndarray:
        index, frame = (int(part.lstrip("s")) for part in path.parts)
        return _frame(_boxes(30)[frame] + 3 * index)

    processing = ProcessingConfig(template_size=32, search_size=48, bins=200)
    dataset = PairDataset(
        [_Videos()],
        processing=processing,
        samples_per_epoch=6,
        sampler=SamplerConfig(max_interval=10, history_frames=4),
        loader=loader,
    )
    batch = torch.utils.data.default_collate([dataset[i] for i in range(3)])
    assert batch["history"].shape == (3, 16) and batch["history"].dtype == torch.int64
    assert 0 <= int(batch["history"].min()) and int(batch["history"].max()) < 200
    assert batch["history_boxes"].shape == (3, 4, 4)
    # Stride one frame and a slow target: the newest history box lies near the target.
    newest = batch["history_boxes"][:, -1]
    assert (newest - batch["search_box"]).abs().max() < 0.25
    again = dataset[1]
    assert torch.equal(again["history"], batch["history"][1])  # still a pure function of the index
