"""`seqtrack track` stopped by a signal (issue 18): SIGTERM (kill, systemd, job schedulers) is handled like
Ctrl-C: the files are closed (the MP4 gets its index), the run says what it kept, and the exit status is
143 (130 for Ctrl-C)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from seqtrack.cli import main
from seqtrack.io import video as video_module
from seqtrack.io.boxes import read_box_file
from seqtrack.model.weights import save_safetensors
from support import REPO, golden_file

BOX = "30.0,40.0,48.0,44.0"  # the golden sequence's init box, xywh pixels on 320x240 frames
KEPT = r"(\w+): (\d+) frames tracked so far are kept in (.+) and (.+) \((\d+) frames\)"


@pytest.fixture(scope="module")
def weights(tmp_path_factory, golden_model):
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    save_safetensors(golden_model, path)
    return path


def write_clip(path: Path, count: int) -> Path:
    """An MJPG clip of ``count`` frames: the golden frames, repeated."""
    frames = dict(np.load(golden_file("tiny_tracker.npz")))["frames"]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (320, 240))
    for i in range(count):
        writer.write(cv2.cvtColor(frames[i % len(frames)], cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def decoded_frames(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), f"{path} does not open (no MP4 index?)"
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def check_kept(err: str, label: str, out: Path, video: Path) -> None:
    """One line saying what was kept; the box file holds exactly those whole lines, the video those frames."""
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    match = re.fullmatch(KEPT, err)
    assert match and match.group(1) == label and match.group(3) == str(out), err
    assert match.group(4) == str(video), err
    lines, frames = int(match.group(2)), int(match.group(5))
    text = out.read_text()
    assert text.endswith("\n") and len(read_box_file(out)) == lines >= 1
    assert all(len(line.split(",")) == 5 for line in text.splitlines())
    assert frames == lines and decoded_frames(video) == frames  # a frame is in every output or in none


def test_sigterm_keeps_whole_boxes_and_a_playable_mp4(tmp_path, weights):
    clip = write_clip(tmp_path / "long.avi", 400)  # long enough that the run is still going when killed
    out, video = tmp_path / "boxes.txt", tmp_path / "tracked.mp4"
    before = [clip.read_bytes(), weights.read_bytes()]
    command = [sys.executable, "-m", "seqtrack", "track", str(clip), "-w", str(weights), "--box", BOX]
    command += ["--out", str(out), "--video-out", str(video), "--threads", "1", "-q"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "src")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not (out.exists() and out.read_text().count("\n") >= 3):  # the first boxes are written
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no boxes after 120 s"
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    check_kept(err.strip(), "terminated", out, video)
    assert [clip.read_bytes(), weights.read_bytes()] == before


@pytest.mark.parametrize(("sent", "status", "label"), [("SIGTERM", 143, "terminated"), ("SIGINT", 130, "interrupted")])
def test_signal_in_process_and_the_handler_is_restored(tmp_path, weights, capsys, monkeypatch, sent, status, label):
    clip = write_clip(tmp_path / "clip.avi", 20)
    out, video = tmp_path / "boxes.txt", tmp_path / "tracked.mp4"
    write = video_module.AnnotatedVideoWriter.write

    def write_then_signal(self, *args, **kwargs):
        write(self, *args, **kwargs)
        if self.frames_written == 4:
            os.kill(os.getpid(), getattr(signal, sent))  # held back until the frame is in every output

    monkeypatch.setattr(video_module.AnnotatedVideoWriter, "write", write_then_signal)
    previous = signal.getsignal(signal.SIGTERM)
    code = main(
        ["track", str(clip), "-w", str(weights), "--box", BOX, "--out", str(out), "--video-out", str(video), "-q"]
    )
    assert code == status and signal.getsignal(signal.SIGTERM) is previous
    check_kept(capsys.readouterr().err.strip(), label, out, video)


def test_sigterm_before_tracking_starts(tmp_path, weights, capsys, monkeypatch):
    from seqtrack.cli import track

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(track, "_build_tracker", terminated)  # while the model loads
    clip = write_clip(tmp_path / "clip.avi", 3)
    code = main(["track", str(clip), "-w", str(weights), "--box", BOX, "--out", str(tmp_path / "b.txt"), "-q"])
    assert code == 143 and capsys.readouterr().err.strip() == "seqtrack: terminated"
    assert not (tmp_path / "b.txt").exists()
