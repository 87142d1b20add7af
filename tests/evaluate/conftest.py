"""Shared fixtures of the evaluation tests: one generated benchmark of every layout per session, and the
weights of a tiny randomly initialised SeqTrack."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from seqtrack.evaluate.fixtures import write_all

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def bench_roots(tmp_path_factory) -> dict[str, Path]:
    """benchmark name -> ``--root`` of a 3-sequence x 12-frame generated dataset (read-only for tests)."""
    return write_all(tmp_path_factory.mktemp("benchmarks"))


@pytest.fixture
def doubles(monkeypatch) -> str:
    """Puts the test-double tracker module ``eval_doubles`` on sys.path; returns its folder."""
    monkeypatch.syspath_prepend(str(HERE))
    return str(HERE)


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """``tiny.safetensors``: a SeqTrack ``t128`` preset cut to one encoder block, seeded, untrained (its
    label is ``seqtrack-tiny``). Torch is imported here, not at collection, so torch-free tests stay so."""
    import torch

    from seqtrack import SeqTrack, model_preset, save_safetensors

    config = model_preset("t128")
    config = dataclasses.replace(config, encoder=dataclasses.replace(config.encoder, depth=1))
    torch.manual_seed(0)
    weights = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    save_safetensors(SeqTrack(config).eval(), weights)
    return weights
