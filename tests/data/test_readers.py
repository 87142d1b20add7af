"""LaSOT, GOT-10k and TrackingNet readers on tiny copies of the official layouts."""

from __future__ import annotations

import random

import numpy as np
import pytest

from seqtrack.data import got10k, lasot, trackingnet
from seqtrack.data.splits import read_split_ids, read_split_names
from seqtrack.errors import DatasetError


# ---------------------------------------------------------------- LaSOT
def test_lasot_read_sequence(tmp_path, make_lasot):
    boxes = make_lasot(tmp_path, "airplane-3", 12, occluded={2, 3}, out_of_view={3, 7}, nlp="white airplane")
    seq = lasot.read_sequence(tmp_path / "airplane" / "airplane-3")
    assert seq.name == "airplane-3" and seq.dataset == "lasot" and seq.meta["class"] == "airplane"
    assert len(seq) == 12
    assert seq.frames[0] == tmp_path / "airplane" / "airplane-3" / "img" / "00000001.jpg"
    assert seq.frames[-1].name == "00000012.jpg"
    assert all(f.is_file() for f in seq.frames)
    np.testing.assert_array_equal(seq.boxes, boxes)
    assert seq.boxes.dtype == np.float64 and seq.boxes.shape == (12, 4)
    expected = np.ones(12, bool)
    expected[[2, 3, 7]] = False
    np.testing.assert_array_equal(seq.visible, expected)
    assert seq.language == "white airplane"


def test_lasot_missing_flags_names_path(tmp_path, make_lasot):
    make_lasot(tmp_path, "cat-1", 5)
    (tmp_path / "cat" / "cat-1" / "out_of_view.txt").unlink()
    with pytest.raises(DatasetError, match="cat-1/out_of_view.txt"):
        lasot.read_sequence(tmp_path / "cat" / "cat-1")


def test_lasot_malformed_groundtruth_names_path(tmp_path, make_lasot):
    make_lasot(tmp_path, "cat-2", 5)
    gt = tmp_path / "cat" / "cat-2" / "groundtruth.txt"
    gt.write_text("1,2,3,4\n1,2,3\n")
    with pytest.raises(DatasetError, match=r"cat-2/groundtruth.txt.*line 2"):
        lasot.read_sequence(tmp_path / "cat" / "cat-2")


def test_lasot_flag_length_mismatch(tmp_path, make_lasot):
    make_lasot(tmp_path, "cat-3", 5)
    (tmp_path / "cat" / "cat-3" / "full_occlusion.txt").write_text("0,0,0")
    with pytest.raises(DatasetError, match="full_occlusion.txt"):
        lasot.read_sequence(tmp_path / "cat" / "cat-3")


def test_lasot_train_split(tmp_path, make_lasot):
    names = read_split_names("lasot_train_split.txt")
    assert len(names) == 1120 and names[0] == "airplane-10"
    make_lasot(tmp_path, names[0], 4, images=False)
    make_lasot(tmp_path, names[5], 6, images=False)
    dataset = lasot.LasotTrain(tmp_path)
    assert len(dataset) == 1120 and dataset.is_video
    assert dataset.sequence(5).name == names[5] and len(dataset.sequence(5)) == 6
    assert len(lasot.LasotTrain(tmp_path, split=None)) == 2


def test_lasot_train_wrong_root(tmp_path):
    with pytest.raises(DatasetError, match="airplane/airplane-10"):
        lasot.LasotTrain(tmp_path)


# ---------------------------------------------------------------- GOT-10k
def test_got10k_read_sequence(tmp_path, make_got10k):
    boxes = make_got10k(tmp_path / "train", "GOT-10k_Train_000007", 11, absence={4}, cover0={9})
    seq = got10k.read_sequence(tmp_path / "train" / "GOT-10k_Train_000007")
    assert seq.dataset == "got10k" and len(seq) == 11
    # sorted by integer stem: 00000002 before 00000010
    assert [f.name for f in seq.frames[:2]] == ["00000001.jpg", "00000002.jpg"]
    assert seq.frames[-1].name == "00000011.jpg"
    np.testing.assert_allclose(seq.boxes, boxes)
    expected = np.ones(11, bool)
    expected[[4, 9]] = False
    np.testing.assert_array_equal(seq.visible, expected)
    assert seq.meta["class"] == "ailurus fulgens"
    assert seq.meta["url"] == "https://www.youtube.com/watch?v=abc%20d"
    assert seq.meta["resolution"] == "(1920, 1080)"


def test_got10k_test_split_one_line(tmp_path, make_got10k):
    boxes = make_got10k(tmp_path / "test", "GOT-10k_Test_000001", 6, gt_lines=1, labels=False, meta=False)
    seq = got10k.read_sequence(tmp_path / "test" / "GOT-10k_Test_000001")
    assert seq.boxes.shape == (1, 4) and len(seq) == 6 and seq.visible is None
    np.testing.assert_allclose(seq.init_box, boxes[0])


def test_got10k_missing_groundtruth_names_path(tmp_path, make_got10k):
    make_got10k(tmp_path, "GOT-10k_Val_000001", 3)
    (tmp_path / "GOT-10k_Val_000001" / "groundtruth.txt").unlink()
    with pytest.raises(DatasetError, match="GOT-10k_Val_000001/groundtruth.txt"):
        got10k.read_sequence(tmp_path / "GOT-10k_Val_000001")


def test_got10k_malformed_labels_names_path(tmp_path, make_got10k):
    make_got10k(tmp_path, "S", 3)
    (tmp_path / "S" / "cover.label").write_text("8\n8\n")
    with pytest.raises(DatasetError, match="S/cover.label"):
        got10k.read_sequence(tmp_path / "S")


def test_got10k_split_ids_are_positions_in_list_txt(tmp_path, make_got10k):
    """Ids index the line order of the dataset's own list.txt, whatever that order is."""
    names = [f"GOT-10k_Train_{i:06d}" for i in range(1, 9336)]
    random.Random(3).shuffle(names)
    root = tmp_path / "train"
    root.mkdir()
    (root / "list.txt").write_text("\n".join(names) + "\n")
    votval_ids = read_split_ids("got10k_vot_val_split.txt")
    dataset = got10k.Got10kTrain(root, split="votval")
    assert len(dataset) == 1249 and dataset.name == "got10k_votval"
    assert dataset.names == [names[i] for i in votval_ids]
    # and the reader behind an id reads the sequence of that name
    make_got10k(root, names[votval_ids[0]], 4)
    assert dataset.sequence(0).name == names[votval_ids[0]]
    train = set(got10k.Got10kTrain(root, split="vottrain").names)
    assert len(train) == 7086 and not train & set(dataset.names)
    assert len(got10k.Got10kTrain(root, split="train_full")) == 9335


def test_got10k_explicit_ids_and_short_list(tmp_path, make_got10k):
    root = tmp_path / "train"
    for name in ("c", "a", "b"):
        make_got10k(root, name, 3, meta=False)
    (root / "list.txt").write_text("c\na\nb\n")
    assert got10k.Got10kTrain(root, ids=[2, 0]).names == ["b", "c"]
    assert got10k.Got10kTrain(root, split=None).names == ["c", "a", "b"]
    with pytest.raises(DatasetError, match="list.txt"):
        got10k.Got10kTrain(root, split="vottrain")  # ids need the original 9335-line list


def test_got10k_root_one_level_too_high(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "list.txt").write_text("x\n")
    with pytest.raises(DatasetError, match="pass the 'train' folder"):
        got10k.Got10kTrain(tmp_path)


# ---------------------------------------------------------------- TrackingNet
def test_trackingnet_read_sequence(tmp_path, make_trackingnet):
    boxes = make_trackingnet(tmp_path, "TRAIN_3", "vidA", 12)
    seq = trackingnet.read_sequence(
        tmp_path / "TRAIN_3" / "anno" / "vidA.txt", tmp_path / "TRAIN_3" / "frames" / "vidA"
    )
    assert seq.name == "vidA" and seq.dataset == "trackingnet" and len(seq) == 12
    assert [f.name for f in seq.frames[:3]] == ["0.jpg", "1.jpg", "2.jpg"]
    assert seq.frames[10].name == "10.jpg"  # integer sort, not lexicographic
    np.testing.assert_allclose(seq.boxes, boxes)
    # the parent frames folder is accepted as well
    seq2 = trackingnet.read_sequence(tmp_path / "TRAIN_3" / "anno" / "vidA.txt", tmp_path / "TRAIN_3" / "frames")
    assert seq2.frames == seq.frames


def test_trackingnet_test_split_and_malformed(tmp_path, make_trackingnet):
    make_trackingnet(tmp_path, "TEST", "v", 5, anno_lines=1)
    seq = trackingnet.read_sequence(tmp_path / "TEST" / "anno" / "v.txt", tmp_path / "TEST" / "frames" / "v")
    assert seq.boxes.shape == (1, 4) and len(seq) == 5
    (tmp_path / "TEST" / "anno" / "v.txt").write_text("1,2,3,4\n1,2,3,4\n")
    with pytest.raises(DatasetError, match="TEST/anno/v.txt"):
        trackingnet.read_sequence(tmp_path / "TEST" / "anno" / "v.txt", tmp_path / "TEST" / "frames" / "v")
    with pytest.raises(DatasetError, match="frames/missing"):
        trackingnet.read_sequence(tmp_path / "TEST" / "anno" / "v.txt", tmp_path / "TEST" / "frames" / "missing")


def test_trackingnet_train_chunks(tmp_path, make_trackingnet):
    make_trackingnet(tmp_path, "TRAIN_0", "b", 3)
    make_trackingnet(tmp_path, "TRAIN_0", "a", 4)
    make_trackingnet(tmp_path, "TRAIN_2", "z", 5)
    dataset = trackingnet.TrackingNetTrain(tmp_path, chunks=[0, 2])
    assert len(dataset) == 3
    assert [dataset.sequence(i).name for i in range(3)] == ["a", "b", "z"]
    assert len(dataset.sequence(2)) == 5
    with pytest.raises(DatasetError, match="TRAIN_1/anno"):
        trackingnet.TrackingNetTrain(tmp_path, chunks=[1])
