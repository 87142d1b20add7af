"""The official "order" pair sampler: acceptance rules, window, replacement, ordering, ratios."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seqtrack.data.base import TrainingDataset
from seqtrack.data.sampler import (
    PairSampler,
    SamplerConfig,
    choose_dataset,
    is_usable_video,
    order_ids,
    sample_frame_ids,
    sample_window_ids,
)
from seqtrack.data.sequence import Sequence
from seqtrack.errors import DatasetError


class FakeDataset(TrainingDataset):
    """In-memory sequences: ``specs`` = list of visibility arrays."""

    def __init__(self, name: str, specs: list[np.ndarray], is_video: bool = True):
        self.name, self.is_video, self.specs = name, is_video, specs

    def __len__(self) -> int:
        return len(self.specs)

    def sequence(self, index: int) -> Sequence:
        visible = np.asarray(self.specs[index], dtype=bool)
        n = len(visible)
        boxes = np.tile([10.0, 20.0, 30.0, 40.0], (n, 1))
        boxes[:, 0] += np.arange(n)  # box x encodes the frame index
        return Sequence(
            f"{self.name}-{index}",
            [Path(f"/{self.name}/{index}/{i}.jpg") for i in range(n)],
            boxes,
            visible,
            dataset=self.name,
        )


def test_usable_video_rule():
    config = SamplerConfig()
    assert not is_usable_video(np.ones(19, bool), 3, config)  # < 20 frames
    assert is_usable_video(np.ones(20, bool), 3, config)
    seven = np.zeros(30, bool)
    seven[:7] = True
    six = np.zeros(30, bool)
    six[:6] = True
    assert is_usable_video(seven, 3, config) and not is_usable_video(six, 3, config)  # strictly > 2*(T+1)


def test_window_grows_by_five_until_a_visible_frame():
    visible = np.zeros(200, bool)
    visible[:6] = True
    rng = np.random.default_rng(0)
    ids, gap = sample_window_ids(rng, visible, base=50, num_ids=3, max_interval=10, growth=5)
    # window [40 - g, 60 + g) first contains frame 5 when 40 - g <= 5, i.e. g = 35
    assert gap == 35
    assert ids.shape == (3,) and set(ids) <= set(range(6))
    ids, gap = sample_window_ids(rng, visible, base=3, num_ids=3, max_interval=10, growth=5)
    assert gap == 0
    ids, gap = sample_window_ids(rng, np.zeros(50, bool), base=3, num_ids=3, max_interval=10, growth=5)
    assert ids is None  # nothing visible at all: terminates


def test_ids_inside_window_and_visible():
    rng = np.random.default_rng(1)
    visible = rng.random(3000) < 0.7
    for _ in range(300):
        base = int(rng.integers(3000))
        ids, gap = sample_window_ids(rng, visible, base, 3, 400, 5)
        assert gap == 0
        assert ((ids >= base - 400) & (ids < base + 400)).all()
        assert visible[ids].all()


def test_ids_drawn_with_replacement():
    rng = np.random.default_rng(2)
    visible = np.zeros(40, bool)
    visible[[3, 9, 30]] = True
    draws = [sample_window_ids(rng, visible, 9, 3, 400, 5)[0] for _ in range(200)]
    duplicates = sum(len(set(d)) < 3 for d in draws)
    # P(all distinct) = 3!/27 = 2/9, so ~78 % of draws repeat an id
    assert 120 < duplicates < 190


def test_descending_about_half_and_search_last():
    rng = np.random.default_rng(3)
    visible = np.ones(1000, bool)
    descending = ascending = 0
    for _ in range(2000):
        ids = sample_frame_ids(rng, visible, SamplerConfig())
        assert ids.shape == (3,)
        if ids[0] > ids[-1]:
            descending += 1
            assert (np.diff(ids) <= 0).all()
        elif ids[0] < ids[-1]:
            ascending += 1
            assert (np.diff(ids) >= 0).all()
    assert abs(descending / (descending + ascending) - 0.5) < 0.05
    assert order_ids(rng, np.array([5, 1, 3]), descending_prob=1.0).tolist() == [5, 3, 1]
    assert order_ids(rng, np.array([5, 1, 3]), descending_prob=0.0).tolist() == [1, 3, 5]


def test_sampler_rejects_unusable_sequences_and_reads_boxes():
    short = np.ones(10, bool)  # too short
    dark = np.zeros(50, bool)
    dark[:6] = True  # too few visible
    good = np.ones(25, bool)
    dataset = FakeDataset("v", [short, dark, good])
    sampler = PairSampler([dataset])
    rng = np.random.default_rng(4)
    for _ in range(50):
        sample = sampler.sample(rng)
        assert sample.sequence.name == "v-2"
        assert len(sample.template_frames) == 2 and sample.template_boxes.shape == (2, 4)
        # boxes follow the chosen frame ids (x encodes the frame index)
        np.testing.assert_array_equal(sample.boxes[:, 0], 10 + sample.frame_ids)
        assert sample.search_frame == Path(f"/v/2/{sample.frame_ids[-1]}.jpg")


def test_sampler_gives_up_with_clear_error():
    sampler = PairSampler([FakeDataset("bad", [np.ones(5, bool)])], config=SamplerConfig(max_sequence_tries=20))
    with pytest.raises(DatasetError, match="bad"):
        sampler.sample(np.random.default_rng(0))


def test_image_dataset_duplicated_and_accepted_without_visibility():
    images = FakeDataset("coco", [np.zeros(1, bool)], is_video=False)
    sample = PairSampler([images]).sample(np.random.default_rng(0))
    assert sample.frame_ids.tolist() == [0, 0, 0]
    assert sample.template_frames == [sample.search_frame] * 2


def test_dataset_ratios():
    rng = np.random.default_rng(5)
    picks = np.array([choose_dataset(rng, [3, 1]) for _ in range(4000)])
    assert abs((picks == 0).mean() - 0.75) < 0.03
    with pytest.raises(ValueError):
        choose_dataset(rng, [0, 0])


def test_sampler_is_deterministic_from_rng():
    data = [FakeDataset("a", [np.ones(30, bool), np.ones(60, bool)]), FakeDataset("b", [np.ones(100, bool)])]
    sampler = PairSampler(data, [1, 2])
    one = [sampler.sample(np.random.default_rng([7, i])) for i in range(20)]
    two = [sampler.sample(np.random.default_rng([7, i])) for i in range(20)]
    assert [(s.dataset, s.sequence.name, s.frame_ids.tolist()) for s in one] == [
        (s.dataset, s.sequence.name, s.frame_ids.tolist()) for s in two
    ]
