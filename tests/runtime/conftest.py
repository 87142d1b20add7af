"""Fixtures of the runtime tests: the golden tiny network, its ONNX graph (written by the runtime, not by
``seqtrack.export``) and a short run of the golden video."""

from __future__ import annotations

import numpy as np
import pytest

from support import golden_file


@pytest.fixture()
def model(golden_model_data, tiny_config):
    """A fresh eval-mode copy of the golden tiny network (tests may convert or move it)."""
    from seqtrack.model.seqtrack import SeqTrack

    network = SeqTrack(tiny_config)
    network.load_state_dict(golden_model_data["state_dict"])
    return network.eval()


@pytest.fixture(scope="session")
def onnx_file(tmp_path_factory, golden_model):
    """The golden tiny network traced by `write_onnx` (fp32, dynamic batch, not validated)."""
    from seqtrack.runtime.onnxruntime import float32_copy, write_onnx

    return write_onnx(float32_copy(golden_model), tmp_path_factory.mktemp("runtime-onnx") / "tiny.onnx")


@pytest.fixture(scope="session")
def tracker_data():
    return dict(np.load(golden_file("tiny_tracker.npz")))


@pytest.fixture(scope="session")
def track_frames():
    """``track_frames(predictor, data, frames)``: the first frames of the golden video with the golden
    tracker settings; returns ``(tokens (N, 4), boxes (N, 4))`` for frames 1..N."""
    from seqtrack.config import TrackerConfig
    from seqtrack.tracking.tracker import Tracker

    def run(predictor, data, frames: int) -> tuple[np.ndarray, np.ndarray]:
        config = TrackerConfig(
            template_factor=float(data["template_factor"]),
            search_factor=float(data["search_factor"]),
            window=bool(data["window"]),
            update_interval=int(data["update_interval"]),
            update_threshold=float(data["update_threshold"]),
        )
        tracker = Tracker(predictor, config)
        tracker.init(data["frames"][0], data["init_box"])
        results = [tracker.track(frame) for frame in data["frames"][1 : frames + 1]]
        return np.array([r.tokens for r in results]), np.array([r.box for r in results])

    return run
