"""Fixtures of the security tests: hostile weights files (built once per session), the marker their payloads
would create, and small inputs for every command that takes weights (frames, a benchmark, a training
config and data). Every test checks afterwards that the marker does not exist."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import pytest
import torch

from security import hostile


@pytest.fixture(scope="session")
def marker(tmp_path_factory) -> Path:
    """The file any payload would create (never created by anything else)."""
    return tmp_path_factory.mktemp("marker") / "pwned"


@pytest.fixture(autouse=True)
def nothing_ran(marker, monkeypatch):
    """After every test: no payload ran (the marker is absent) and the probe module was never imported."""
    monkeypatch.chdir(marker.parent)  # a payload writing relative paths would write here
    yield
    assert not marker.exists(), f"a payload ran: {marker.read_text()!r}"
    assert hostile.IMPORT_MODULE not in sys.modules


@pytest.fixture(scope="session")
def probe(tmp_path_factory, marker) -> Path:
    """A module whose import would create the marker, importable while the tests run."""
    return hostile.write_import_probe(tmp_path_factory.mktemp("probe"), marker)


@pytest.fixture
def probe_on_path(probe, monkeypatch) -> Path:
    monkeypatch.syspath_prepend(str(probe.parent))
    return probe


@pytest.fixture(scope="session")
def small_model():
    from seqtrack.model.seqtrack import SeqTrack

    torch.manual_seed(0)
    return SeqTrack(hostile.small_config()).eval()


@pytest.fixture(scope="session")
def small_onnx(tmp_path_factory, small_model) -> Path:
    """`small_model` as a valid ONNX graph (fp32, dynamic batch)."""
    from seqtrack.runtime.onnxruntime import float32_copy, write_onnx

    return write_onnx(float32_copy(small_model), tmp_path_factory.mktemp("onnx") / "small.onnx")


def _weights_files(folder: Path, marker: Path, state: dict) -> dict[str, Path]:
    """The hostile files every command is tried with (ONNX ones are separate: `hostile_onnx`)."""
    system = hostile.Payload(os.system, f"touch {marker}")
    files = {
        "torchscript .pth.tar": hostile.write_torchscript(folder / "scripted.pth.tar", marker),
        "torchscript .pt": hostile.write_torchscript(folder / "scripted.pt", marker),
        "pickle os.system": folder / "plain.pth",
        "zip os.system": folder / "zip.pth.tar",
        "legacy os.system": hostile.write_legacy(folder / "legacy.pth", {"net": state, "settings": system}),
        "bytearray bomb": folder / "bytearray_bomb.pth",
        "zip storage bomb": hostile.write_zip(
            folder / "zip_bomb.pth.tar", hostile.storage_pickle(1 << 36, legacy=False), extra={"data/0": b"\0" * 4}
        ),
        "legacy storage bomb": hostile.legacy_storage_bomb(folder / "legacy_bomb.pth", 1 << 36),
        "safetensors bins -5": hostile.write_safetensors(
            folder / "bins.safetensors", hostile.config_metadata(hostile.config_with("bins", -5))
        ),
        "safetensors depth 1e7": hostile.write_safetensors(
            folder / "depth.safetensors", hostile.config_metadata(hostile.config_with("encoder.depth", 10**7))
        ),
        "safetensors name escape": hostile.write_safetensors(
            folder / "name.safetensors", hostile.config_metadata(hostile.config_with("name", "\x1b[2J\u202e"))
        ),
    }
    files["pickle os.system"].write_bytes(hostile.raw_call("os", "system", f"touch {marker}", 2))
    torch.save({"net": state, "settings": system}, files["zip os.system"])
    files["bytearray bomb"].write_bytes(pickle.dumps(hostile.Payload(bytearray, 1 << 31), protocol=2))
    return files


@pytest.fixture(scope="session")
def hostile_weights(tmp_path_factory, marker, small_model) -> dict[str, Path]:
    """Name -> hostile weights file (see `_weights_files`)."""
    return _weights_files(tmp_path_factory.mktemp("hostile"), marker, small_model.state_dict())


@pytest.fixture(scope="session")
def hostile_onnx(tmp_path_factory, small_onnx) -> dict[str, Path]:
    """Name -> ONNX file whose metadata lies: invalid configs, and valid ones the graph does not have."""
    import json

    folder = tmp_path_factory.mktemp("hostile-onnx")
    configs = {
        "bins -5": hostile.config_with("bins", -5),
        "bins string": hostile.config_with("bins", "twenty"),
        "bins not the graph's": hostile.config_with("bins", 7),
        "search size not the graph's": hostile.config_with("search_size", 128),
        "template size not the graph's": hostile.config_with("template_size", 64),
        "templates not the graph's": hostile.config_with("num_templates", 1),
        "heads zero": hostile.config_with("encoder.num_heads", 0),
        "factor NaN": hostile.config_with("search_factor", float("nan")),
        "name escape": hostile.config_with("name", "\x1b]0;owned\x07"),
    }
    files = {
        name: hostile.write_onnx_metadata(small_onnx, folder / f"{i}.onnx", {"seqtrack_config": json.dumps(config)})
        for i, (name, config) in enumerate(configs.items())
    }
    files["config not JSON"] = hostile.write_onnx_metadata(small_onnx, folder / "j.onnx", {"seqtrack_config": "{"})
    files["precision escape"] = hostile.write_onnx_metadata(
        small_onnx, folder / "p.onnx", {"seqtrack_precision": "\x1b[2J"}
    )
    return files


@pytest.fixture(scope="session")
def frames(tmp_path_factory) -> Path:
    """A folder of three 64 x 64 frames for ``seqtrack track``."""
    import cv2
    import numpy as np

    folder = tmp_path_factory.mktemp("frames")
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), np.full((64, 64, 3), 60 * i, np.uint8))
    return folder


@pytest.fixture(scope="session")
def benchmark_root(tmp_path_factory) -> Path:
    """A one-sequence generated OTB benchmark for ``seqtrack eval``."""
    from seqtrack.evaluate.fixtures import FixtureSpec, write_benchmark

    return write_benchmark("otb", tmp_path_factory.mktemp("otb"), FixtureSpec(n_sequences=1, n_frames=4))


@pytest.fixture(scope="session")
def train_setup(tmp_path_factory) -> tuple[Path, Path]:
    """``(config, data root)`` of a tiny ``seqtrack train`` run (t128 cut to one block at 64 px)."""
    import yaml

    from seqtrack.data.synthetic import write_dataset

    folder = tmp_path_factory.mktemp("train")
    write_dataset(folder / "data" / "synthetic", 2, 8, size=(64, 64), seed=0)
    config = {
        "preset": "t128",
        "model": {"encoder": {"depth": 1}, "template_size": 64, "search_size": 64, "bins": 32},
        "train": {
            "datasets": ["SYNTHETIC"],
            "dataset_ratios": [1.0],
            "samples_per_epoch": 2,
            "batch_size": 1,
            "epochs": 1,
            "num_workers": 0,
        },
    }
    (folder / "tiny.yaml").write_text(yaml.safe_dump(config))
    return folder / "tiny.yaml", folder / "data"
