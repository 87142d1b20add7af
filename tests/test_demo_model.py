"""The shipped demo model: its file loads, and it tracks generated frames (guards the weights format)."""

import numpy as np

from seqtrack.data.synthetic import generate_sequence
from seqtrack.demo import DEMO_WEIGHTS, bikes_clip
from seqtrack.model.weights import load_model
from seqtrack.tracking.tracker import Tracker


def test_demo_weights_load_and_track():
    assert DEMO_WEIGHTS.stat().st_size <= 25 * 1024 * 1024
    model = load_model(DEMO_WEIGHTS)
    assert model.config.name == "demo" and model.config.bins == 256
    sequence = generate_sequence(0, num_frames=8, size=(240, 320), split="test", seed=123)
    tracker = Tracker(model)
    tracker.init(sequence.frames[0], sequence.boxes[0])
    for frame in sequence.frames[1:]:
        result = tracker.track(frame)
        assert np.isfinite(result.box).all() and result.box[2] > 0 and result.box[3] > 0
        assert 0.0 <= result.score <= 40.0


def test_demo_clip_is_installed():
    assert bikes_clip().is_file()
