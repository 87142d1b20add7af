"""`seqtrack track` never destroys its inputs, fails early on outputs it cannot write, keeps whole what it
wrote when a write fails or a signal stops it, and refuses absurd boxes (issue 18).

Each case asserts one ``seqtrack: error:`` line (exit 2) or the signal's status, no traceback, inputs
byte-identical afterwards, and earlier output whole.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from seqtrack.cli import main
from seqtrack.io import files
from seqtrack.io.boxes import read_box_file
from seqtrack.io.video import _import_av
from seqtrack.model.weights import save_safetensors
from support import golden_file

BOX = "30.0,40.0,48.0,44.0"  # the golden sequence's init box, xywh pixels on 320x240 frames


@pytest.fixture(scope="module")
def frames():
    return dict(np.load(golden_file("tiny_tracker.npz")))["frames"]


@pytest.fixture(scope="module")
def weights(tmp_path_factory, golden_model):
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    save_safetensors(golden_model, path)
    return path


def write_clip(path: Path, frames: np.ndarray, count: int | None = None) -> Path:
    """An MJPG clip of ``count`` frames (the golden frames, repeated as needed)."""
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (width, height))
    for i in range(count or len(frames)):
        writer.write(cv2.cvtColor(frames[i % len(frames)], cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture
def clip(tmp_path, frames):
    return write_clip(tmp_path / "clip.avi", frames[:12])


def run(capsys, *argv) -> tuple[int, str]:
    """``seqtrack track ARGV -q`` in this process: (status, stderr)."""
    status = main(["track", *map(str, argv), "-q"])
    return status, capsys.readouterr().err.strip()


def one_error(status: int, err: str, expected: str) -> None:
    assert status == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("seqtrack: error: ") and expected in err, err


def stray_files(folder: Path, expected: set[str]) -> set[str]:
    """Files in ``folder`` beyond ``expected`` (temporary files left behind, outputs made anyway)."""
    return {p.name for p in folder.iterdir()} - expected


def digest(*paths: Path) -> list[bytes]:
    return [p.read_bytes() for p in paths]


# ------------------------------------------------------------------------------------------------
# Outputs that would destroy inputs
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--out", "{clip}"], "--out {clip} is the source video: it would be overwritten"),
        (["--video-out", "{clip}"], "--video-out {clip} is the source video: it would be overwritten"),
        (["--out", "{weights}"], "--out {weights} is the weights file: it would be overwritten"),
        (["--out", "{dir}/x.mp4", "--video-out", "{dir}/x.mp4"], "--out and --video-out name the same file"),
        (["--out", "{dir}/link.avi"], "is the source video"),  # a link to the source
        (["--out", "{dir}/sub/../clip.avi"], "is the source video"),
        (["--box", "1,1,20,20", "--out", "{dir}/b.txt", "--box-file", "{dir}/b_t1.txt"], "--out (target 1)"),
        (["--box", "1,1,20,20", "--out", "{dir}/v.mp4", "--video-out", "{dir}/v_t0.mp4"], "name the same file"),
    ],
)
def test_outputs_that_are_inputs_are_refused(tmp_path, clip, weights, capsys, flags, expected):
    work = tmp_path / "work"
    work.mkdir()
    local_weights = work / "tiny.safetensors"
    local_weights.write_bytes(weights.read_bytes())
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.avi").symlink_to(clip)
    (tmp_path / "b_t1.txt").write_text("5,5,10,10\n")
    names = {"clip": clip, "weights": local_weights, "dir": tmp_path}
    argv = [flag.format(**names) for flag in flags]
    before = digest(clip, local_weights, tmp_path / "b_t1.txt")
    status, err = run(capsys, clip, "-w", local_weights, "--box", BOX, *argv)
    one_error(status, err, expected.format(**names))
    assert digest(clip, local_weights, tmp_path / "b_t1.txt") == before
    assert stray_files(tmp_path, {"clip.avi", "work", "sub", "link.avi", "b_t1.txt"}) == set()


def test_image_folder_and_glob_sources_protect_each_frame(tmp_path, frames, weights, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), cv2.cvtColor(frames[i], cv2.COLOR_RGB2BGR))
    before = digest(*sorted(folder.iterdir()))
    status, err = run(capsys, folder, "-w", weights, "--box", BOX, "--out", folder / "2.png")
    one_error(status, err, "is frame 2.png of the source: it would be overwritten")
    status, err = run(capsys, f"{folder}/*.png", "-w", weights, "--box", BOX, "--video-out", folder / "1.png")
    one_error(status, err, "--video-out: unsupported video file type '.png'")
    status, err = run(capsys, f"{folder}/*.png", "-w", weights, "--box", BOX, "--out", folder / "0.png")
    one_error(status, err, "0.png is frame")
    assert digest(*sorted(folder.iterdir())) == before
    # Only equal paths are refused: a box file beside the frames is fine.
    assert run(capsys, folder, "-w", weights, "--box", BOX, "--out", folder / "boxes.txt")[0] == 0
    assert len(read_box_file(folder / "boxes.txt")) == 3


# ------------------------------------------------------------------------------------------------
# Destinations that cannot be written
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "target", "expected"),
    [
        ("--out", "adir", "--out {dir}/adir is a folder; expected a file"),
        ("--video-out", "adir.mp4", "--video-out {dir}/adir.mp4 is a folder; expected a file"),
        ("--out", "afile/boxes.txt", "afile is a file, not a folder"),
        ("--out", "b" * 256 + ".txt", "a name in the path is longer than 255 bytes"),
        ("--video-out", "x" * 300 + ".mp4", "a name in the path is longer than 255 bytes"),
        ("--video-out", "tracked.webm", "--video-out: unsupported video file type '.webm'"),
    ],
)
def test_unwritable_destinations_fail_before_the_model_loads(tmp_path, clip, capsys, flag, target, expected):
    (tmp_path / "adir").mkdir()
    (tmp_path / "adir.mp4").mkdir()
    (tmp_path / "afile").write_text("x")
    not_a_model = tmp_path / "resnet.pth"  # loading it would fail: the check must come first
    not_a_model.write_bytes(b"not a checkpoint")
    argv = ["--out", tmp_path / "boxes.txt", flag, tmp_path / target] if flag != "--out" else [flag, tmp_path / target]
    before = digest(clip, not_a_model)
    status, err = run(capsys, clip, "-w", not_a_model, "--box", BOX, *argv)
    one_error(status, err, expected.format(dir=tmp_path))
    assert digest(clip, not_a_model) == before
    assert stray_files(tmp_path, {"clip.avi", "adir", "adir.mp4", "afile", "resnet.pth"}) == set()


def test_read_only_folder_is_refused_up_front(tmp_path, clip, weights, capsys, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access  # root ignores permission bits: say what a read-only mount would
    monkeypatch.setattr(files.os, "access", lambda p, m, *a, **k: Path(p) != locked and real(p, m, *a, **k))
    status, err = run(capsys, clip, "-w", weights, "--box", BOX, "--out", locked / "new" / "boxes.txt")
    one_error(status, err, f"--out {locked}/new/boxes.txt: cannot write in {locked} (permission denied or read-only)")
    assert list(locked.iterdir()) == []


def test_missing_parent_folders_are_created(tmp_path, clip, weights, capsys):
    out, video = tmp_path / "a" / "b" / "boxes.txt", tmp_path / "c" / "tracked.avi"
    assert run(capsys, clip, "-w", weights, "--box", BOX, "--out", out, "--video-out", video)[0] == 0
    assert len(read_box_file(out)) == 12 and video.is_file()


def test_full_disk_while_writing_boxes_keeps_whole_lines(tmp_path, clip, weights, capsys, monkeypatch):
    space = {"left": 300}  # room for a few lines, then ENOSPC in the middle of one

    class Filling:
        def __init__(self, raw):
            self._raw = raw

        def write(self, data):
            if space["left"] <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            count = self._raw.write(bytes(data[: space["left"]]))
            space["left"] -= count
            return count

        def __getattr__(self, name):
            return getattr(self._raw, name)

    monkeypatch.setattr(files, "open", lambda *a, **k: Filling(open(*a, **k)), raising=False)
    out = tmp_path / "boxes.txt"
    before = digest(clip, weights)
    status, err = run(capsys, clip, "-w", weights, "--box", BOX, "--out", out)
    text = out.read_text()
    kept = len(read_box_file(out))
    one_error(status, err, f"boxes.txt: No space left on device; {kept} frames tracked before it are saved in {out}")
    assert 0 < kept < 12 and text.endswith("\n") and all(len(line.split(",")) == 5 for line in text.splitlines())
    assert digest(clip, weights) == before and stray_files(tmp_path, {"clip.avi", "boxes.txt"}) == set()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("target", ["boxes", "video.mp4", "video.avi"])
def test_full_disk_device(tmp_path, clip, weights, capsys, target):
    full = tmp_path / ("full.txt" if target == "boxes" else f"full.{target.split('.')[1]}")
    full.symlink_to("/dev/full")
    out = full if target == "boxes" else tmp_path / "boxes.txt"
    argv = ["--out", out] + ([] if target == "boxes" else ["--video-out", full])
    before = digest(clip, weights)
    status, err = run(capsys, clip, "-w", weights, "--box", BOX, *argv)
    assert digest(clip, weights) == before and Path("/dev/full").is_char_device()
    expected = {
        "boxes": f"could not write box file {full}: No space left on device",
        # Without PyAV, OpenCV's MP4 writer does not open a device at all.
        "video.mp4": "No space left on device (the video is incomplete); " if _import_av() else "could not write video",
        "video.avi": "of the 12 frames written (is the disk full?); 12 frames tracked are saved in",
    }[target]
    one_error(status, err, expected)
    if target != "boxes":  # the boxes tracked up to the failure are whole
        kept = int(re.search(r"; (\d+) frames tracked", err).group(1))
        assert len(read_box_file(out)) == kept and out.read_text().endswith("\n")


# ------------------------------------------------------------------------------------------------
# Boxes
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ("1,1,1e-300,1e-300", "box 1,1,1e-300,1e-300 is too small: width and height must be at least 0.001 px"),
        ("1,1,1e200,1e200", "is too large for the first frame (320x240): width and height must be at most 100x"),
        ("0,0,1e6,1e6", "box 0,0,1e+06,1e+06 is too large for the first frame"),
    ],
)
def test_absurd_boxes_are_refused(tmp_path, clip, weights, capsys, box, expected):
    status, err = run(capsys, clip, "-w", weights, "--box", box, "--out", tmp_path / "boxes.txt")
    one_error(status, err, expected)
    assert not (tmp_path / "boxes.txt").exists()


def test_a_box_much_larger_than_the_frame_tracks_in_bounded_memory(tmp_path, clip, weights, capsys):
    # 62x the frame's width: the search square would be 80000 px a side (19 GB padded); the crop stays small.
    out = tmp_path / "boxes.txt"
    argv = ["--box=-5000,-5000,20000,20000", "--out", out, "--max-frames", "3"]
    assert run(capsys, clip, "-w", weights, *argv)[0] == 0
    assert len(read_box_file(out)) == 3


@pytest.mark.parametrize("flag", ["--box", "-b"])
def test_negative_box_needs_no_equals_sign(tmp_path, clip, weights, capsys, flag):
    out = tmp_path / "boxes.txt"
    assert run(capsys, clip, "-w", weights, flag, "-10,-10,40,40", "--out", out, "--max-frames", "2")[0] == 0
    np.testing.assert_array_equal(read_box_file(out).boxes[0], [-10, -10, 40, 40])


def test_corner_box_gets_a_warning_and_still_tracks(tmp_path, clip, weights, capsys):
    out = tmp_path / "boxes.txt"
    status, err = run(capsys, clip, "-w", weights, "--box", "100,50,300,200", "--out", out, "--max-frames", "2")
    assert status == 0 and len(read_box_file(out)) == 2
    assert err.startswith("warning: box 100,50,300,200 runs past the edge of the 320x240 frame") and (
        "if 300,200 is the bottom-right corner, the box is 100,50,200,150" in err
    )
    status, err = run(capsys, clip, "-w", weights, "--box", BOX, "--out", out, "--max-frames", "2")
    assert status == 0 and "warning" not in err


def test_demo_out_dir_that_is_a_file(tmp_path, capsys):
    (tmp_path / "demo").write_text("x")
    status = main(["demo", "--out-dir", str(tmp_path / "demo"), "-q"])
    one_error(status, capsys.readouterr().err.strip(), f"--out-dir {tmp_path / 'demo'} is a file; expected a folder")
