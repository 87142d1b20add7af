"""Crop geometry against the official `sample_target`, `map_box_back` and `clip_box` outputs."""

import numpy as np
import pytest

from seqtrack.geometry.crop import (
    CropError,
    clip_box,
    crop_square,
    map_box_back,
    normalize_crops,
    prediction_to_frame_box,
    tokens_to_crop_box,
)
from support import golden_file


@pytest.fixture(scope="module")
def crop_data():
    return dict(np.load(golden_file("tiny_crop.npz")))


@pytest.mark.parametrize("size", [256, 128])
def test_crops_exact(crop_data, size):
    for i, box in enumerate(crop_data["boxes"]):
        crop, factor = crop_square(crop_data["image"], box, float(crop_data["factor"]), size)
        assert crop.dtype == np.uint8 and crop.shape == (size, size, 3)
        assert np.array_equal(crop, crop_data[f"crops_{size}"][i]), f"box {i}: {box}"
        assert factor == crop_data[f"resize_factors_{size}"][i]


def test_map_back_and_clip(crop_data):
    height, width = (int(v) for v in crop_data["mapback_image_hw"])
    margin = int(crop_data["mapback_margin"])
    for i in range(len(crop_data["mapback_tokens"])):
        values = crop_data["mapback_tokens"][i] / np.float32(3999)
        size, factor = int(crop_data["mapback_search_size"][i]), float(crop_data["mapback_resize_factor"][i])
        state = crop_data["mapback_state"][i].tolist()
        pred = tokens_to_crop_box(values.astype(np.float32), size, factor)
        np.testing.assert_allclose(pred, crop_data["mapback_pred_box"][i], atol=1e-4, rtol=0)
        unclipped = map_box_back(pred.tolist(), state, size, factor)
        np.testing.assert_allclose(unclipped, crop_data["mapback_unclipped"][i], atol=1e-4, rtol=0)
        clipped = clip_box(unclipped, height, width, margin)
        np.testing.assert_allclose(clipped, crop_data["mapback_box"][i], atol=1e-4, rtol=0)
        together = prediction_to_frame_box(values.astype(np.float32), state, size, factor, (height, width), margin)
        np.testing.assert_allclose(together, crop_data["mapback_box"][i], atol=1e-4, rtol=0)


def test_border_quirk_and_rounding():
    image = np.full((100, 100, 3), 200, np.uint8)
    # A 20-px crop ending exactly at the right edge: the official +1 pads a zero column.
    crop, factor = crop_square(image, [87.5, 40, 5, 5], 4.0, 20)  # x1 = 80, x2 = 100 = W
    assert factor == 1.0 and (crop[:, -1] == 0).all() and (crop[:, :-1] == 200).all()
    # Python's round is half-to-even: x1 = round(2.5) = 2, so no left padding.
    crop, _ = crop_square(image, [10.5, 50, 4, 4], 1.0, 4)  # centre 12.5 - 2 = 10.5 -> 10
    assert (crop == 200).all()


@pytest.mark.parametrize("box", [[0, 0, 0, 5], [0, 0, 5, -1], [0, 0, float("nan"), 5]])
def test_degenerate_boxes_raise(box):
    with pytest.raises(CropError):
        crop_square(np.zeros((10, 10, 3), np.uint8), box, 4.0, 16)


def test_normalize_crops():
    crop = np.zeros((2, 4, 4, 3), np.uint8)
    crop[..., 0] = 255
    out = normalize_crops(crop)
    assert out.shape == (2, 3, 4, 4)
    np.testing.assert_allclose(out[0, 0, 0, 0].item(), (1 - 0.485) / 0.229, rtol=1e-6)
    np.testing.assert_allclose(out[0, 1, 0, 0].item(), -0.456 / 0.224, rtol=1e-6)
