"""Crops around boxes far larger than the frame (issue 18): the work is bounded by the frame, and the
pixels are the ones the official pad-then-resize gives, bit for bit."""

from __future__ import annotations

import time
import tracemalloc

import cv2
import numpy as np
import pytest

from seqtrack.geometry import crop as crop_module
from seqtrack.geometry.crop import crop_side, crop_square
from support import golden_file


def padded_then_resized(image: np.ndarray, box, factor: float, size: int) -> np.ndarray:
    """The official `sample_target`, written out: pad the whole square with zeros, then cv2.resize."""
    side = crop_side(box, factor)
    x1 = round(box[0] + 0.5 * box[2] - 0.5 * side)
    y1 = round(box[1] + 0.5 * box[3] - 0.5 * side)
    x2, y2 = x1 + side, y1 + side
    height, width = image.shape[:2]
    left, top = max(0, -x1), max(0, -y1)
    right, bottom = max(x2 - width + 1, 0), max(y2 - height + 1, 0)
    patch = image[y1 + top : y2 - bottom, x1 + left : x2 - right]
    padded = cv2.copyMakeBorder(patch, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return cv2.resize(padded, (size, size), interpolation=cv2.INTER_LINEAR)


@pytest.fixture
def sampled_only(monkeypatch):
    """Every padded crop through the bounded path (`_resize_from_frame`)."""
    monkeypatch.setattr(crop_module, "PADDED_AREA_LIMIT", 0)


@pytest.mark.parametrize("size", [256, 128])
def test_golden_crops_are_bit_identical_through_the_bounded_path(sampled_only, size):
    data = dict(np.load(golden_file("tiny_crop.npz")))
    for i, box in enumerate(data["boxes"]):
        crop, factor = crop_square(data["image"], box, float(data["factor"]), size)
        assert np.array_equal(crop, data[f"crops_{size}"][i]), f"box {i}: {box}"
        assert factor == data[f"resize_factors_{size}"][i]


def test_bounded_path_equals_pad_then_resize(sampled_only):
    rng = np.random.default_rng(18)
    for _ in range(150):
        height, width = (int(v) for v in rng.integers(1, 120, 2))
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        w, h = rng.uniform(0.5, 200, 2)
        centre = rng.uniform(0, width), rng.uniform(0, height)  # the official code needs the square to meet the frame
        box = [float(centre[0] - w / 2), float(centre[1] - h / 2), float(w), float(h)]
        factor = float(rng.choice([1.0, 2.0, 4.0, 5.0]))
        size = int(rng.choice([16, 50, 64, 128]))  # downscaling, upscaling and exactly 2:1
        expected = padded_then_resized(image, box, factor, size)
        assert np.array_equal(crop_square(image, box, factor, size)[0], expected), (height, width, box, factor, size)


@pytest.mark.parametrize(
    "box",
    [
        [0.0, 0.0, 1e6, 1e6],  # the 10.9 TiB square of the issue (at factor 4 on a 1080p frame)
        [-5e5, -5e5, 1e6, 1e6],  # centred on the frame
        [1.0, 1.0, 1e150, 1e150],
        [-1e9, 3.0, 5.0, 5.0],  # a square wholly outside the frame: zeros, no error
        [1e9, 1e9, 5.0, 5.0],
    ],
)
def test_huge_or_far_boxes_cost_no_more_than_the_frame(box):
    image = np.full((120, 160, 3), 200, np.uint8)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        crop, factor = crop_square(image, box, 4.0, 128)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert crop.shape == (128, 128, 3) and crop.dtype == np.uint8
    assert factor == 128 / crop_side(box, 4.0)
    assert peak < 8 * image.nbytes + 64 * 128 * 128 and time.perf_counter() - started < 1.0


def test_a_frame_sized_box_still_sees_the_frame():
    image = np.full((120, 160, 3), 200, np.uint8)
    crop, _ = crop_square(image, [-400.0, -300.0, 960.0, 720.0], 4.0, 128)  # a square 20 frames wide
    # The frame maps to about 6 x 5 crop pixels in the middle; zeros around it.
    assert crop[63:65, 62:66].min() == 200 and crop[:58].max() == 0 and crop[70:].max() == 0
