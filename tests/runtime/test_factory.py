"""`make_predictor`: every backend/precision option gives a `BoxPredictor` the tracker accepts, and the
ONNX graph written by the runtime reads out what the eager model reads out."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from seqtrack.config import to_dict
from seqtrack.errors import InputError
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.runtime.factory import make_predictor
from seqtrack.runtime.onnxruntime import OnnxPredictor
from seqtrack.runtime.options import PredictorOptions
from seqtrack.runtime.protocol import BoxPredictor
from seqtrack.runtime.torch_predictor import TorchPredictor
from support import REPO, golden_file


def _inputs(data):
    return data["templates"].unsqueeze(0), data["search"]  # (1, 2, 3, H, W), (1, 3, S, S)


def test_torch_fp32_is_the_model_itself(model, golden_model_data):
    predictor = make_predictor(model)
    assert predictor is model
    tokens, _ = predictor.generate(*_inputs(golden_model_data))
    assert tokens.tolist() == golden_model_data["generated_tokens_window"].tolist()


def test_every_predictor_is_a_box_predictor(model, onnx_file):
    predictors = [model, make_predictor(model, dtype="bf16-autocast"), OnnxPredictor(onnx_file)]
    assert all(isinstance(p, BoxPredictor) for p in predictors)
    assert (model.device, model.dtype) == (torch.device("cpu"), torch.float32)
    assert not isinstance(object(), BoxPredictor)


def test_exported_graph_equals_the_eager_model(onnx_file, golden_model, golden_model_data):
    """The graph is the model's own encode + generate_from_memory traced: same tokens, window on and off,
    on the golden inputs and on a batch of three perturbed ones."""
    templates, search = _inputs(golden_model_data)
    noise = 0.3 * torch.randn((2,) + tuple(search.shape[1:]), generator=torch.Generator().manual_seed(3))
    batch = (templates.expand(3, -1, -1, -1, -1), torch.cat([search, search + noise]))
    predictor = OnnxPredictor(onnx_file)
    for window, key in ((True, "window"), (False, "plain")):
        tokens, probs = predictor.generate(templates, search, window=window)
        assert tokens.tolist() == golden_model_data[f"generated_tokens_{key}"].tolist()
        for inputs in ((templates, search), batch):
            tokens, probs = predictor.generate(*inputs, window=window)
            ref_tokens, ref_probs = golden_model.generate(*inputs, window=window)
            assert tokens.tolist() == ref_tokens.tolist()
            np.testing.assert_allclose(probs.numpy(), ref_probs.numpy(), atol=1e-5, rtol=0)


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
    assert bf16.dtype == torch.bfloat16 and next(bf16.parameters()).dtype == torch.bfloat16
    tokens, probs = bf16.generate(templates.bfloat16(), search.bfloat16())
    assert tokens.shape == (1, 4) and probs.dtype == torch.float64
    # the default stays fp32 and exact
    assert (
        make_predictor(model).generate(templates, search)[0].tolist()
        == golden_model_data["generated_tokens_window"].tolist()
    )


def test_onnxruntime_from_a_model_and_from_a_file(model, golden_model_data, onnx_file):
    templates, search = _inputs(golden_model_data)
    expected = golden_model_data["generated_tokens_window"].tolist()
    from_file = make_predictor(str(onnx_file), backend="onnxruntime", threads=1)
    assert isinstance(from_file, OnnxPredictor)
    assert from_file.generate(templates, search)[0].tolist() == expected
    exported = make_predictor(model, backend="onnxruntime")
    assert isinstance(exported, OnnxPredictor) and exported.config == model.config
    assert exported.generate(templates, search)[0].tolist() == expected


def test_onnxruntime_int8_from_a_file(onnx_file, golden_model_data):
    predictor = make_predictor(onnx_file, backend="onnxruntime", quantize="int8", threads=1)
    assert isinstance(predictor, OnnxPredictor) and predictor.precision == "int8"
    tokens, probs = predictor.generate(*_inputs(golden_model_data))
    assert tokens.shape == (1, 4) and probs.dtype == torch.float64


def test_onnxruntime_from_a_checkpoint_needs_no_export_package(tiny_config):
    """The runtime writes its own graph: loading a checkpoint under ONNX Runtime never imports
    ``seqtrack.export`` (a fresh interpreter, so other tests' imports do not count)."""
    code = (
        "import json, sys\n"
        "from seqtrack.config import model_config_from_dict\n"
        "from seqtrack.runtime.factory import make_predictor\n"
        f"config = model_config_from_dict(json.loads({json.dumps(to_dict(tiny_config))!r}))\n"
        f"p = make_predictor({str(golden_file('tiny_official_checkpoint.pth.tar'))!r}, backend='onnxruntime',"
        " config=config, threads=1)\n"
        "assert type(p).__name__ == 'OnnxPredictor', p\n"
        "print(sorted(m for m in sys.modules if m.startswith('seqtrack.export')))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_tracker_accepts_a_torch_predictor(model, tracker_data, track_frames):
    tokens, boxes = track_frames(make_predictor(model, compile=False, dtype="bf16-autocast"), tracker_data, 4)
    assert tokens.shape == (4, 4) and np.isfinite(boxes).all()


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(backend="tensorrt"), "unknown backend"),
        (dict(dtype="fp64"), "unknown dtype"),
        (dict(backend="onnxruntime", dtype="bf16"), "torch options"),
        (dict(quantize="int8"), "needs --backend onnxruntime"),
        (dict(backend="onnxruntime", quantize="int4"), "unknown quantisation"),
        (dict(threads=0), "threads must be"),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(InputError, match=message):
        PredictorOptions(**options)


def test_onnx_file_with_torch_backend_is_refused(onnx_file):
    with pytest.raises(InputError, match="use --backend onnxruntime"):
        make_predictor(onnx_file)


def test_labels():
    assert PredictorOptions().label == "torch fp32"
    assert PredictorOptions(dtype="bf16-autocast", compile=True).label == "torch bf16-autocast compiled"
    assert PredictorOptions(backend="onnxruntime", quantize="int8").label == "onnxruntime int8"
