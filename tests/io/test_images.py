"""The one image reader: RGB order, channel normalisation, non-ASCII paths, errors naming the path."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from seqtrack.errors import DatasetError
from seqtrack.io.images import ImageReadError, read_rgb


def write_image(path: Path, image_bgr: np.ndarray) -> Path:
    """Encode with OpenCV and write the bytes from Python, so non-ASCII paths work on every platform
    (``cv2.imwrite`` cannot open them on Windows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, encoded = cv2.imencode(path.suffix, image_bgr)
    assert ok
    path.write_bytes(encoded.tobytes())
    return path


def test_reads_rgb_from_a_non_ascii_path(tmp_path):
    bgr = np.zeros((6, 9, 3), np.uint8)
    bgr[..., 2] = 255  # pure red in OpenCV's BGR order
    bgr[0, 0] = (1, 2, 3)
    path = write_image(tmp_path / "café" / "帧.png", bgr)
    rgb = read_rgb(path)
    assert rgb.shape == (6, 9, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[1, 1]) == (255, 0, 0) and tuple(rgb[0, 0]) == (3, 2, 1)
    np.testing.assert_array_equal(read_rgb(str(path)), rgb)  # a str path reads the same


def test_gray_alpha_and_16_bit_images_become_3_channel_8_bit(tmp_path):
    gray = write_image(tmp_path / "gray.png", np.full((4, 5), 77, np.uint8))
    np.testing.assert_array_equal(read_rgb(gray), np.full((4, 5, 3), 77, np.uint8))
    bgra = np.zeros((4, 5, 4), np.uint8)
    bgra[..., 0], bgra[..., 3] = 200, 10  # blue, nearly transparent: alpha is dropped, not blended
    rgba = read_rgb(write_image(tmp_path / "alpha.png", bgra))
    assert rgba.shape == (4, 5, 3) and tuple(rgba[0, 0]) == (0, 0, 200)
    deep = read_rgb(write_image(tmp_path / "deep.png", np.full((4, 5, 3), 256 * 40, np.uint16)))
    assert deep.dtype == np.uint8 and (deep == 40).all()


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "café" / "absent.png"
    with pytest.raises(ImageReadError) as caught:
        read_rgb(path)
    error = caught.value
    assert error.path == path and error.missing
    assert str(error) == f"missing image: expected a readable image file at {path}"
    assert error.reason.startswith(f"cannot read '{path}' (")  # the OS error follows


@pytest.mark.parametrize("content", [b"not an image", b""])
def test_corrupt_file_names_the_path(tmp_path, content):
    path = tmp_path / "帧.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageReadError) as caught:
        read_rgb(path)
    error = caught.value
    assert not error.missing
    assert str(error) == f"unreadable image: expected a readable image file at {path}"
    assert error.reason == f"'{path}' cannot be decoded (corrupt, truncated or not an image)"


def test_a_folder_is_an_io_failure_not_a_missing_file(tmp_path):
    with pytest.raises(ImageReadError) as caught:
        read_rgb(tmp_path)
    assert not caught.value.missing and caught.value.reason.startswith(f"cannot read '{tmp_path}'")


def test_caller_chooses_the_exception_class(tmp_path):
    missing = tmp_path / "absent.png"
    with pytest.raises(DatasetError, match="^missing image: expected a readable image file at .*absent.png$"):
        read_rgb(missing, error=DatasetError)
    corrupt = tmp_path / "bad.png"
    corrupt.write_bytes(b"\x89PNG broken")
    with pytest.raises(DatasetError) as caught:
        read_rgb(corrupt, error=DatasetError)
    assert str(caught.value) == f"unreadable image: expected a readable image file at {corrupt}"
    assert not isinstance(caught.value, ImageReadError)


def test_name_over_255_bytes_is_an_io_failure_not_a_traceback(tmp_path):
    # Path.exists() raises on such a name; the reader must still answer with its own error.
    path = tmp_path / ("é" * 150 + ".png")
    with pytest.raises(ImageReadError) as caught:
        read_rgb(path)
    assert not caught.value.missing and caught.value.reason == f"cannot read '{path}' (File name too long)"


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlink_loop_is_unreadable_and_a_dangling_link_is_missing(tmp_path):
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop.name)
    with pytest.raises(ImageReadError) as caught:
        read_rgb(loop)
    assert not caught.value.missing and "Too many levels of symbolic links" in caught.value.reason
    dangling = tmp_path / "dangling.png"
    dangling.symlink_to("gone.png")
    with pytest.raises(ImageReadError) as caught:
        read_rgb(dangling)
    assert caught.value.missing
