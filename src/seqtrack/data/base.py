"""The small interface every training dataset implements, for the pair sampler.

A training dataset is an indexable collection of `Sequence` records. Readers index files only; pixels
are read later, by the processing step, from ``Sequence.frames``. Visibility follows docs/official-behaviour.md §5.1
and is
exposed through ``Sequence.target_visible()`` (the ``visible`` flags, and positive box size).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from seqtrack.data.sequence import Sequence


class TrainingDataset(ABC):
    """Base class of LaSOT / GOT-10k / TrackingNet / COCO / synthetic training datasets.

    Attributes:
        name: short dataset name (``"lasot"``, ``"got10k_vottrain"``, ``"coco"``...).
        is_video: False for image datasets (every item is a one-frame sequence that the sampler
            duplicates into the template and search frames, docs/official-behaviour.md §5.1 step 4).
    """

    name: str = ""
    is_video: bool = True

    @abstractmethod
    def __len__(self) -> int:
        """Number of sequences."""

    @abstractmethod
    def sequence(self, index: int) -> Sequence:
        """The ``index``-th sequence (``0 <= index < len(self)``); reads annotations, never pixels."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, sequences={len(self)})"
