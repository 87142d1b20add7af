"""``seqtrack export`` from the command line (``seqtrack bench``: tests/bench)."""

from __future__ import annotations

import pytest

from seqtrack.cli import main
from seqtrack.model.weights import save_safetensors
from seqtrack.runtime.onnxruntime import OnnxPredictor


@pytest.fixture(scope="module")
def weights(tmp_path_factory, golden_model):
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    save_safetensors(golden_model, path)
    return path


def test_export_writes_a_checked_file(tmp_path, weights, golden_model, capsys):
    out = tmp_path / "tiny.onnx"
    assert main(["export", "--weights", str(weights), "--format", "onnx", "--out", str(out), "--batch", "2"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "tokens 100% equal" in printed
    assert OnnxPredictor(out).config == golden_model.config


@pytest.mark.parametrize(
    "args, message",
    [
        (["--weights", "{tmp}/missing.pth.tar", "--out", "{tmp}/m.onnx"], "weights file not found"),
        (["--weights", "{weights}", "--format", "tflite", "--out", "{tmp}/m.onnx"], "unknown export format 'tflite'"),
        (["--weights", "{weights}", "--out", "{tmp}/m.onnx", "--quantize", "int4"], "unknown quantisation 'int4'"),
        (["--weights", "{weights}", "--out", "{tmp}/nowhere/m.onnx"], "output folder does not exist"),
        (["--weights", "{weights}", "--out", "{tmp}/m.onnx", "--batch", "0"], "--batch must be >= 1"),
    ],
)
def test_export_bad_input_is_one_line(tmp_path, weights, capsys, args, message):
    argv = ["export"] + [a.format(tmp=tmp_path, weights=weights) for a in args]
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seqtrack: error:") and message in lines[0], captured.err
    assert "Traceback" not in captured.err
