"""The semi-real generator (determinism, ground truth, GOT-10k layout) and PairDataset reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqtrack.data import got10k
from seqtrack.data.pair_dataset import PairDataset
from seqtrack.data.procedural import dead_leaves_image
from seqtrack.data.processing import ProcessingConfig
from seqtrack.data.sampler import SamplerConfig
from seqtrack.data.synthetic import (
    SOURCE_SPLITS,
    SyntheticConfig,
    cover_level,
    generate_sequence,
    synthetic_dataset,
    write_dataset,
)

SIZE = (72, 96)


def test_generator_is_deterministic_and_varies():
    a = generate_sequence(3, 12, SIZE, "train", seed=5)
    b = generate_sequence(3, 12, SIZE, "train", seed=5)
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames))
    np.testing.assert_array_equal(a.boxes, b.boxes)
    c = generate_sequence(3, 12, SIZE, "train", seed=6)
    d = generate_sequence(3, 12, SIZE, "test", seed=5)
    assert not np.array_equal(a.frames[0], c.frames[0]) and not np.array_equal(a.frames[0], d.frames[0])


def test_source_splits_disjoint():
    assert not set(SOURCE_SPLITS["train"]) & set(SOURCE_SPLITS["test"])
    meta = generate_sequence(0, 2, SIZE, "test").meta
    assert meta["target_source"] in SOURCE_SPLITS["test"] and meta["background_source"] in SOURCE_SPLITS["test"]


def test_procedural_sources():
    a, b = dead_leaves_image(7, (60, 80)), dead_leaves_image(7, (60, 80))
    assert a.shape == (60, 80, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(a, dead_leaves_image(8, (60, 80)))
    assert a.std() > 5  # a collage, not a flat canvas
    # "mixed" draws fresh collages (leaves-<k>) and the training photographs; "val" is in neither train nor test
    drawn = [generate_sequence(i, 1, SIZE, "mixed", seed=3).meta["background_source"] for i in range(12)]
    assert any(name.startswith("leaves-") for name in drawn)
    assert any(name in SOURCE_SPLITS["train"] for name in drawn)
    assert all(name.startswith("leaves-") or name in SOURCE_SPLITS["train"] for name in drawn)
    assert not set(SOURCE_SPLITS["val"]) & (set(SOURCE_SPLITS["train"]) | set(SOURCE_SPLITS["test"]))
    assert generate_sequence(0, 2, SIZE, "val").meta["target_source"] in SOURCE_SPLITS["val"]


def test_ground_truth_is_consistent():
    height, width = SIZE
    exits = 0
    for index in range(8):
        seq = generate_sequence(index, 60, SIZE, "train", seed=1, config=SyntheticConfig(exit_prob=0.7))
        assert len(seq.frames) == 60 and seq.frames[0].shape == (height, width, 3) and seq.frames[0].dtype == np.uint8
        assert seq.absence[0] == 0 and seq.cover[0] == 8  # frame 0 shows the whole target
        x, y, w, h = seq.boxes.T
        present = w > 0
        assert (x[present] >= 0).all() and (y[present] >= 0).all()
        assert (x[present] + w[present] <= width).all() and (y[present] + h[present] <= height).all()
        assert (seq.boxes[~present] == 0).all()
        assert (seq.absence[~present] == 1).all()  # entirely outside the frame -> absent
        visible = seq.absence == 0
        assert (w[visible] > 0).all() and (seq.cover[visible] > 0).all() and (seq.cover[~visible] == 0).all()
        # motion is smooth: between fully visible frames the box centre moves less than the larger of
        # the box size and 15 % of the frame width (fast pans included), never a teleport
        both = visible[1:] & visible[:-1] & (seq.cover[1:] == 8) & (seq.cover[:-1] == 8)
        centre = seq.boxes[:, :2] + seq.boxes[:, 2:] / 2
        jump = np.linalg.norm(np.diff(centre, axis=0), axis=1)[both]
        limit = np.maximum(np.maximum(seq.boxes[1:, 2], seq.boxes[1:, 3]), 0.15 * width)[both]
        assert (jump <= limit).all()
        exits += seq.absence.any()
    assert exits >= 2  # the target leaves the view in some sequences


def test_cover_levels():
    assert [cover_level(f) for f in (0.0, 0.005, 0.1, 0.2, 0.5, 0.89, 0.95, 0.999, 1.0)] == [0, 0, 1, 2, 4, 6, 7, 8, 8]


def test_written_dataset_reads_back(tmp_path):
    names = write_dataset(tmp_path, 3, 25, size=SIZE, split="train", seed=2)
    assert (tmp_path / "list.txt").read_text().split() == names
    seq = got10k.read_sequence(tmp_path / names[1])
    memory = generate_sequence(1, 25, SIZE, "train", seed=2)
    assert len(seq) == 25 and seq.frames[0].name == "00000001.jpg"
    np.testing.assert_allclose(seq.boxes, memory.boxes, atol=1e-4)
    np.testing.assert_array_equal(seq.visible, (memory.absence == 0) & (memory.cover > 0))
    assert seq.meta["split"] == "train"
    dataset = synthetic_dataset(tmp_path)
    assert len(dataset) == 3 and dataset.name == "synthetic"
    # resumable: a second call keeps finished sequences untouched
    mtime = (tmp_path / names[0] / "00000001.jpg").stat().st_mtime_ns
    write_dataset(tmp_path, 3, 25, size=SIZE, split="train", seed=2)
    assert (tmp_path / names[0] / "00000001.jpg").stat().st_mtime_ns == mtime


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("syn")
    write_dataset(root, 3, 24, size=SIZE, split="train", seed=0)
    return root


def _pairs(root, **kwargs):
    processing = ProcessingConfig(template_size=32, search_size=48)
    return PairDataset(
        [synthetic_dataset(root)],
        processing=processing,
        samples_per_epoch=16,
        seed=11,
        sampler=SamplerConfig(max_interval=10),
        **kwargs,
    )


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_pair_dataset_items(synthetic_root):
    item = _pairs(synthetic_root)[0]
    assert item["templates"].shape == (2, 3, 32, 32) and item["search"].shape == (3, 48, 48)
    assert item["seq_input"][0] == 4001 and item["seq_target"][-1] == 4000
    assert ((item["seq_target"][:4] >= 0) & (item["seq_target"][:4] < 4000)).all()


def test_pair_dataset_deterministic_and_order_independent(synthetic_root):
    first, second = _pairs(synthetic_root), _pairs(synthetic_root)
    forward = [first[i] for i in range(4)]
    backward = [second[i] for i in reversed(range(4))][::-1]
    assert all(_same(a, b) for a, b in zip(forward, backward))
    second.set_epoch(1)
    assert not _same(second[0], forward[0])
    second.set_epoch(0)
    assert _same(second[0], forward[0])
    batch = torch.utils.data.default_collate([first[i] for i in range(2)])
    assert batch["templates"].shape == (2, 2, 3, 32, 32) and batch["seq_target"].shape == (2, 5)
