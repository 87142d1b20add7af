"""The SeqTrack network, its parts and its weights."""

from seqtrack.model.seqtrack import SeqTrack

__all__ = ["SeqTrack"]
