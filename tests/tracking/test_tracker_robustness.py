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


@pytest.mark.parametrize(
    "box,message",
    [
        ([1, 1, 0, 5], "positive"),
        ([1, 1, float("inf"), 5], "non-finite"),
        ([500, 1, 5, 5], "outside"),
        ([1, 2, 3], "four numbers"),
    ],
)
def test_bad_boxes(box, message):
    with pytest.raises(InputError, match=message):
        Tracker(FixedPredictor([0, 0, 0, 0])).init(FRAMES[0], box)


def test_size_smoothing_blends_sizes_geometrically():
    # Tokens that say "same centre, half the crop wide and high" (t128: crop factor 4).
    bins = model_preset("t128").bins
    middle = half = round((bins - 1) * 0.5)
    box = [40, 30, 20, 16]
    sizes = {}
    for weight in (1.0, 0.5):
        tracker = Tracker(FixedPredictor([middle, middle, half, half]), TrackerConfig(size_smoothing=weight))
        tracker.init(FRAMES[0], box)
        sizes[weight] = tracker.track(FRAMES[1]).box[2:]
    predicted = 0.5 * 4 * (20 * 16) ** 0.5  # the search crop is square: side = 4 * sqrt(w * h)
    assert sizes[1.0] == pytest.approx([predicted, predicted], rel=0.01)
    assert sizes[0.5] == pytest.approx([(20 * predicted) ** 0.5, (16 * predicted) ** 0.5], rel=0.01)


def test_hold_score_keeps_the_previous_box():
    # FixedPredictor's confidences give score 10 (4 x 0.25 x 10).
    box = [40, 30, 20, 16]
    held = Tracker(FixedPredictor([0, 0, 400, 400]), TrackerConfig(hold_score=10.5))
    held.init(FRAMES[0], box)
    assert held.track(FRAMES[1]).box.tolist() == box
    moved = Tracker(FixedPredictor([0, 0, 400, 400]), TrackerConfig(hold_score=9.5))
    moved.init(FRAMES[0], box)
    assert moved.track(FRAMES[1]).box.tolist() != box


def test_lost_target_widens_the_search_until_the_score_recovers():
    # score 10 (see above); with lost_score 10.5 every frame counts as low.
    bins = model_preset("t128").bins
    middle = round((bins - 1) * 0.5)
    box = [50, 40, 10, 10]
    tracker = Tracker(
        FixedPredictor([middle, middle, 40, 40]),
        TrackerConfig(hold_score=10.5, lost_score=10.5, lost_after=2, lost_search_factor=8.0),
    )
    tracker.init(FRAMES[0], box)
    factors = []
    for frame in FRAMES[1:5]:
        factors.append(tracker.state.targets[0].search_factor(tracker.config))
        tracker.track(frame)
    assert factors == [4.0, 4.0, 8.0, 8.0]  # wide after two low frames
    tracker.config.lost_score = 9.5  # the next answer counts as found: back to the normal crop
    tracker.track(FRAMES[5])
    assert tracker.state.targets[0].search_factor(tracker.config) == 4.0
    off = Tracker(FixedPredictor([middle, middle, 40, 40]), TrackerConfig(lost_score=10.5, lost_after=1))
    off.init(FRAMES[0], box)
    off.track(FRAMES[1])
    assert off.state.targets[0].search_factor(off.config) == 4.0  # lost_search_factor None: official


@pytest.mark.parametrize(
    "field,value",
    [
        ("size_smoothing", 0.0),
        ("size_smoothing", 1.5),
        ("hold_score", -1.0),
        ("window_power", 0.0),
        ("window_power", 20.0),
        ("lost_search_factor", 0.5),
        ("lost_after", 0),
        ("lost_score", -1.0),
    ],
)
def test_bad_tracker_options(field, value):
    with pytest.raises(InputError, match=field):
        TrackerConfig(**{field: value})
