"""Shared fixtures for the export tests: the golden tiny network exported once per session."""

from __future__ import annotations

import numpy as np
import pytest

from support import golden_file


@pytest.fixture(scope="session")
def onnx_fp32(tmp_path_factory, golden_model):
    """The golden tiny model as a dynamic-batch fp32 ONNX file (export validated against PyTorch)."""
    from seqtrack.export.onnx import export_onnx

    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    result = export_onnx(golden_model, path, batch=2)
    return path, result


@pytest.fixture(scope="session")
def onnx_int8(tmp_path_factory, golden_model):
    from seqtrack.export.onnx import export_onnx

    path = tmp_path_factory.mktemp("onnx8") / "tiny.int8.onnx"
    result = export_onnx(golden_model, path, quantize="int8")
    return path, result


@pytest.fixture(scope="session")
def tracker_data():
    return dict(np.load(golden_file("tiny_tracker.npz")))


@pytest.fixture(scope="session")
def onnx_fp32_run(onnx_fp32, tracker_data):
    """The golden video tracked with the fp32 ONNX predictor (tokens, boxes, updated, scores)."""
    from seqtrack.runtime.onnxruntime import OnnxPredictor

    return _track_all(OnnxPredictor(onnx_fp32[0]), tracker_data)


@pytest.fixture(scope="session")
def track_all():
    """``track_all(predictor, data, frames=None)``: run the golden video with a predictor (see `_track_all`)."""
    return _track_all


def golden_tracker(predictor, data):
    """A `Tracker` with the settings of the golden tracker run."""
    from seqtrack.config import TrackerConfig
    from seqtrack.tracking.tracker import Tracker

    config = TrackerConfig(
        template_factor=float(data["template_factor"]),
        search_factor=float(data["search_factor"]),
        window=bool(data["window"]),
        update_interval=int(data["update_interval"]),
        update_threshold=float(data["update_threshold"]),
    )
    return Tracker(predictor, config)


def _track_all(predictor, data, frames: int | None = None):
    """Run the golden video; returns ``(tokens (N, 4), boxes (N, 4), updated (N,), scores (N,))`` for frames 1..N."""
    tracker = golden_tracker(predictor, data)
    video = data["frames"] if frames is None else data["frames"][: frames + 1]
    tracker.init(video[0], data["init_box"])
    results = [tracker.track(frame) for frame in video[1:]]
    return (
        np.array([r.tokens for r in results]),
        np.array([r.box for r in results]),
        np.array([r.template_updated for r in results]),
        np.array([r.score for r in results]),
    )
