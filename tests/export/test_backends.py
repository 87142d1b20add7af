"""`make_predictor`: every backend/precision option gives a predictor the tracker accepts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqtrack.errors import InputError
from seqtrack.export.backends import PredictorOptions, TorchPredictor, make_predictor
from seqtrack.export.onnx import OnnxPredictor
from seqtrack.model.seqtrack import SeqTrack


@pytest.fixture()
def model(golden_model_data, tiny_config):
    network = SeqTrack(tiny_config)
    network.load_state_dict(golden_model_data["state_dict"])
    return network.eval()


def _inputs(data):
    return data["templates"].unsqueeze(0), data["search"]


def test_torch_fp32_is_the_model_itself(model, golden_model_data):
    predictor = make_predictor(model)
    assert predictor is model
    tokens, _ = predictor.generate(*_inputs(golden_model_data))
    assert tokens.tolist() == golden_model_data["generated_tokens_window"].tolist()


def test_bf16_options_run_and_stay_options(model, golden_model_data, tiny_config):
    templates, search = _inputs(golden_model_data)
    autocast = make_predictor(model, dtype="bf16-autocast")
    assert isinstance(autocast, TorchPredictor) and autocast.dtype == torch.float32
    tokens, probs = autocast.generate(templates, search)
    assert tokens.shape == (1, 4) and probs.dtype == torch.float64
    assert next(model.parameters()).dtype == torch.float32  # autocast leaves the weights alone

    converted = SeqTrack(tiny_config)
    converted.load_state_dict(golden_model_data["state_dict"])
    bf16 = make_predictor(converted, dtype="bf16")
    assert next(bf16.parameters()).dtype == torch.bfloat16
    tokens, probs = bf16.generate(templates.bfloat16(), search.bfloat16())
    assert tokens.shape == (1, 4) and probs.dtype == torch.float64
    # the default stays fp32 and exact
    assert make_predictor(model).generate(templates, search)[0].tolist() == \
        golden_model_data["generated_tokens_window"].tolist()


def test_onnxruntime_from_a_model_and_from_a_file(model, golden_model_data, onnx_fp32):
    templates, search = _inputs(golden_model_data)
    expected = golden_model_data["generated_tokens_window"].tolist()
    from_file = make_predictor(str(onnx_fp32[0]), backend="onnxruntime", threads=1)
    assert isinstance(from_file, OnnxPredictor)
    assert from_file.generate(templates, search)[0].tolist() == expected
    exported = make_predictor(model, backend="onnxruntime")
    assert isinstance(exported, OnnxPredictor) and exported.config == model.config
    assert exported.generate(templates, search)[0].tolist() == expected


def test_tracker_accepts_a_torch_predictor(model, tracker_data, track_all):
    tokens, boxes, updated, _ = track_all(make_predictor(model, compile=False, dtype="bf16-autocast"), tracker_data,
                                          frames=4)
    assert tokens.shape == (4, 4) and np.isfinite(boxes).all()


@pytest.mark.parametrize("options, message", [
    (dict(backend="tensorrt"), "unknown backend"),
    (dict(dtype="fp16"), "unknown dtype"),
    (dict(backend="onnxruntime", dtype="bf16"), "torch options"),
    (dict(quantize="int8"), "needs --backend onnxruntime"),
    (dict(backend="onnxruntime", quantize="int4"), "unknown quantisation"),
    (dict(threads=0), "threads must be"),
])
def test_bad_options(options, message):
    with pytest.raises(InputError, match=message):
        PredictorOptions(**options)


def test_onnx_file_with_torch_backend_is_refused(onnx_fp32):
    with pytest.raises(InputError, match="use --backend onnxruntime"):
        make_predictor(onnx_fp32[0])


def test_labels():
    assert PredictorOptions().label == "torch fp32"
    assert PredictorOptions(dtype="bf16-autocast", compile=True).label == "torch bf16-autocast compiled"
    assert PredictorOptions(backend="onnxruntime", quantize="int8").label == "onnxruntime int8"
