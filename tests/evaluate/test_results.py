"""Result files: the evaluation's atomic writer and the tracking CLI's `BoxWriter` write the same
layouts through `seqtrack.io.boxes`, byte for byte."""

from __future__ import annotations

import numpy as np
import pytest

from seqtrack.evaluate.results import result_paths, write_result
from seqtrack.io.boxes import BoxWriter, read_box_file


def awkward_boxes() -> tuple[np.ndarray, np.ndarray]:
    """``(7, 4)`` boxes and ``(7,)`` times whose text is easy to get wrong: full mantissas, ``nan``,
    tiny and huge exponents, negative zero."""
    rng = np.random.default_rng(3)
    boxes = rng.uniform(-5, 500, (7, 4)) / 3.0
    boxes[3] = np.nan
    boxes[4, 2] = 1e-17
    boxes[5] = [1, 2.5, 3e20, -0.0]
    times = rng.uniform(0, 1, 7) / 7.0
    times[2] = np.nan
    return boxes, times


@pytest.mark.parametrize("layout", ["pytracking", "got10k"])
def test_write_result_and_box_writer_write_identical_files(tmp_path, layout):
    boxes, times = awkward_boxes()
    written = write_result(tmp_path / "result", "seq-1", boxes, times, layout)
    with BoxWriter(tmp_path / "writer", layout, sequence="seq-1") as writer:
        for box, time_s in zip(boxes, times):
            writer.write(box, 0.5, time_s=time_s)
    expected = result_paths(tmp_path / "result", "seq-1", layout)
    assert written == expected[0]
    assert [*writer.paths, writer.time_path] == list(result_paths(tmp_path / "writer", "seq-1", layout))
    for ours, theirs in zip(expected, [*writer.paths, writer.time_path]):
        assert ours.read_bytes() == theirs.read_bytes()
    np.testing.assert_array_equal(read_box_file(written).boxes, boxes)  # exact round trip


def test_layout_text_is_what_the_toolkits_read(tmp_path):
    boxes = np.array([[1.0, 2.5, 3.0, 4.0], [10.75, -0.5, 7.0, 8.0]])
    write_result(tmp_path, "a", boxes, np.array([0.5, 0.25]), "pytracking")
    assert (tmp_path / "a.txt").read_bytes() == b"1.0\t2.5\t3.0\t4.0\n10.75\t-0.5\t7.0\t8.0\n"
    assert (tmp_path / "a_time.txt").read_bytes() == b"0.5\n0.25\n"
    # integer=True truncates toward zero, like the official toolkit's astype(int).
    write_result(tmp_path, "b", boxes, np.array([0.5, 0.25]), "got10k", integer=True)
    assert (tmp_path / "b" / "b_001.txt").read_bytes() == b"1,2,3,4\n10,0,7,8\n"
    assert result_paths(tmp_path, "b", "got10k", run=3)[0] == tmp_path / "b" / "b_003.txt"
    with pytest.raises(ValueError, match="unknown result layout 'plain'"):
        result_paths(tmp_path, "a", "plain")
