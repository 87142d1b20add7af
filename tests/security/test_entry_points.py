"""Every command that takes weights refuses each hostile file with one ``seqtrack: error:`` line, before
running anything from it: ``load_model``, ``info``, ``convert``, ``track`` (torch and ONNX Runtime),
``export``, ``eval``, ``train --init`` and ``train --mae``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from security.test_metadata import one_error_line
from seqtrack.cli import main
from seqtrack.errors import CheckpointError
from seqtrack.model.weights import load_model

WEIGHTS = (
    "torchscript .pth.tar",
    "torchscript .pt",
    "pickle os.system",
    "zip os.system",
    "legacy os.system",
    "bytearray bomb",
    "zip storage bomb",
    "legacy storage bomb",
    "safetensors bins -5",
    "safetensors depth 1e7",
    "safetensors name escape",
)
ONNX = (
    "bins -5",
    "bins string",
    "bins not the graph's",
    "search size not the graph's",
    "templates not the graph's",
    "heads zero",
    "factor NaN",
    "name escape",
    "config not JSON",
)
REPO = Path(__file__).resolve().parents[2]


def command(entry: str, weights: Path, tmp_path: Path, frames: Path, benchmark: Path, train: tuple) -> list[str]:
    """The command line of ``entry`` with ``weights`` (every other input valid)."""
    track = ["track", str(frames), "--weights", str(weights), "--box", "10,10,20,20", "--out", str(tmp_path / "b.txt")]
    config, data = train
    fit = ["train", str(config), "--data-root", str(data), "--out", str(tmp_path / "run"), "--no-progress"]
    return {
        "info": ["info", str(weights)],
        "convert": ["convert", str(weights), str(tmp_path / "out.safetensors")],
        "track": [*track, "-q"],
        "track onnxruntime": [*track, "-q", "--backend", "onnxruntime"],
        "export": ["export", "--weights", str(weights), "--out", str(tmp_path / "out.onnx")],
        "eval": [
            *("eval", "otb", "--root", str(benchmark), "--weights", str(weights), "--no-progress"),
            *("--results", str(tmp_path / "r")),
        ],
        "eval onnxruntime": [
            *("eval", "otb", "--root", str(benchmark), "--weights", str(weights), "--no-progress"),
            *("--results", str(tmp_path / "r"), "--backend", "onnxruntime"),
        ],
        "train --init": [*fit, "--init", str(weights), "--device", "cpu"],
        "train --mae": [*fit, "--mae", str(weights), "--device", "cpu"],
    }[entry]


@pytest.mark.parametrize("name", WEIGHTS)
def test_load_model(hostile_weights, name):
    with pytest.raises(CheckpointError) as info:
        load_model(hostile_weights[name])
    assert str(hostile_weights[name]) in str(info.value) and "\n" not in str(info.value)


ENTRIES = ("info", "convert", "track", "track onnxruntime", "export", "eval", "train --init", "train --mae")


@pytest.mark.parametrize("name", WEIGHTS)
@pytest.mark.parametrize("entry", ENTRIES)
def test_every_command_refuses_hostile_weights(
    tmp_path, capsys, hostile_weights, frames, benchmark_root, train_setup, entry, name
):
    path = hostile_weights[name]
    assert main(command(entry, path, tmp_path, frames, benchmark_root, train_setup)) == 2
    one_error_line(capsys, str(path))
    assert not (tmp_path / "out.safetensors").exists() and not (tmp_path / "out.onnx").exists()
    assert not (tmp_path / "run" / "checkpoint_ep0001.safetensors").exists()  # no training happened


@pytest.mark.parametrize("name", ONNX)
@pytest.mark.parametrize("entry", ["info", "track onnxruntime", "eval onnxruntime"])
def test_every_command_refuses_lying_onnx(tmp_path, capsys, hostile_onnx, frames, benchmark_root, entry, name):
    path = hostile_onnx[name]
    assert main(command(entry, path, tmp_path, frames, benchmark_root, (None, None))) == 2
    one_error_line(capsys, str(path))


def test_valid_onnx_tracks(tmp_path, capsys, small_onnx, frames):
    """The checks do not refuse a graph that matches its config."""
    assert main(command("track onnxruntime", small_onnx, tmp_path, frames, Path(), (None, None))) == 0
    assert len((tmp_path / "b.txt").read_text().splitlines()) == 3


@pytest.mark.parametrize("name", ["torchscript .pth.tar", "safetensors name escape"])
def test_no_traceback_in_a_real_process(tmp_path, hostile_weights, frames, name):
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), OMP_NUM_THREADS="1")
    args = command("track", hostile_weights[name], tmp_path, frames, Path(), (None, None))
    run = subprocess.run(
        [sys.executable, "-m", "seqtrack", *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and not any(c in run.stderr for c in "\x1b\u202e")
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seqtrack: error:"), run.stderr
