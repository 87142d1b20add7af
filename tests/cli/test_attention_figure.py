"""The Fig. 7 renderer (`seqtrack.io.attention_figure`): layout, where the heat goes, its errors, the PNG."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from seqtrack.errors import InputError
from seqtrack.io.attention_figure import (
    MARGIN,
    TITLE_HEIGHT,
    figure_size,
    heat_overlay,
    render_attention_figure,
    write_png,
)

CROP = np.full((64, 64, 3), 128, dtype=np.uint8)


def test_heat_peaks_over_the_attended_patch():
    weights = np.zeros((4, 4), np.float32)
    weights[1, 2] = 1.0  # row 1, column 2 of the grid: pixels y 16..32, x 32..48 of a 64-pixel panel
    overlay = heat_overlay(CROP, weights, 64).astype(int)
    redness = overlay[..., 0] - overlay[..., 2]
    y, x = np.unravel_index(np.argmax(redness), redness.shape)
    assert 16 <= y < 32 and 32 <= x < 48
    assert redness[60, 4] < 0  # far from it: blue


def test_layout_and_box():
    maps = np.random.default_rng(0).random((4, 4, 4)).astype(np.float32)
    image = render_attention_figure(CROP, maps, ["cx", "cy", "w", "h"], box_xywh=[16, 16, 32, 32], panel=96)
    assert image.shape == (*figure_size(96), 3) == (TITLE_HEIGHT + 96 + MARGIN, 5 * 96 + 6 * MARGIN, 3)
    assert (image[TITLE_HEIGHT:, :MARGIN] == 255).all()  # white margins
    first = image[TITLE_HEIGHT : TITLE_HEIGHT + 96, MARGIN : MARGIN + 96]
    assert (first[24, 30:60] > 200).all()  # the box's top edge (16 crop px = 24 panel px), drawn white
    assert (image[:TITLE_HEIGHT] < 128).any()  # the titles


@pytest.mark.parametrize(
    "crop, maps, titles, message",
    [
        (CROP[..., 0], np.zeros((4, 2, 2)), ["a"] * 4, "crop must be"),
        (CROP, np.zeros((3, 2, 2)), ["a"] * 4, "maps must be"),
        (CROP, np.full((4, 2, 2), np.nan), ["a"] * 4, "maps must be"),
        (CROP, np.zeros((4, 2, 2)), ["a"] * 3, "titles must name the 4 maps"),
    ],
)
def test_bad_inputs(crop, maps, titles, message):
    with pytest.raises(InputError, match=message):
        render_attention_figure(crop, maps, titles)


def test_png_round_trip(tmp_path):
    image = render_attention_figure(CROP, np.ones((4, 2, 2)), ["a", "b", "c", "d"], panel=32)
    path = write_png(tmp_path / "f.png", image)
    assert np.array_equal(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), image)
