"""Media fixtures for the io tests: small videos and image folders made on the fly."""

from __future__ import annotations

from collections.abc import Callable
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
