"""`seqtrack track` end to end with the golden tiny model, and its error messages."""

import subprocess
import sys

import cv2
import numpy as np
import pytest

from seqtrack.cli import main
from seqtrack.io.boxes import read_box_file
from seqtrack.model.weights import save_safetensors
from support import golden_file


@pytest.fixture(scope="module")
def data():
    return dict(np.load(golden_file("tiny_tracker.npz")))


@pytest.fixture(scope="module")
def weights(tmp_path_factory, golden_model):
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    save_safetensors(golden_model, path)
    return path


def _box_arg(box):
    return ",".join(repr(float(v)) for v in box)


def _write_video(path, frames, fourcc="MJPG"):
    h, w = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25, (w, h))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def _count_frames(path):
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def test_folder_reproduces_golden_and_writes_video(tmp_path, data, weights, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(data["frames"]):  # 1.png .. 40.png: natural order matters
        cv2.imwrite(str(folder / f"{i + 1}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    out, video = tmp_path / "boxes.txt", tmp_path / "tracked.mp4"
    status = main(
        [
            "track",
            str(folder),
            "--weights",
            str(weights),
            "--box",
            _box_arg(data["init_box"]),
            "--out",
            str(out),
            "--video-out",
            str(video),
            "--update-interval",
            "2",
            "--update-threshold",
            str(float(data["update_threshold"])),
            "--quiet",
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "tracked 40 frames" in printed and "template updates" in printed
    track = read_box_file(out)
    np.testing.assert_array_equal(track.boxes[0], data["init_box"])
    np.testing.assert_allclose(track.boxes, data["boxes"], atol=0.01)
    np.testing.assert_allclose(track.scores[1:], data["scores"][1:], rtol=1e-4)
    assert _count_frames(video) == 40


def test_video_file_and_two_targets(tmp_path, data, weights):
    clip = tmp_path / "clip.avi"
    _write_video(clip, data["frames"][:20])
    out = tmp_path / "boxes.txt"
    status = main(
        [
            "track",
            str(clip),
            "-w",
            str(weights),
            "--box",
            _box_arg(data["init_box"]),
            "--box",
            "200,150,30,60",
            "--out",
            str(out),
            "--max-frames",
            "12",
            "--quiet",
        ]
    )
    assert status == 0
    for k in (0, 1):
        track = read_box_file(tmp_path / f"boxes_t{k}.txt")
        assert len(track.boxes) == 12 and np.isfinite(track.boxes).all()


def test_box_file(tmp_path, data, weights):
    clip = tmp_path / "clip.avi"
    _write_video(clip, data["frames"][:5])
    (tmp_path / "first_line.txt").write_text(_box_arg(data["init_box"]) + "\n1,2,3,4\n")
    assert (
        main(
            [
                "track",
                str(clip),
                "-w",
                str(weights),
                "--box-file",
                str(tmp_path / "first_line.txt"),
                "--out",
                str(tmp_path / "b.txt"),
                "-q",
            ]
        )
        == 0
    )
    assert len(read_box_file(tmp_path / "b.txt").boxes) == 5


def _run_error(capsys, argv):
    status = main(argv)
    err = capsys.readouterr().err.strip()
    return status, err


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "unsupported",
        "empty-folder",
        "zero-width",
        "nan",
        "outside",
        "no-box",
        "not-seqtrack",
        "size-smoothing",
        "window-power",
        "window-power-onnx",
    ],
)
def test_bad_input(tmp_path, data, weights, capsys, case):
    clip = tmp_path / "clip.avi"
    _write_video(clip, data["frames"][:3])
    (tmp_path / "empty").mkdir()
    (tmp_path / "movie.xyz").write_text("x")
    import torch

    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "resnet.pth")
    good = _box_arg(data["init_box"])
    argv = {
        "missing": [str(tmp_path / "nope.mp4"), "-w", str(weights), "--box", good],
        "unsupported": [str(tmp_path / "movie.xyz"), "-w", str(weights), "--box", good],
        "empty-folder": [str(tmp_path / "empty"), "-w", str(weights), "--box", good],
        "zero-width": [str(clip), "-w", str(weights), "--box", "10,10,0,5"],
        "nan": [str(clip), "-w", str(weights), "--box", "nan,10,5,5"],
        "outside": [str(clip), "-w", str(weights), "--box", "500,10,20,20"],
        "no-box": [str(clip), "-w", str(weights)],
        "not-seqtrack": [str(clip), "-w", str(tmp_path / "resnet.pth"), "--box", good],
        "size-smoothing": [str(clip), "-w", str(weights), "--box", good, "--size-smoothing", "0"],
        "window-power": [str(clip), "-w", str(weights), "--box", good, "--window-power", "-1"],
        "window-power-onnx": [
            str(clip),
            "-w",
            str(weights),
            "--box",
            good,
            "--window-power",
            "4",
            "--backend",
            "onnxruntime",
        ],
    }[case]
    expected = {
        "missing": "nope.mp4",
        "unsupported": ".xyz",
        "empty-folder": "empty",
        "zero-width": "positive width",
        "nan": "non-finite",
        "outside": "outside the first frame",
        "no-box": "--box",
        "not-seqtrack": "not a SeqTrack checkpoint",
        "size-smoothing": "--size-smoothing must be in (0, 1]",
        "window-power": "--window-power must be in (0, 16]",
        "window-power-onnx": "--window-power 4 needs --backend torch",
    }[case]
    status, err = _run_error(capsys, ["track", *argv, "--out", str(tmp_path / "o.txt"), "-q"])
    assert status == 2, err
    assert len(err.splitlines()) == 1 and expected in err, err


def test_truncated_video_keeps_earlier_boxes(tmp_path, data, weights, capsys):
    clip = tmp_path / "clip.avi"
    _write_video(clip, data["frames"][:30])
    raw = clip.read_bytes()
    clip.write_bytes(raw[: len(raw) // 2])
    out = tmp_path / "boxes.txt"
    status, err = _run_error(
        capsys, ["track", str(clip), "-w", str(weights), "--box", _box_arg(data["init_box"]), "--out", str(out), "-q"]
    )
    assert status == 2 and "frame" in err
    saved = read_box_file(out)
    k = len(saved.boxes)
    assert 0 < k < 30 and f"frame {k}" in err, err


def test_subprocess_help_and_error_have_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "seqtrack", "track", str(tmp_path / "none.mp4"), "-w", "x.pth", "--box", "1,2,3,4"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    helped = subprocess.run([sys.executable, "-m", "seqtrack", "--help"], capture_output=True, text=True)
    assert "track" in helped.stdout and "convert" in helped.stdout
