"""The tracker survives targets that leave the frame, shrink to a few pixels or fill the frame."""

import numpy as np
import pytest
import torch

from seqtrack.config import TrackerConfig, model_preset
from seqtrack.errors import InputError
from seqtrack.tracking.tracker import Tracker


class FixedPredictor:
    """A stand-in network that always answers the same tokens (drives the geometry to extremes)."""

    def __init__(self, tokens):
        self.config = model_preset("t128")
        self.device, self.dtype = "cpu", torch.float32
        self.tokens = torch.tensor(tokens)

    def generate(self, templates, search, window=True):
        batch = search.shape[0]
        return self.tokens.repeat(batch, 1), torch.full((batch, 4), 0.25, dtype=torch.float64)


FRAMES = np.random.default_rng(0).integers(0, 255, size=(6, 90, 120, 3), dtype=np.uint8)


@pytest.mark.parametrize("tokens", [[0, 0, 0, 0], [3999, 3999, 3999, 3999], [0, 3999, 3999, 0], [2000, 2000, 1, 1]])
@pytest.mark.parametrize("box", [[0, 0, 120, 90], [118, 88, 2, 2], [-30, -30, 40, 40], [50, 40, 1, 1]])
def test_extreme_predictions_and_boxes_never_crash(tokens, box):
    tracker = Tracker(FixedPredictor(tokens), TrackerConfig(update_interval=1, update_threshold=0.0))
    tracker.init(FRAMES[0], box)
    for frame in FRAMES[1:]:
        result = tracker.track(frame)
        x, y, w, h = result.box
        assert np.isfinite(result.box).all() and w >= 10 and h >= 10
        assert 0 <= x <= 110 and 0 <= y <= 80 and x + w <= 120 + 1e-9 and y + h <= 90 + 1e-9
        assert result.template_updated  # threshold 0: every frame refreshes, including degenerate boxes


def test_frame_size_may_change():
    tracker = Tracker(FixedPredictor([2000, 2000, 400, 400]))
    tracker.init(FRAMES[0], [40, 30, 20, 20])
    result = tracker.track(np.zeros((40, 50, 3), np.uint8))
    assert result.box[0] + result.box[2] <= 50 and result.box[1] + result.box[3] <= 40


@pytest.mark.parametrize("frame", [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 3), np.float32), "frame.jpg"])
def test_bad_frames(frame):
    tracker = Tracker(FixedPredictor([2000, 2000, 400, 400]))
    with pytest.raises(InputError, match="uint8"):
        tracker.init(frame, [1, 1, 5, 5])


def test_track_before_init():
    with pytest.raises(InputError, match="init"):
        Tracker(FixedPredictor([0, 0, 0, 0])).track(FRAMES[0])


@pytest.mark.parametrize("box,message", [([1, 1, 0, 5], "positive"), ([1, 1, float("inf"), 5], "non-finite"),
                                         ([500, 1, 5, 5], "outside"), ([1, 2, 3], "four numbers")])
def test_bad_boxes(box, message):
    with pytest.raises(InputError, match=message):
        Tracker(FixedPredictor([0, 0, 0, 0])).init(FRAMES[0], box)
