"""`seqtrack.integrations.vot_workspace` and ``seqtrack vot-workspace``: the files of an offline VOT
workspace, checked without the toolkit (tests/integrations/test_vot_toolkit.py runs the toolkit on one)."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import cv2
import numpy as np
import pytest

from seqtrack.cli import main
from seqtrack.errors import InputError
from seqtrack.integrations.vot_workspace import (
    VotSequence,
    benchmark_sequences,
    ground_truth_text,
    stack_text,
    write_workspace,
)


def _sequence(name: str, n: int = 3) -> VotSequence:
    frames = [np.full((24, 32, 3), 40 * i, dtype=np.uint8) for i in range(n)]
    boxes = np.tile([4.0, 5.0, 10.0, 8.0], (n, 1))
    return VotSequence(name, frames, boxes)


def test_workspace_files(tmp_path):
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"")
    root = write_workspace(tmp_path / "ws", weights, [_sequence("a"), _sequence("b", 2)], python="/usr/bin/python3")
    assert (root / "config.yaml").read_text() == "registry:\n- ./trackers.ini\nstack: ./stack.yaml\n"
    assert (root / "sequences" / "list.txt").read_text() == "a\nb\n"
    seq = root / "sequences" / "a"
    assert sorted(p.name for p in (seq / "color").iterdir()) == ["00000001.jpg", "00000002.jpg", "00000003.jpg"]
    assert cv2.imread(str(seq / "color" / "00000002.jpg")).shape == (24, 32, 3)
    assert (seq / "groundtruth.txt").read_text().splitlines() == ["4.0000,5.0000,10.0000,8.0000"] * 3
    assert "channels.color=color/%08d.jpg" in (seq / "sequence").read_text().splitlines()
    ini = configparser.ConfigParser()
    ini.read(root / "trackers.ini")
    words = shlex.split(ini["seqtrack"]["command"])
    assert words[:3] == ["/usr/bin/python3", "-m", "seqtrack.integrations.vot"] and str(weights) in words
    assert "burnin: 10" in (root / "stack.yaml").read_text()


def test_stack_declares_both_experiments_and_refuses_a_zero_burn_in():
    text = stack_text(burn_in=3)
    assert "  unsupervised:\n    type: unsupervised" in text and "  supervised:\n    type: supervised" in text
    assert "burnin: 3" in text and "skip_initialize: 5" in text and "vot-toolkit 0.9.0" in text
    with pytest.raises(InputError, match="burn-in"):
        stack_text(burn_in=0)


def test_unknown_boxes_are_nan_rows():
    boxes = np.array([[1, 2, 3, 4], [np.nan, 0, 1, 1], [5, 5, 0, 3], [1.25, 2, 3, 4]], dtype=np.float64)
    assert ground_truth_text(boxes).splitlines() == [
        "1.0000,2.0000,3.0000,4.0000",
        "nan,nan,nan,nan",
        "nan,nan,nan,nan",
        "1.2500,2.0000,3.0000,4.0000",
    ]


def test_benchmark_frames_are_copied_and_short_ground_truth_padded(tmp_path):
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"f{i}.jpg")
        cv2.imwrite(str(paths[-1]), np.full((8, 8, 3), 10 * i, dtype=np.uint8))
    first_only = type("Seq", (), {"name": "s", "frames": paths, "boxes": np.array([[1.0, 1.0, 4.0, 4.0]])})()
    (seq,) = benchmark_sequences([first_only])
    assert seq.boxes.shape == (3, 4) and np.isnan(seq.boxes[1:]).all()
    root = write_workspace(tmp_path / "ws", "demo", [seq])
    assert (root / "sequences" / "s" / "color" / "00000003.jpg").read_bytes() == paths[2].read_bytes()


def test_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="at least one"):
        write_workspace(tmp_path, "demo", [])
    with pytest.raises(InputError, match="repeat: a"):
        write_workspace(tmp_path, "demo", [_sequence("a"), _sequence("a")])
    with pytest.raises(InputError, match="plain folder"):
        write_workspace(tmp_path, "demo", [_sequence("../x")])
    mismatched = VotSequence("m", _sequence("m").frames, np.zeros((2, 4)))
    with pytest.raises(InputError, match="3 frames but 2"):
        write_workspace(tmp_path, "demo", [mismatched])


def test_cli_writes_generated_sequences(tmp_path, capsys):
    pytest.importorskip("skimage")
    args = ["vot-workspace", str(tmp_path / "ws"), "--weights", "demo", "--sequences", "2", "--frames", "3"]
    assert main(args + ["--size", "48", "64", "--threads", "1", "--burn-in", "2"]) == 0
    assert "vot evaluate --workspace" in capsys.readouterr().out
    names = (tmp_path / "ws" / "sequences" / "list.txt").read_text().split()
    assert len(names) == 2
    frame = cv2.imread(str(tmp_path / "ws" / "sequences" / names[1] / "color" / "00000003.jpg"))
    assert frame.shape == (48, 64, 3)
    assert "--threads 1" in (tmp_path / "ws" / "trackers.ini").read_text()
    assert "burnin: 2" in Path(tmp_path / "ws" / "stack.yaml").read_text()
