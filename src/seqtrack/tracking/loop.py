"""The one "initialise on the first frame, track the rest" loop, used by ``seqtrack track``, the
benchmark runner and the speed benchmark, so that all three time and drive a tracker the same way."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from seqtrack.errors import InputError


class SingleTargetTracker(Protocol):
    """What `track_frames` drives for one target (a `Tracker`, or a baseline such as an OpenCV tracker)."""

    def init(self, frame: np.ndarray, box_xywh: np.ndarray) -> Any: ...

    def track(self, frame: np.ndarray) -> Any: ...


@dataclass(frozen=True)
class TrackedFrame:
    """One step of `track_frames`.

    Attributes:
        index: the frame's index in its source (``start_frame`` for the init frame of a file source).
        frame: ``(H, W, 3)`` uint8 RGB, the frame that was tracked.
        result: what the tracker's ``init``/``track`` (or ``init_many``/``track_many``) returned.
        seconds: wall time of that call alone (reading and decoding the frame are not included,
            as in pytracking's timing).
        first: True for the init frame.
    """

    index: int
    frame: np.ndarray
    result: Any
    seconds: float
    first: bool


def track_frames(
    tracker, frames: Iterable[tuple[int, np.ndarray]], box_xywh, *, many: bool = False
) -> Iterator[TrackedFrame]:
    """Initialise ``tracker`` on the first frame, track every later one, yield each step as it happens.

    Args:
        tracker: anything with ``init``/``track`` (``many=False``) or ``init_many``/``track_many``.
        frames: ``(index, (H, W, 3) uint8 RGB)`` pairs, e.g. a `seqtrack.io.sources.FrameSource`; read
            lazily, so a source that breaks mid-way raises after the steps before it were yielded.
        box_xywh: ``(4,)`` top-left pixel box on the first frame, or ``(N, 4)`` boxes with ``many=True``.
    Raises:
        InputError: the frames are empty.
    """
    start, step = (tracker.init_many, tracker.track_many) if many else (tracker.init, tracker.track)
    first = True
    for index, frame in frames:
        tick = time.perf_counter()
        result = start(frame, box_xywh) if first else step(frame)
        yield TrackedFrame(index=index, frame=frame, result=result, seconds=time.perf_counter() - tick, first=first)
        first = False
    if first:
        raise InputError("the source yielded no frames")


__all__ = ["track_frames", "TrackedFrame", "SingleTargetTracker"]
