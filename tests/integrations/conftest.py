"""Fixtures of the integration tests: the weights of a tiny randomly initialised SeqTrack."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """``tiny.safetensors``: the ``t128`` preset cut to one encoder block, seeded, untrained: fast enough to
    track a generated benchmark twice in a few seconds. Torch is imported here, not at collection."""
    import torch

    from seqtrack import SeqTrack, model_preset, save_safetensors

    config = model_preset("t128")
    config = dataclasses.replace(config, encoder=dataclasses.replace(config.encoder, depth=1))
    torch.manual_seed(0)
    weights = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    save_safetensors(SeqTrack(config).eval(), weights)
    return weights
