"""``seqtrack export`` from the command line (``seqtrack bench``: tests/bench)."""

from __future__ import annotations

import errno
import os

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


def _one_error(capsys, *expected: str) -> None:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seqtrack: error:") and "Traceback" not in err, err
    assert all(text in lines[0] for text in expected), err


def test_export_refuses_outputs_it_cannot_or_must_not_write(tmp_path, weights, capsys):
    before = weights.read_bytes()
    link = tmp_path / "w.onnx"
    link.symlink_to(weights)  # --out names the weights through a link
    assert main(["export", "--weights", str(weights), "--out", str(link)]) == 2
    _one_error(capsys, f"--out {link} is the weights: it would be overwritten")
    assert weights.read_bytes() == before
    (tmp_path / "folder.onnx").mkdir()
    assert main(["export", "--weights", str(weights), "--out", str(tmp_path / "folder.onnx")]) == 2
    _one_error(capsys, "is a folder; expected a file")
    assert main(["export", "--weights", str(weights), "--out", str(tmp_path / ("m" * 300 + ".onnx"))]) == 2
    _one_error(capsys, "longer than 255 bytes")


@pytest.mark.parametrize("where", ["tracing", "the final flush"])
def test_export_full_disk_keeps_the_previous_file(tmp_path, weights, capsys, monkeypatch, where):
    out = tmp_path / "m.onnx"
    argv = ["export", "--weights", str(weights), "--out", str(out), "--no-validate"]
    assert main(argv) == 0
    capsys.readouterr()
    before = out.read_bytes()

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if where == "tracing":
        import seqtrack.export.onnx as export_module

        real_write = export_module.write_onnx

        def write_half(model, path, **kwargs):  # the disk fills up half-way through the graph
            real_write(model, path, **kwargs)
            with open(path, "r+b") as handle:
                handle.truncate(100)
            no_space()

        monkeypatch.setattr(export_module, "write_onnx", write_half)
    else:
        monkeypatch.setattr(os, "fsync", no_space)
    assert main(argv) == 2
    _one_error(capsys, f"could not write {'' if where == 'tracing' else 'the ONNX file '}{out}", "No space left")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no work folder, no temporary file
