"""Hostile metadata in safetensors and ONNX files: every config field type- and range-checked on load, ONNX
graphs checked against their config, nothing from a file printed raw; ``convert`` writes atomically and
never over its input."""

from __future__ import annotations

import json
import os

import pytest

from security import hostile
from seqtrack.cli import main
from seqtrack.config import MODEL_PRESETS, ModelConfig
from seqtrack.errors import CheckpointError, InputError, safe_text
from seqtrack.model.header import read_header
from seqtrack.model.registry import resolve_weights
from seqtrack.model.weights import load_model, save_safetensors
from seqtrack.runtime.onnxruntime import OnnxError, OnnxPredictor, read_config

RAW = ("\x1b", "\u202e", "\x07")


def one_error_line(capsys, *needles: str) -> str:
    """The command's stderr: one ``seqtrack: error:`` line (eval's ``note:`` lines aside) holding
    ``needles``, with no terminal control character in anything printed."""
    captured = capsys.readouterr()
    assert not any(c in captured.err + captured.out for c in RAW), captured
    lines = [line for line in captured.err.splitlines() if line.strip() and not line.startswith("note:")]
    assert len(lines) == 1 and lines[0].startswith("seqtrack: error:"), captured.err
    assert all(needle in lines[0] for needle in needles), lines[0]
    return lines[0]


@pytest.mark.parametrize("case", list(hostile.BAD_CONFIG_FIELDS))
def test_bad_config_fields_are_refused(tmp_path, capsys, case):
    field, value = hostile.BAD_CONFIG_FIELDS[case]
    path = hostile.write_safetensors(
        tmp_path / "w.safetensors", hostile.config_metadata(hostile.config_with(field, value))
    )
    shown = safe_text(field.rsplit(".", 1)[-1])
    for read in (load_model, read_header):
        with pytest.raises(CheckpointError, match="model config in its metadata is invalid") as info:
            read(path)
        assert shown in str(info.value) and not any(c in str(info.value) for c in RAW)
    for command in (["info", str(path)], ["convert", str(path), str(tmp_path / "out.safetensors")]):
        assert main(command) == 2
        one_error_line(capsys, str(path), shown)
    assert not (tmp_path / "out.safetensors").exists()


@pytest.mark.parametrize(
    "name, text",
    [
        ("not JSON", "{"),
        ("a list", "[1, 2]"),
        ("nested 100000 deep", "[" * 100_000 + "]" * 100_000),
        ("NaN everywhere", json.dumps({"bins": float("nan")})),
    ],
)
def test_config_that_is_not_a_config(tmp_path, capsys, name, text):
    path = hostile.write_safetensors(tmp_path / "w.safetensors", {"seqtrack_config": text})
    with pytest.raises(CheckpointError):
        load_model(path)
    assert main(["info", str(path)]) == 2
    one_error_line(capsys, str(path))


@pytest.mark.parametrize(
    "settings, field",
    [
        ({"\x1b[2J": 1.0}, "\\x1b[2J"),
        ({"window_power": "\x1b[2J"}, "window_power"),
        ({"window_power": -1.0}, "window_power"),
        ({"hold_score": float("nan")}, "hold_score"),
    ],
)
def test_bad_tracker_settings_are_refused(tmp_path, capsys, small_model, settings, field):
    path = tmp_path / "w.safetensors"
    save_safetensors(small_model, path)
    metadata = {"seqtrack_tracker": json.dumps(settings), **hostile.config_metadata(hostile.config_with("bins", 20))}
    hostile.write_safetensors(path, metadata)
    for command in (["info", str(path)], ["convert", str(path), str(tmp_path / "out.safetensors")]):
        assert main(command) == 2
        one_error_line(capsys, "tracker settings", field)


def test_presets_and_the_demo_model_are_within_the_bounds():
    for config in MODEL_PRESETS.values():
        ModelConfig(**{**config.__dict__})  # re-checked
    assert read_header(resolve_weights("demo")).model_config().name == "demo"


@pytest.mark.parametrize("case", ["bins -5", "bins string", "heads zero", "factor NaN", "name escape"])
def test_onnx_config_is_checked(hostile_onnx, capsys, case):
    path = hostile_onnx[case]
    for read in (read_config, OnnxPredictor):
        with pytest.raises(OnnxError, match="model config in its metadata is invalid") as info:
            read(path)
        assert not any(c in str(info.value) for c in RAW)
    assert main(["info", str(path)]) == 2
    one_error_line(capsys, str(path))


@pytest.mark.parametrize(
    "case, message",
    [
        ("bins not the graph's", "the graph's vocabulary has 20 bins, its metadata config says 7"),
        ("search size not the graph's", "input 'search' has shape"),
        ("template size not the graph's", "input 'templates' has shape"),
        ("templates not the graph's", "input 'templates' has shape"),
        ("config not JSON", "not valid JSON"),
        ("precision escape", "unknown precision '\\x1b[2J'"),
    ],
)
def test_onnx_graph_must_match_its_config(hostile_onnx, case, message):
    with pytest.raises(OnnxError) as info:
        OnnxPredictor(hostile_onnx[case])
    assert message in str(info.value) and str(hostile_onnx[case]) in str(info.value)


def test_onnx_without_the_onnx_package_still_checks_inputs_and_tokens(hostile_onnx, monkeypatch, small_onnx):
    """ONNX Runtime alone does not show initializers: a bins lie is caught on the tokens instead."""
    import importlib.util

    import torch

    from seqtrack.runtime.onnxruntime import example_inputs

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else find_spec(name, *a))
    with pytest.raises(OnnxError, match="input 'search' has shape"):
        OnnxPredictor(hostile_onnx["search size not the graph's"])
    predictor = OnnxPredictor(hostile_onnx["bins not the graph's"])
    predictor.config.bins = 1  # every token the graph returns is outside
    templates, search = example_inputs(predictor.config)
    with pytest.raises(OnnxError, match="outside the 1 bins"):
        predictor.generate(templates, search)
    assert OnnxPredictor(small_onnx).generate(templates, search)[0].dtype == torch.int64


def test_safe_text():
    assert safe_text("a\x1b[2Jb\u202ec\n\t\x00é漢") == "a\\x1b[2Jb\\u202ec\\x0a\\x09\\x00é漢"
    assert safe_text("\U000e0001") == "\\U000e0001"  # a tag character (format category)


def test_info_and_convert_print_file_names_escaped(tmp_path, capsys, small_model):
    path = tmp_path / "a\x1b[2J\u202eb.safetensors"
    save_safetensors(small_model, path, {"window_power": 2.0})
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "a\\x1b[2J\\u202eb.safetensors: small: ViT 32x1" in out and "window_power=2.0" in out
    assert main(["convert", str(path), str(tmp_path / "c\x07.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "wrote " in out and "c\\x07.safetensors" in out and not any(c in out for c in RAW)


def test_convert_never_writes_over_its_input(tmp_path, capsys, small_model):
    source = tmp_path / "w.safetensors"
    save_safetensors(small_model, source)
    before = source.read_bytes()
    os.symlink(source, tmp_path / "link.safetensors")
    os.link(source, tmp_path / "hard.safetensors")
    for target in (
        source,
        tmp_path / "link.safetensors",
        tmp_path / "hard.safetensors",
        tmp_path / "." / "w.safetensors",
    ):
        assert main(["convert", str(source), str(target)]) == 2
        one_error_line(capsys, "would be overwritten")
    assert source.read_bytes() == before
    (tmp_path / "file").write_text("")
    assert main(["convert", str(source), str(tmp_path / "file" / "out.safetensors")]) == 2
    one_error_line(capsys, "is a file, not a folder")
    assert main(["convert", str(source), str(tmp_path)]) == 2
    one_error_line(capsys, "is a folder")
    assert main(["convert", str(source), str(tmp_path / "new" / "out.safetensors")]) == 0  # folders are made
    assert read_header(tmp_path / "new" / "out.safetensors").model_config() == small_model.config


def test_convert_writes_atomically(tmp_path, small_model, monkeypatch):
    source, target = tmp_path / "w.safetensors", tmp_path / "out.safetensors"
    save_safetensors(small_model, source)
    target.write_bytes(b"previous content")

    def failing(descriptor):  # the disk fills up once the new file is written, before it replaces the old
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(InputError, match="No space left on device"):
        from seqtrack.model.weights import convert_checkpoint

        convert_checkpoint(source, target)
    assert target.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.safetensors", "w.safetensors"]  # no temporary left


def test_onnx_with_external_data_is_refused(tmp_path, small_onnx):
    """An initializer kept in an external file would make ONNX Runtime read whatever path it names."""
    import onnx

    proto = onnx.load(str(small_onnx))
    init = proto.graph.initializer[0]
    init.data_location = onnx.TensorProto.EXTERNAL
    entry = init.external_data.add()
    entry.key, entry.value = "location", "weights.bin"  # onnx.save itself refuses ".." here
    onnx.save(proto, str(tmp_path / "external.onnx"))
    with pytest.raises(OnnxError, match="external files"):
        OnnxPredictor(tmp_path / "external.onnx")
