"""Annotated videos (PyAV and OpenCV paths, odd sizes, errors) and drawing boxes on a frame."""

from __future__ import annotations

import math
import os

import cv2
import numpy as np
import pytest

from seqtrack.errors import InputError
from seqtrack.io import video
from seqtrack.io.annotate import PALETTE, annotate_frame
from seqtrack.io.files import OutputError
from seqtrack.io.sources import open_source
from seqtrack.io.video import AnnotatedVideoWriter, check_video_path

HAS_AV = video._import_av() is not None  # PyAV is optional: both paths are tested


# ------------------------------------------------------------------------------------------------
# Annotated video
# ------------------------------------------------------------------------------------------------


def count_frames(path) -> tuple[int, int]:
    """(announced, decoded) frame counts of a video, as OpenCV sees them."""
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), path
    announced = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    decoded = 0
    while capture.read()[0]:
        decoded += 1
    capture.release()
    return announced, decoded


@pytest.mark.parametrize(
    ("name", "backend", "codecs"),
    [
        ("tracked.mp4", "auto", {"libx264"} if HAS_AV else {"avc1", "mp4v"}),
        ("tracked.mp4", "opencv", {"avc1", "mp4v"}),
        ("tracked.avi", "auto", {"MJPG"}),
    ],
)
def test_annotated_video_reopens_with_right_frame_count(tmp_path, clip, name, backend, codecs):
    path = tmp_path / "videos" / name
    with AnnotatedVideoWriter(path, fps=25.0, frame_size=clip.size, backend=backend) as writer:
        assert writer.codec in codecs
        for i in range(12):
            box = [2.0 * i, 20.0, 12.0, 12.0]
            writer.write(clip.frame(i), box, [None if i == 0 else 0.5], frame_index=100 + i)
        assert writer.frames_written == 12
    assert count_frames(path) == (12, 12)
    with open_source(path) as source:
        assert source.fps == pytest.approx(25.0)
        assert source.frame_size == clip.size
        _, first = next(source)
    assert first[40:, 40:].reshape(-1, 3).mean(axis=0)[0] > 200  # still red (RGB order kept)


def test_annotated_video_with_odd_size_keeps_every_pixel(tmp_path):
    path = tmp_path / "odd.avi"
    with AnnotatedVideoWriter(path, 30, (33, 47)) as writer:
        for _ in range(3):
            writer.write(np.full((33, 47, 3), 90, np.uint8))
    with open_source(path) as source:
        assert source.frame_size == (34, 48) and source.num_frames == 3


def test_annotate_frame_draws_boxes_in_target_colours(clip):
    frame = np.zeros((120, 160, 3), np.uint8)
    out = annotate_frame(frame, [[20, 30, 40, 50], [100, 60, 30, 30]], [0.9, None], frame_index=7)
    assert not frame.any()  # input untouched
    left_edge_0 = out[50:70, 20].astype(int)  # middle of target 0's left edge
    assert (left_edge_0[:, 1] > 150).all() and (left_edge_0[:, 0] < 60).all()  # green, PALETTE[0]
    left_edge_1 = out[80:85, 100].astype(int)
    assert (np.abs(left_edge_1 - np.array(PALETTE[1])) < 80).all()
    assert out[:12, :30].any()  # frame number plate in the corner
    assert not out[35:75, 25:55].any()  # inside of the box left clear
    # A single box may be given flat; non-finite boxes are skipped.
    np.testing.assert_array_equal(annotate_frame(frame, [math.nan, 0, 1, 1]), frame)
    assert annotate_frame(frame, np.array([20.0, 30, 40, 50]), 0.5)[50:70, 20, 1].min() > 150


def test_annotated_video_writer_errors(tmp_path, monkeypatch, clip):
    with pytest.raises(InputError, match=r"unsupported video file type '\.gif'"):
        AnnotatedVideoWriter(tmp_path / "a.gif", 30, clip.size)
    with pytest.raises(InputError, match="fps must be > 0"):
        AnnotatedVideoWriter(tmp_path / "a.mp4", 0, clip.size)
    wrong_size = r"frame 0 is \(64, 79, 3\) uint8, expected \(64, 80, 3\)"
    with AnnotatedVideoWriter(tmp_path / "a.avi", 30, clip.size) as writer, pytest.raises(InputError, match=wrong_size):
        writer.write(np.zeros((64, 79, 3), np.uint8))
    monkeypatch.setattr(video, "_import_av", lambda: None)  # as on a machine without PyAV
    with pytest.raises(InputError, match="PyAV is not installed"):
        AnnotatedVideoWriter(tmp_path / "b.mp4", 30, clip.size, backend="pyav")
    with AnnotatedVideoWriter(tmp_path / "c.mp4", 30, clip.size) as writer:
        assert writer.backend == "opencv" and writer.codec in {"avc1", "mp4v"}
        writer.write(clip.frame(1))
    assert count_frames(tmp_path / "c.mp4") == (1, 1)


# ------------------------------------------------------------------------------------------------
# Unwritable destinations and interrupted runs (issue 18)
# ------------------------------------------------------------------------------------------------


def test_check_video_path_names_the_flag():
    assert check_video_path("out/Tracked.MKV").name == "Tracked.MKV"
    with pytest.raises(InputError, match=r"^--video-out: unsupported video file type '\.webm'"):
        check_video_path("t.webm", "--video-out")


def _dev_full_link(tmp_path, name):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    link = tmp_path / name
    link.symlink_to("/dev/full")
    return link


@pytest.mark.skipif(not HAS_AV, reason="PyAV not installed")
def test_pyav_full_disk_is_one_error_and_the_file_is_released(tmp_path, clip):
    writer = AnnotatedVideoWriter(_dev_full_link(tmp_path, "full.mp4"), 25.0, clip.size, backend="pyav")
    with pytest.raises(OutputError, match=r"could not write video .*full\.mp4 after \d+ frames: No space left"):
        with writer:
            for i in range(200):  # the encoder buffers a few frames; the muxer fails once it writes
                writer.write(np.random.default_rng(i).integers(0, 256, (*clip.size, 3), np.uint8))
    assert writer.failed
    writer.close()  # idempotent, quiet


def test_opencv_writer_failures_are_found_when_closing(tmp_path, clip, capfd):
    writer = AnnotatedVideoWriter(_dev_full_link(tmp_path, "full.avi"), 25.0, clip.size)
    for i in range(5):
        writer.write(clip.frame(i))
    with pytest.raises(OutputError, match=r"full\.avi: it holds 0 of the 5 frames written \(is the disk full\?\)"):
        writer.close()
    assert writer.failed and "Failed to write frame" not in capfd.readouterr().err


@pytest.mark.parametrize(("name", "backend"), [("t.mp4", "auto"), ("t.mp4", "opencv"), ("t.avi", "auto")])
def test_interrupted_writer_leaves_a_playable_file(tmp_path, clip, name, backend):
    path = tmp_path / name
    with pytest.raises(KeyboardInterrupt):
        with AnnotatedVideoWriter(path, 25.0, clip.size, backend=backend) as writer:
            for i in range(7):
                writer.write(clip.frame(i))
            raise KeyboardInterrupt  # Ctrl-C (or SIGTERM through seqtrack.cli) between frames
    assert count_frames(path) == (7, 7)
