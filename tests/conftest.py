"""Shared fixtures: the golden files made by the official code, and the tiny golden network."""

from __future__ import annotations

import pytest
import torch

from support import golden_file


@pytest.fixture(scope="session")
def golden_model_data() -> dict:
    return torch.load(golden_file("tiny_model.pt"), weights_only=True)


@pytest.fixture(scope="session")
def tiny_config():
    from seqtrack.config import DecoderConfig, EncoderConfig, ModelConfig

    return ModelConfig(
        encoder=EncoderConfig(embed_dim=64, depth=2, num_heads=4),
        decoder=DecoderConfig(hidden_dim=32, num_heads=4, num_layers=2, dim_feedforward=64),
        template_size=128,
        search_size=128,
        name="tiny",
    )


@pytest.fixture(scope="session")
def golden_model(tiny_config):
    from seqtrack.model.weights import load_model

    return load_model(golden_file("tiny_official_checkpoint.pth.tar"), config=tiny_config)
