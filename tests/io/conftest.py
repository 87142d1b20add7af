"""Media fixtures for the io tests: small videos and image folders made on the fly."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

HEIGHT, WIDTH = 64, 80
SQUARE = 12


def synthetic_frame_rgb(index: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """Frame ``index`` of the test clip, ``(H, W, 3)`` uint8 RGB.

    Frame 0 is pure red (to check the channel order); frame ``i >= 1`` is black with a white
    ``SQUARE`` px square whose left edge is at ``x = 2 * i`` (to check which frame came out).
    """
    frame = np.zeros((height, width, 3), np.uint8)
    if index == 0:
        frame[:] = (255, 0, 0)
    else:
        x = 2 * index
        frame[20 : 20 + SQUARE, x : x + SQUARE] = 255
    return frame


def square_left_edge(frame_rgb: np.ndarray) -> float:
    """Left edge of the white square in a decoded frame (robust to compression noise)."""
    columns = np.nonzero((frame_rgb.mean(axis=2) > 128).any(axis=0))[0]
    assert columns.size, "no square in frame"
    return float(columns.min())


@pytest.fixture
def make_video() -> Callable[..., Path]:
    """``make_video(path, num_frames=20, fourcc=None)`` writes the synthetic clip with OpenCV at 30 fps."""

    def make(path: Path, num_frames: int = 20, fourcc: str | None = None) -> Path:
        code = fourcc or ("MJPG" if path.suffix == ".avi" else "mp4v")
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*code), 30.0, (WIDTH, HEIGHT))
        assert writer.isOpened(), f"OpenCV cannot write {code} to {path}"
        for i in range(num_frames):
            writer.write(cv2.cvtColor(synthetic_frame_rgb(i), cv2.COLOR_RGB2BGR))
        writer.release()
        return path

    return make


@pytest.fixture
def make_h264() -> Callable[..., Path]:
    """``make_h264(path, num_frames=20, b_frames=None, faststart=False)`` writes the synthetic clip as
    H.264 in MP4 with PyAV (libx264, 30 fps); ``b_frames=0`` keeps decode order = display order.
    Skips the test where PyAV (the ``video`` extra) is missing."""
    av = pytest.importorskip("av")

    def make(path: Path, num_frames: int = 20, b_frames: int | None = None, faststart: bool = False) -> Path:
        options = {"movflags": "faststart"} if faststart else {}
        with av.open(str(path), "w", options=options) as container:
            stream = container.add_stream("libx264", rate=Fraction(30))
            stream.height, stream.width = HEIGHT, WIDTH
            stream.pix_fmt = "yuv420p"
            if b_frames is not None:
                stream.options = {"bf": str(b_frames)}
            for i in range(num_frames):
                for packet in stream.encode(av.VideoFrame.from_ndarray(synthetic_frame_rgb(i), format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        return path

    return make


def video_packets(path: Path) -> list[tuple[int, int, int]]:
    """``(byte offset, size, frame shown)`` of each video packet of a file, in decode order (PyAV's
    demuxer); with B-frames the frame a packet shows is not its place in the file."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [(p.pos, p.size, p.pts) for p in container.demux(stream) if p.size]
        first = min(pts for _, _, pts in packets)
        shown = [round(float((pts - first) * stream.time_base * stream.average_rate)) for _, _, pts in packets]
    return [(pos, size, index) for (pos, size, _), index in zip(packets, shown, strict=True)]


@pytest.fixture
def damage_packet() -> Callable[[Path, int], int]:
    """``damage_packet(path, k)`` overwrites the data of video packet ``k`` (decode order) so that its
    frame does not decode, leaving the container (sizes, counts, timestamps) intact; returns the index
    of the frame that packet shows (with B-frames, not ``k``). Finding packets takes PyAV."""
    pytest.importorskip("av")

    def damage(path: Path, k: int) -> int:
        offset, size, shown = video_packets(path)[k]
        data = bytearray(path.read_bytes())
        # Keep the first 4 bytes (H.264's NAL length; an MJPEG frame's start marker): the rest is junk.
        data[offset + 4 : offset + size] = b"\xff" * (size - 4)
        path.write_bytes(bytes(data))
        return shown

    return damage


@pytest.fixture
def make_images() -> Callable[..., list[Path]]:
    """``make_images(folder, names, ext=".png")`` writes one synthetic frame per name (frame i for the
    i-th name) and returns the paths."""

    def make(folder: Path, names: list[str]) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, name in enumerate(names):
            path = folder / name
            assert cv2.imwrite(str(path), cv2.cvtColor(synthetic_frame_rgb(i), cv2.COLOR_RGB2BGR))
            paths.append(path)
        return paths

    return make


@pytest.fixture
def clip():
    """The synthetic clip's helpers: ``clip.frame(i)``, ``clip.left_edge(frame)``, ``clip.size``."""

    class Clip:
        frame = staticmethod(synthetic_frame_rgb)
        left_edge = staticmethod(square_left_edge)
        size = (HEIGHT, WIDTH)

    return Clip
