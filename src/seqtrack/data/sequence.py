"""The one record every dataset and benchmark reader returns.

A `Sequence` indexes a video on disk (frame paths and annotations); it never holds pixels.
Readers for training (`seqtrack.data`) and for evaluation (`seqtrack.evaluate`) both produce it,
so the sampler, the runner and the metrics all speak the same type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Sequence:
    """One annotated video (or a single image, for image datasets such as COCO).

    Attributes:
        name: sequence identifier as the benchmark names it (e.g. ``"airplane-1"``, ``"GOT-10k_Test_000001"``).
        frames: paths of the frames, in temporal order; ``len(frames) == N``.
        boxes: ``(N, 4)`` float64 ground truth, ``xywh`` top-left pixels; rows may be NaN where the
            benchmark has no annotation (GOT-10k test keeps only the first row: ``(1, 4)``).
        visible: optional ``(N,)`` bool, ``True`` where the target is visible (dataset-specific rules:
            LaSOT = not fully occluded and not out of view; GOT-10k = not absent and cover > 0).
        dataset: name of the dataset/benchmark the sequence comes from (``"lasot"``, ``"got10k"``...).
        language: optional natural-language description (LaSOT, TNL2K).
        attributes: optional per-sequence attribute flags (benchmark attribute name -> bool), or
            per-frame arrays where the benchmark provides them.
        meta: anything else the reader knows (object class, frame-range offsets...).
    """

    name: str
    frames: list[Path]
    boxes: np.ndarray
    visible: np.ndarray | None = None
    dataset: str = ""
    language: str | None = None
    attributes: dict[str, object] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def init_box(self) -> np.ndarray:
        """``(4,)`` float64 ``xywh`` pixels: the box the tracker is initialised with (first frame)."""
        return np.asarray(self.boxes[0], dtype=np.float64)

    def target_visible(self) -> np.ndarray:
        """``(N,)`` bool: ``visible`` when known, else ``True`` wherever the box has positive w and h."""
        sized = np.isfinite(self.boxes).all(axis=1) & (self.boxes[:, 2] > 0) & (self.boxes[:, 3] > 0)
        if self.visible is None:
            return sized
        return np.asarray(self.visible, dtype=bool) & sized
