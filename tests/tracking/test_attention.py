"""`Tracker.track_with_attention` and the layout of the Fig. 7 maps (`seqtrack.tracking.attention`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqtrack.config import ModelConfig, TrackerConfig
from seqtrack.errors import InputError
from seqtrack.geometry.crop import crop_square
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.tracking.attention import predicted_crop_box, search_attention_maps, token_titles
from seqtrack.tracking.tracker import Tracker
from support import tiny_variant_config

FRAMES = np.random.default_rng(5).integers(0, 255, size=(3, 96, 128, 3), dtype=np.uint8)


def tiny_config(**fields) -> ModelConfig:
    return tiny_variant_config(decoder_layers=2, **fields)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return SeqTrack(tiny_config()).eval()


def test_track_with_attention_equals_track_and_returns_the_models_maps(model):
    config = TrackerConfig(search_factor=4.0, template_factor=2.0)
    plain, inspected = Tracker(model, config), Tracker(model, config)
    for tracker in (plain, inspected):
        tracker.init(FRAMES[0], [40, 30, 20, 24])
        tracker.track(FRAMES[1])
    reference = list(inspected.state.targets[0].box)
    expected = plain.track(FRAMES[2])
    result, view = inspected.track_with_attention(FRAMES[2])
    assert result.tokens.tolist() == expected.tokens.tolist() and np.allclose(result.box, expected.box)
    crop, _ = crop_square(FRAMES[2], reference, 4.0, 64)
    assert view.crop.dtype == np.uint8 and np.array_equal(view.crop, crop)
    assert view.attention.shape == (4, 16) and view.attention.dtype == np.float32
    np.testing.assert_allclose(view.attention.sum(axis=1), 1.0, atol=1e-5)  # a softmax over the memory
    np.testing.assert_allclose(view.crop_reference, reference)


def test_attention_needs_the_torch_model_and_one_target(model):
    class Wrapper:  # any non-torch predictor (ONNX Runtime, a compiled wrapper): no maps
        def __init__(self, inner):
            self.config, self.device, self.dtype, self.inner = inner.config, inner.device, inner.dtype, inner

        def generate(self, templates, search, window=True):
            return self.inner.generate(templates, search, window=window)

    tracker = Tracker(Wrapper(model), TrackerConfig())
    tracker.init(FRAMES[0], [40, 30, 20, 24])
    with pytest.raises(InputError, match="torch backend"):
        tracker.track_with_attention(FRAMES[1])
    several = Tracker(model, TrackerConfig())
    several.init_many(FRAMES[0], [[40, 30, 20, 24], [10, 10, 20, 20]])
    with pytest.raises(InputError, match="one target"):
        several.track_with_attention(FRAMES[1])


def test_maps_are_the_search_grid_row_major():
    config = tiny_config()  # 64 / 16: a 4 x 4 grid
    attention = np.arange(64, dtype=np.float32).reshape(4, 16)
    maps = search_attention_maps(attention, config)
    assert maps.shape == (4, 4, 4) and maps[2, 1, 3] == attention[2, 1 * 4 + 3]


def test_xz_memory_keeps_the_search_part_and_token_has_no_map():
    config = tiny_config(feature_type="xz")
    attention = np.random.default_rng(0).random((4, 16 + 2 * 4)).astype(np.float32)  # search, then 2 templates
    np.testing.assert_array_equal(search_attention_maps(attention, config).reshape(4, 16), attention[:, :16])
    with pytest.raises(InputError, match="feature_type 'token'"):
        search_attention_maps(np.ones((4, 1), np.float32), tiny_config(feature_type="token"))
    with pytest.raises(InputError, match="N_mem"):
        search_attention_maps(np.ones((4, 8), np.float32), config)


def test_titles_and_crop_box_follow_the_sequence_format():
    config = tiny_config()
    assert token_titles(np.array([63, 0, 21, 42]), "xywh", 64) == [
        "cx 1.000 (63)",
        "cy 0.000 (0)",
        "w 0.333 (21)",
        "h 0.667 (42)",
    ]
    assert token_titles(np.array([1, 2, 3, 4]), "corner", 64)[2].startswith("x2 ")
    # token / (bins - 1) * S: cx = cy = 32 / 63 * 64, w = h = 16 / 63 * 64 crop pixels.
    box = predicted_crop_box(np.array([32, 32, 16, 16]), config)
    unit = 64 / 63
    np.testing.assert_allclose(box, [24 * unit, 24 * unit, 16 * unit, 16 * unit], rtol=1e-6)
