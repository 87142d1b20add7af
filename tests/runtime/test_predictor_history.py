"""Every backend takes the temporal ``history`` (issue 21): the tracker on a temporal model gives the same
tokens through the eager model, the `TorchPredictor` wrapper and ONNX Runtime."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqtrack.config import TrackerConfig
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.runtime.factory import make_predictor
from seqtrack.runtime.torch_predictor import TorchPredictor
from seqtrack.tracking.tracker import Tracker
from support import tiny_variant_config

FRAMES = np.random.default_rng(11).integers(0, 255, size=(5, 96, 128, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def temporal_model() -> SeqTrack:
    config = tiny_variant_config(temporal_frames=3)
    torch.manual_seed(1)
    return SeqTrack(config).eval()


def _run(predictor) -> tuple[np.ndarray, np.ndarray]:
    tracker = Tracker(predictor, TrackerConfig(search_factor=4.0, template_factor=2.0))
    tracker.init(FRAMES[0], [40, 30, 20, 24])
    results = [tracker.track(frame) for frame in FRAMES[1:]]
    return np.array([r.tokens for r in results]), np.array([r.score for r in results])


def test_torch_predictor_passes_history(temporal_model):
    wrapped = TorchPredictor(temporal_model)
    templates = torch.randn(2, 2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    search = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    for history in (torch.zeros(2, 12, dtype=torch.int64), torch.full((2, 12), 63)):
        tokens, probs = wrapped.generate(templates, search, history=history)
        ref_tokens, ref_probs = temporal_model.generate(templates, search, history=history)
        assert torch.equal(tokens, ref_tokens) and torch.equal(probs, ref_probs)
    with pytest.raises(ValueError, match="history"):
        wrapped.generate(templates, search)


def test_tracker_agrees_across_backends(temporal_model):
    eager_tokens, eager_scores = _run(temporal_model)
    for predictor in (TorchPredictor(temporal_model), make_predictor(temporal_model, backend="onnxruntime")):
        tokens, scores = _run(predictor)
        np.testing.assert_array_equal(tokens, eager_tokens)
        np.testing.assert_allclose(scores, eager_scores, rtol=1e-5)
