"""Box files: plain and benchmark layouts, full precision, one flushed line per frame, read back."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from seqtrack.errors import InputError
from seqtrack.io.boxes import BoxWriter, format_box_line, read_box_file
from seqtrack.io.files import OutputError
from support import FillingFile


def random_boxes(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(n, 4)`` boxes and ``(n,)`` scores with full float64 mantissas (no short decimal form)."""
    rng = np.random.default_rng(seed)
    boxes = rng.uniform(0, 1000, size=(n, 4)) / 3.0
    scores = rng.uniform(0, 1, size=n) / 7.0
    return boxes, scores


# ------------------------------------------------------------------------------------------------
# BoxWriter / read_box_file
# ------------------------------------------------------------------------------------------------


def test_plain_round_trip_is_bit_exact_and_flushed_per_line(tmp_path):
    boxes, scores = random_boxes(6)
    path = tmp_path / "out" / "tracked.txt"
    with BoxWriter(path) as writer:
        assert writer.paths == [path] and writer.time_path is None
        writer.write(boxes[0])  # init frame: no score
        # The file is readable while the writer is still open, one line per frame written.
        assert len(read_box_file(path)) == 1
        for i in range(1, 6):
            writer.write(boxes[i], scores[i])
            assert len(read_box_file(path)) == i + 1
        assert writer.frames_written == 6
    back = read_box_file(path)
    assert back.boxes.dtype == np.float64 and back.boxes.shape == (6, 4)
    np.testing.assert_array_equal(back.boxes, boxes)  # exact: no digits lost
    assert math.isnan(back.scores[0])
    np.testing.assert_array_equal(back.scores[1:], scores[1:])
    first = path.read_text().splitlines()[0].split(",")
    assert len(first) == 5 and first[4] == "nan"


def test_float32_and_integer_boxes_are_written_exactly(tmp_path):
    path = tmp_path / "b.txt"
    with BoxWriter(path) as writer:
        writer.write(np.array([0.1, 2.5, 3, 4], np.float32), np.float32(0.7))
        writer.write([412, 220, 64, 120], 1)
    back = read_box_file(path)
    assert back.boxes[0, 0] == float(np.float32(0.1)) and back.scores[0] == float(np.float32(0.7))
    assert path.read_text().splitlines()[1] == "412.0,220.0,64.0,120.0,1.0"


def test_multi_target_plain_writes_one_file_per_target(tmp_path):
    path = tmp_path / "boxes.txt"
    with BoxWriter(path, targets=2) as writer:
        assert writer.paths == [tmp_path / "boxes_t0.txt", tmp_path / "boxes_t1.txt"]
        writer.write_frame([[1, 2, 3, 4], [5, 6, 7, 8]])
        writer.write_frame([[1.5, 2, 3, 4], None], [0.9, 0.8])  # target 1 absent in this frame
        with pytest.raises(InputError, match="2 targets; use write_frame"):
            writer.write([1, 2, 3, 4])
        with pytest.raises(InputError, match="frame 2: got 1 boxes for 2 targets"):
            writer.write_frame([[1, 2, 3, 4]])
    t0, t1 = read_box_file(writer.paths[0]), read_box_file(writer.paths[1])
    assert len(t0) == len(t1) == 2
    assert t0.boxes[1, 0] == 1.5 and t0.scores[1] == 0.9
    assert np.isnan(t1.boxes[1]).all() and np.isnan(t1.scores[1])
    assert not path.exists()


def test_pytracking_layout(tmp_path):
    boxes, _ = random_boxes(3)
    with BoxWriter(tmp_path, layout="pytracking", sequence="airplane-1") as writer:
        for i in range(3):
            writer.write(boxes[i], 0.5, time_s=0.01 * (i + 1))
    lines = (tmp_path / "airplane-1.txt").read_text().splitlines()
    assert len(lines) == 3 and all(len(line.split("\t")) == 4 for line in lines)
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "airplane-1.txt", delimiter="\t"), boxes)
    times = np.loadtxt(tmp_path / "airplane-1_time.txt")
    np.testing.assert_array_equal(times, [0.01, 0.02, 0.03])
    with BoxWriter(tmp_path / "multi", layout="pytracking", sequence="s", targets=[1, 2]) as writer:
        writer.write_frame([[1, 2, 3, 4], [5, 6, 7, 8]])
    assert sorted(p.name for p in (tmp_path / "multi").iterdir()) == ["s_1.txt", "s_2.txt", "s_time.txt"]


def test_got10k_layout(tmp_path):
    with BoxWriter(tmp_path, layout="got10k", sequence="GOT-10k_Test_000001") as writer:
        writer.write([1, 2, 3, 4], time_s=0.5)
        writer.write([1.25, 2, 3, 4], 0.9)
    folder = tmp_path / "GOT-10k_Test_000001"
    assert (folder / "GOT-10k_Test_000001_001.txt").read_text() == "1.0,2.0,3.0,4.0\n1.25,2.0,3.0,4.0\n"
    assert (folder / "GOT-10k_Test_000001_time.txt").read_text() == "0.5\nnan\n"
    with pytest.raises(InputError, match="single target"):
        BoxWriter(tmp_path, layout="got10k", sequence="x", targets=2)
    with pytest.raises(InputError, match="needs a sequence name"):
        BoxWriter(tmp_path, layout="got10k")
    with pytest.raises(InputError, match="unknown box file layout"):
        BoxWriter(tmp_path / "a.txt", layout="lasot")


def test_writer_rejects_bad_boxes_without_desynchronising_files(tmp_path):
    with BoxWriter(tmp_path / "b.txt", targets=2) as writer:
        with pytest.raises(InputError, match="frame 0, target 1: expected a box of 4 numbers"):
            writer.write_frame([[1, 2, 3, 4], [1, 2, 3]])
        assert all(p.read_text() == "" for p in writer.paths)
    with pytest.raises(ValueError, match="closed"):
        writer.write_frame([[1, 2, 3, 4], [1, 2, 3, 4]])


def test_read_box_file_accepts_any_separator(tmp_path):
    path = tmp_path / "box.txt"
    path.write_text("\ufeff# init box\n412,220,64,120\n\n1\t2\t3\t4\t0.5\n1 2  3 4\n1, 2, 3, 4, NaN\n")
    back = read_box_file(path)
    np.testing.assert_array_equal(back.boxes[0], [412, 220, 64, 120])
    assert len(back) == 4 and back.scores[1] == 0.5 and np.isnan(back.scores[[0, 2, 3]]).all()


def test_read_box_file_errors_name_file_and_line(tmp_path):
    with pytest.raises(InputError, match=r"box file not found: '.*missing\.txt'"):
        read_box_file(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("1,2,3,4\n1,2,3\n")
    with pytest.raises(InputError, match=r"bad\.txt:2: expected 4 numbers x,y,w,h .* got 3 field"):
        read_box_file(bad)
    bad.write_text("1,2,x,4\n")
    with pytest.raises(InputError, match=r"bad\.txt:1: not a number"):
        read_box_file(bad)
    bad.write_text("\n# nothing\n")
    with pytest.raises(InputError, match="contains no box"):
        read_box_file(bad)


# ------------------------------------------------------------------------------------------------
# A full disk or an interrupt in the middle of a frame (issue 18)
# ------------------------------------------------------------------------------------------------


def test_full_disk_mid_frame_leaves_whole_aligned_lines(tmp_path, monkeypatch):
    boxes, scores = random_boxes(3)
    path = tmp_path / "tracked.txt"
    with BoxWriter(path, targets=2) as writer:
        writer.write_frame([boxes[0], boxes[1]], [None, None])
        written = sum(p.stat().st_size for p in writer.paths)
        # Room for the next line of target 0 and part of the line of target 1.
        space = {"left": len(format_box_line([*boxes[1], scores[1]], ",")) + 10}
        for handle in writer._files:  # the files are open: put them on the nearly full disk
            monkeypatch.setattr(handle, "_raw", FillingFile(handle._raw, space))
        with pytest.raises(OutputError, match=r"could not write box file .*tracked_t1\.txt: No space left on device$"):
            writer.write_frame([boxes[1], boxes[2]], [scores[1], scores[2]])
        assert writer.frames_written == 1
    assert sum(p.stat().st_size for p in writer.paths) == written  # frame 1 undone in both files
    for p in writer.paths:
        text = p.read_text()
        assert text.endswith("\n") and len(read_box_file(p)) == 1


def test_interrupt_mid_frame_leaves_no_file_ahead(tmp_path, monkeypatch):
    boxes, _ = random_boxes(2)
    with BoxWriter(tmp_path / "tracked.txt", targets=2) as writer:
        writer.write_frame([boxes[0], boxes[1]])

        def interrupted(text):
            raise KeyboardInterrupt

        monkeypatch.setattr(writer._files[1], "write", interrupted)
        with pytest.raises(KeyboardInterrupt):
            writer.write_frame([boxes[1], boxes[0]])
    assert [len(read_box_file(p)) for p in writer.paths] == [1, 1]


def test_box_file_on_a_device_without_room(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    link = tmp_path / "boxes.txt"
    link.symlink_to("/dev/full")
    with BoxWriter(link) as writer, pytest.raises(OutputError, match="No space left on device"):
        writer.write([1.0, 2.0, 3.0, 4.0])
