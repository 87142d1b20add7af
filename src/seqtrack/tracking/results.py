"""What the tracker returns: `TrackResult` (one target, one frame) and `TrackResults` (N targets, numpy arrays).

numpy only, so that the torch-free ``--fast`` path (`seqtrack.runtime.fast_start`) returns the same objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

SCORE_SCALE = 10.0  # official confidence = 10 x the sum of the four token probabilities


@dataclass
class TrackResult:
    """What the tracker says about one target on one frame.

    Attributes:
        box: ``(4,)`` float64 ``xywh`` top-left pixels in the frame.
        score: official confidence, ``10 * sum(confidences)`` in ``[0, 40]`` (NaN on the init frame).
        template_updated: whether this frame's crop became the dynamic template.
        tokens: ``(4,)`` int64 generated tokens in the model's sequence format (``-1`` on the init frame).
        confidences: ``(4,)`` float64 probabilities of those tokens (centre steps Hann-weighted).
        frame_index: the tracker's frame counter (0 = init frame).
        seconds: wall time of the ``init``/``track`` call that produced it (crops, network, map-back);
            with several targets, the time of the whole batched call.
    """

    box: np.ndarray
    score: float
    template_updated: bool = False
    tokens: np.ndarray = field(default_factory=lambda: np.full(4, -1, dtype=np.int64))
    confidences: np.ndarray = field(default_factory=lambda: np.full(4, np.nan))
    frame_index: int = 0
    seconds: float = 0.0


@dataclass
class TrackResults:
    """What the tracker says about N targets on one frame (`Tracker.init_many` / `track_many`).

    Attributes:
        boxes: ``(N, 4)`` float64 ``xywh`` top-left pixels, in the order the targets were given.
        scores: ``(N,)`` float64 official confidences (NaN on the init frame).
        template_updated: ``(N,)`` bool.
        tokens: ``(N, 4)`` int64 (``-1`` on the init frame); confidences: ``(N, 4)`` float64.
        frame_index: the tracker's frame counter; seconds: wall time of the whole batched call.
    """

    boxes: np.ndarray
    scores: np.ndarray
    template_updated: np.ndarray
    tokens: np.ndarray
    confidences: np.ndarray
    frame_index: int = 0
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, target: int) -> TrackResult:
        """The `TrackResult` of one target."""
        return TrackResult(
            box=self.boxes[target].copy(),
            score=float(self.scores[target]),
            template_updated=bool(self.template_updated[target]),
            tokens=self.tokens[target].copy(),
            confidences=self.confidences[target].copy(),
            frame_index=self.frame_index,
            seconds=self.seconds,
        )

    def __iter__(self) -> Iterator[TrackResult]:
        return (self[i] for i in range(len(self)))

    @classmethod
    def at_init(cls, boxes: np.ndarray, seconds: float) -> TrackResults:
        """The init frame's results: the given ``(N, 4)`` boxes, NaN scores, no tokens."""
        count = len(boxes)
        return cls(
            boxes=np.array(boxes, dtype=np.float64),
            scores=np.full(count, np.nan),
            template_updated=np.zeros(count, dtype=bool),
            tokens=np.full((count, 4), -1, dtype=np.int64),
            confidences=np.full((count, 4), np.nan),
            frame_index=0,
            seconds=seconds,
        )


__all__ = ["TrackResult", "TrackResults", "SCORE_SCALE"]
