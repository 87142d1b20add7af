"""ONNX export of the ablation models (issue 21): bidirectional decoding, separate encoding and temporal
tokens each give a graph whose tokens equal the eager model's; a temporal graph takes ``history`` as an input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqtrack.config import ModelConfig
from seqtrack.errors import InputError
from seqtrack.export.onnx import export_onnx
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.runtime.onnxruntime import OnnxError, OnnxPredictor, check_graph, example_inputs, input_names
from support import tiny_variant_config

MODES = {
    "bidirectional": {"decoding": "bidirectional"},
    "separate": {"encoding": "separate", "feature_type": "xz"},
    "temporal": {"temporal_frames": 2},
    "temporal-bidirectional": {"temporal_frames": 2, "decoding": "bidirectional"},
}


def tiny_config(**fields) -> ModelConfig:
    return tiny_variant_config(decoder_layers=2, **fields)


@pytest.fixture(scope="module", params=list(MODES))
def exported(request, tmp_path_factory):
    """``(model, OnnxPredictor, ExportResult)`` for one mode: a seeded random tiny model, exported and
    validated (strict: the export itself fails unless ONNX Runtime equals PyTorch)."""
    torch.manual_seed(0)
    model = SeqTrack(tiny_config(**MODES[request.param])).eval()
    path = tmp_path_factory.mktemp("ablation-onnx") / f"{request.param}.onnx"
    result = export_onnx(model, path, batch=2)
    return model, OnnxPredictor(path), result


def _history(config: ModelConfig, batch: int, seed: int) -> dict:
    if config.temporal_frames == 0:
        return {}
    generator = torch.Generator().manual_seed(seed)
    return {"history": torch.randint(0, config.bins, (batch, 4 * config.temporal_frames), generator=generator)}


def test_export_validates_exactly(exported):
    _, predictor, result = exported
    assert [check.exact for check in result.validation] == [True, True]
    assert predictor.config.temporal_frames in (0, 2)


def test_other_inputs_and_batch_sizes_equal_eager(exported):
    model, predictor, _ = exported
    for batch, seed in ((1, 7), (3, 8)):
        templates, search = example_inputs(model.config, batch, seed)
        extra = _history(model.config, batch, seed)
        for window in (True, False):
            ref_tokens, ref_probs = model.generate(templates, search, window=window, **extra)
            tokens, probs = predictor.generate(templates, search, window=window, **extra)
            assert tokens.tolist() == ref_tokens.tolist()
            np.testing.assert_allclose(probs.numpy(), ref_probs.numpy(), atol=1e-5, rtol=0)


def test_temporal_graph_reads_its_history_input(exported):
    model, predictor, _ = exported
    session_inputs = [i.name for i in predictor.session.get_inputs()]
    assert session_inputs == list(input_names(model.config))
    templates, search = example_inputs(model.config, 2, 3)
    if model.config.temporal_frames == 0:
        assert "history" not in session_inputs
        with pytest.raises(InputError, match="no temporal tokens"):
            predictor.generate(templates, search, history=torch.zeros(2, 8, dtype=torch.int64))
        return
    width = 4 * model.config.temporal_frames
    low, high = torch.zeros(2, width, dtype=torch.int64), torch.full((2, width), model.config.bins - 1)
    eager = [model.generate(templates, search, history=h)[1] for h in (low, high)]
    graph = [predictor.generate(templates, search, history=h)[1] for h in (low, high)]
    assert not torch.equal(eager[0], eager[1])  # the history changes the answer ...
    for e, g in zip(eager, graph):  # ... and the graph follows it (not a constant folded in at export)
        np.testing.assert_allclose(g.numpy(), e.numpy(), atol=1e-5, rtol=0)
    with pytest.raises(InputError, match=f"history must be \\(2, {width}\\)"):
        predictor.generate(templates, search)
    with pytest.raises(InputError, match="history must be"):
        predictor.generate(templates, search, history=low[:, :4])


def test_graph_check_wants_history_exactly_for_temporal_configs():
    base = [("templates", ["batch", 2, 3, 32, 32]), ("search", ["batch", 3, 64, 64]), ("window", [])]
    temporal = tiny_config(temporal_frames=2)
    check_graph(base + [("history", ["batch", 8])], ["tokens", "probs"], temporal, "t.onnx")
    check_graph(base, ["tokens", "probs"], tiny_config(), "d.onnx")
    with pytest.raises(OnnxError, match="temporal_frames 2"):
        check_graph(base, ["tokens", "probs"], temporal, "t.onnx")
    with pytest.raises(OnnxError, match="'history' has shape"):
        check_graph(base + [("history", ["batch", 12])], ["tokens", "probs"], temporal, "t.onnx")
    with pytest.raises(OnnxError, match="temporal_frames 0"):
        check_graph(base + [("history", ["batch", 8])], ["tokens", "probs"], tiny_config(), "d.onnx")
