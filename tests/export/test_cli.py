"""``seqtrack export`` and ``seqtrack bench`` from the command line."""

from __future__ import annotations

import json

import pytest

from seqtrack.cli import main
from seqtrack.export.onnx import OnnxPredictor
from seqtrack.model.weights import save_safetensors


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


@pytest.mark.parametrize("args, message", [
    (["--weights", "{tmp}/missing.pth.tar", "--out", "{tmp}/m.onnx"], "weights file not found"),
    (["--weights", "{weights}", "--format", "tflite", "--out", "{tmp}/m.onnx"], "unknown export format 'tflite'"),
    (["--weights", "{weights}", "--out", "{tmp}/m.onnx", "--quantize", "int4"], "unknown quantisation 'int4'"),
    (["--weights", "{weights}", "--out", "{tmp}/nowhere/m.onnx"], "output folder does not exist"),
    (["--weights", "{weights}", "--out", "{tmp}/m.onnx", "--batch", "0"], "--batch must be >= 1"),
])
def test_export_bad_input_is_one_line(tmp_path, weights, capsys, args, message):
    argv = ["export"] + [a.format(tmp=tmp_path, weights=weights) for a in args]
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seqtrack: error:") and message in lines[0], captured.err
    assert "Traceback" not in captured.err


def test_bench_quick_writes_json_and_table(tmp_path, capsys):
    assert main(["bench", "--quick", "--out-dir", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "speed.json").read_text())
    labels = [r["label"] for r in data["results"]]
    assert labels[:2] == ["torch fp32", "onnxruntime fp32"]
    for row in data["results"]:
        assert row["error"] is None, row
        assert row["fps"] > 0 and row["peak_rss_mib"] > 50 and len(row["latencies_ms"]) >= 1
    reference = data["results"][0]
    assert reference["iou_share"] == 1.0 and reference["token_share"] == 1.0
    assert [r["case"]["targets"] for r in data["scaling"]] == [1, 2]
    assert data["machine"]["torch"] and data["machine"]["threads"] >= 1
    table = (tmp_path / "speed.md").read_text()
    assert "| preset | backend | fps |" in table and "| t128 | onnxruntime fp32 |" in table
    assert "other processes" in table


def test_bench_bad_preset_is_one_line(capsys):
    assert main(["bench", "--presets", "x999"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown model preset 'x999'" in err[0]
