"""Videos that end short of their count, frames that fail to decode, quiet FFmpeg, and stream URLs."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from seqtrack.errors import InputError
from seqtrack.io.sources import FrameSource, open_source
from seqtrack.io.video_source import redact_url, tolerated_shortfall
from support import announce_frames


def read_until_error(spec, **kwargs) -> tuple[list[tuple[int, np.ndarray]], FrameSource | None, InputError | None]:
    """Iterate like a tracker: keep every yielded pair, stop at the error; the source is returned so
    that ``short_by`` / ``note`` can be checked after a normal end."""
    frames: list[tuple[int, np.ndarray]] = []
    try:
        with open_source(spec, **kwargs) as source:
            frames.extend(source)
    except InputError as error:
        return frames, None, error
    return frames, source, None


# ------------------------------------------------------------------------------------------------
# The announced count is a hint: a small shortfall at the very end is a normal end
# ------------------------------------------------------------------------------------------------


def test_avi_announcing_one_frame_more_yields_every_frame_and_ends_normally(tmp_path, make_video, clip):
    path = make_video(tmp_path / "camera.avi", num_frames=20)
    announce_frames(path, 21)
    frames, source, error = read_until_error(path)
    assert error is None
    assert [i for i, _ in frames] == list(range(20))
    for index, frame in frames[1:]:
        assert abs(clip.left_edge(frame) - 2 * index) <= 1
    assert (source.total_frames, source.num_frames, source.short_by) == (21, 21, 1)
    assert source.note == (
        f"video '{path}' ended 1 frame(s) short of the 21 its container announces: 20 decode "
        "(common in camera recordings; a file cut short looks the same)"
    )


def test_a_complete_video_has_no_note(tmp_path, make_video):
    frames, source, error = read_until_error(make_video(tmp_path / "clip.avi", num_frames=5))
    assert error is None and len(frames) == 5 and (source.short_by, source.note) == (0, None)


def test_h264_mp4_whose_last_frame_does_not_decode_ends_normally(tmp_path, make_h264, damage_packet, clip):
    # The camera case: the container lists 20 frames, the data of the last one is broken.
    path = make_h264(tmp_path / "camera.mp4", num_frames=20, b_frames=0)
    assert damage_packet(path, 19) == 19
    frames, source, error = read_until_error(path)
    assert error is None, error
    assert [i for i, _ in frames] == list(range(19))
    assert [round(clip.left_edge(f) / 2) for _, f in frames[1:]] == list(range(1, 19))
    assert (source.total_frames, source.short_by) == (20, 1)
    assert "short of the 20 its container announces: 19 decode" in source.note


def test_with_b_frames_the_lost_frame_is_found_by_its_timestamp(tmp_path, make_h264, damage_packet, clip):
    # With B-frames the last packet in the file need not be the last frame shown, and OpenCV's read
    # fails while frames held back for reordering are still to come. Whichever frame the broken
    # packet held: the frames before it come out with the right numbers, and the source ends normally
    # if it was the last one shown, or names it if a later frame decodes.
    path = make_h264(tmp_path / "clip.mp4", num_frames=20, b_frames=2)
    lost = damage_packet(path, 19)
    frames, source, error = read_until_error(path)
    assert [i for i, _ in frames] == list(range(lost))
    assert [round(clip.left_edge(f) / 2) for _, f in frames[1:]] == list(range(1, lost))
    if lost == 19:
        assert error is None and source.short_by == 1
    else:
        assert error is not None and f"unreadable at frame {lost}: the frame cannot be decoded" in str(error)


@pytest.mark.parametrize(("announced", "ends_normally"), [(23, True), (24, False)])
def test_a_larger_shortfall_is_an_error(tmp_path, make_video, announced, ends_normally):
    # 20 frames decode: up to SHORT_END_FRAMES = 3 missing is a normal end, 4 is a truncated file.
    path = make_video(tmp_path / "clip.avi", num_frames=20)
    announce_frames(path, announced)
    frames, source, error = read_until_error(path)
    assert len(frames) == 20
    if ends_normally:
        assert error is None and source.short_by == 3
    else:
        assert str(error) == (
            f"video '{path}' is unreadable at frame 20: the container announces {announced} frames but "
            "decoding stopped after 20 (truncated or corrupt file)"
        )


def test_tolerated_shortfall_is_3_frames_or_1_percent():
    assert [tolerated_shortfall(n, exact=True) for n in (20, 456, 1000, 9000)] == [3, 4, 10, 90]
    assert tolerated_shortfall(1000, exact=False) == 20  # an estimated count is looser


# ------------------------------------------------------------------------------------------------
# A frame that fails to decode while later frames decode stays an error, at its index
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [5, 18], ids=["middle", "near-the-end"])
def test_frame_that_does_not_decode_before_later_ones_is_named(tmp_path, make_h264, damage_packet, bad):
    # Near the end the shortfall is within the tolerance, but a later frame decodes: a decoder error,
    # and every later frame would be numbered one too low.
    path = make_h264(tmp_path / "clip.mp4", num_frames=20, b_frames=0)
    damage_packet(path, bad)
    frames, _, error = read_until_error(path)
    assert [i for i, _ in frames] == list(range(bad))
    assert str(error) == (
        f"video '{path}' is unreadable at frame {bad}: the frame cannot be decoded but later ones can "
        "(damaged data; every later frame would be numbered wrong)"
    )


def test_damaged_mjpeg_frame_in_an_avi_is_named(tmp_path, make_video, damage_packet):
    path = make_video(tmp_path / "clip.avi", num_frames=12)
    damage_packet(path, 4)
    frames, _, error = read_until_error(path)
    assert len(frames) == 4 and error is not None and "unreadable at frame 4" in str(error)


# ------------------------------------------------------------------------------------------------
# FFmpeg's and OpenCV's log lines stay off the terminal: stderr holds our line only
# ------------------------------------------------------------------------------------------------

# Run in a fresh interpreter: OpenCV reads FFmpeg's log level once per process, when its FFmpeg
# backend first starts, and pytest's capsys does not see what C code writes to file descriptor 2.
_OPEN_LIKE_THE_CLI = """
import sys
from seqtrack.errors import InputError
from seqtrack.io.sources import open_source
try:
    with open_source(sys.argv[1]) as source:
        for _ in source:
            pass
except InputError as error:
    print(error, file=sys.stderr)
    sys.exit(2)
"""
_PLAIN_OPENCV = """
import sys, cv2
capture = cv2.VideoCapture(sys.argv[1], cv2.CAP_FFMPEG)
while capture.isOpened() and capture.read()[0]:
    pass
"""


def _stderr_of(script: str, path: Path) -> tuple[int, str]:
    # Not the variables this process inherited or set itself (importing the source module sets one).
    env = {k: v for k, v in os.environ.items() if k not in ("OPENCV_FFMPEG_LOGLEVEL", "OPENCV_LOG_LEVEL")}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(path)], capture_output=True, text=True, timeout=60, env=env
    )
    return result.returncode, result.stderr


@pytest.mark.parametrize("damage", ["frame", "not-a-video"])
def test_stderr_holds_only_our_line_for_a_damaged_file(tmp_path, make_h264, damage_packet, damage):
    path = tmp_path / "damaged.mp4"
    if damage == "frame":
        make_h264(path, num_frames=20, b_frames=0)
        damage_packet(path, 8)
        expected = "is unreadable at frame 8"
    else:
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(500))  # an MP4 start, then nothing
        expected = "cannot be opened"
    # Without the source's care, FFmpeg and OpenCV do write to stderr for this file: else this test
    # would prove nothing.
    assert _stderr_of(_PLAIN_OPENCV, path)[1].strip(), "plain OpenCV printed nothing for the damaged file"
    status, err = _stderr_of(_OPEN_LIKE_THE_CLI, path)
    assert status == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"video '{path}' ") and expected in err, err


# ------------------------------------------------------------------------------------------------
# Stream URLs: opened by FFmpeg, not mangled into paths or globs
# ------------------------------------------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the test output clean


@pytest.fixture
def http_folder(tmp_path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server on 127.0.0.1 serving ``tmp_path / "www"``: ``(base URL, folder)``."""
    folder = tmp_path / "www"
    folder.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    # A short poll interval: shutdown() waits for the next poll (0.5 s by default) in every test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_http_stream_yields_every_frame_without_a_count(http_folder, make_video, clip):
    base, folder = http_folder
    make_video(folder / "clip.mp4", num_frames=20)
    url = f"{base}/clip.mp4?session=1"  # a query's '?' is not a glob wildcard
    source = open_source(url)
    assert (source.kind, source.name, source.fps) == ("stream", f"stream '{url}'", 30.0)
    assert (source.total_frames, source.num_frames, source.frame_size) == (None, None, clip.size)
    with source:
        frames = list(source)
    assert [i for i, _ in frames] == list(range(20))
    assert [round(clip.left_edge(f) / 2) for _, f in frames[1:]] == list(range(1, 20))
    assert source.short_by == 0 and source.note is None


def test_http_stream_start_frame_and_max_frames(http_folder, make_video, clip):
    base, folder = http_folder
    make_video(folder / "clip.avi", num_frames=12)
    url = "HTTP" + base.removeprefix("http") + "/clip.avi"  # schemes are case-insensitive
    frames, _, error = read_until_error(url, start_frame=3, max_frames=4)
    assert error is None
    assert [i for i, _ in frames] == [3, 4, 5, 6]
    assert [round(clip.left_edge(f) / 2) for _, f in frames] == [3, 4, 5, 6]


def test_stream_that_cannot_be_opened_names_the_url(http_folder):
    base, _ = http_folder
    with socket.socket() as bound:
        # Bound but not listening: a connection is refused at once, and no other test can take the port.
        bound.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{bound.getsockname()[1]}/clip.mp4"
        for url in (refused, f"{base}/missing.mp4"):
            with pytest.raises(InputError) as caught:
                open_source(url)
            assert str(caught.value).startswith(f"stream '{url}' cannot be opened (unreachable, refused")


def test_stream_password_is_not_printed():
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        url = f"rtsp://admin:hunter2@127.0.0.1:{bound.getsockname()[1]}/live"
        with pytest.raises(InputError, match=r"^stream 'rtsp://admin:\*\*\*@127\.0\.0\.1:\d+/live' cannot be opened"):
            open_source(url)
    assert redact_url("rtsp://admin:hunter2@10.0.0.5:554/live?ch=1") == "rtsp://admin:***@10.0.0.5:554/live?ch=1"
    assert redact_url("http://example.org/a.mp4") == "http://example.org/a.mp4"
    assert redact_url("rtsp://admin@cam/live") == "rtsp://admin@cam/live"
