"""The SeqTrack network, its parts and its weights.

``SeqTrack`` is imported on first use, so that importing ``seqtrack.cli.model`` (which every
``seqtrack`` command line does, ``--help`` included) does not load torch.
"""

from __future__ import annotations

import importlib

__all__ = ["SeqTrack"]


def __getattr__(name: str):
    if name != "SeqTrack":
        raise AttributeError(f"module 'seqtrack.model' has no attribute {name!r}")
    value = importlib.import_module("seqtrack.model.seqtrack").SeqTrack
    globals()[name] = value
    return value
