"""seqtrack: the SeqTrack visual object tracker (CVPR 2023) — model, tracker, training, evaluation.

Top-level names are imported lazily so that ``seqtrack --help`` and worker processes start without
paying for torch until they need it.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "SeqTrack": "seqtrack.model.seqtrack",
    "Tracker": "seqtrack.tracking.tracker",
    "TrackResult": "seqtrack.tracking.tracker",
    "TrackResults": "seqtrack.tracking.tracker",
    "load_model": "seqtrack.model.weights",
    "save_safetensors": "seqtrack.model.weights",
    "model_preset": "seqtrack.config",
    "ModelConfig": "seqtrack.config",
    "TrackerConfig": "seqtrack.config",
    "TrainConfig": "seqtrack.config",
    "ExperimentConfig": "seqtrack.config",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seqtrack' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
