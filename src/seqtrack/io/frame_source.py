"""`FrameSource`, the iterator every frame source implements (see `seqtrack.io.sources` for the kinds).

A source yields ``(index, frame_rgb)`` pairs, ``frame_rgb`` an ``(H, W, 3)`` uint8 RGB array and
``index`` its 0-based position in the whole source. Subclasses implement `FrameSource._read` (decode
the next frame) and `FrameSource._release` (free the handle); this base class handles ``start_frame``,
``max_frames``, the first frame decoded at open time, closing, and ending for good after an error.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

import numpy as np

from seqtrack.errors import InputError
from seqtrack.io.files import Closeable

DEFAULT_FPS = 30.0
"""Frame rate reported for image sequences, and for videos/streams/cameras that announce none."""


class FrameSource(ABC, Closeable):
    """An open source of RGB frames: iterate it for ``(index, frame_rgb)``; close it when done.

    A single-pass iterator (a camera or a video cannot rewind cheaply); use it as a context manager so
    the underlying capture is released. Attributes (read-only by convention):

    Attributes:
        kind: ``"video"``, ``"stream"``, ``"images"`` or ``"camera"``.
        name: human-readable description, e.g. ``"video 'clip.mp4'"``, used in messages.
        fps: frames per second (``DEFAULT_FPS`` = 30 for images and for sources announcing none).
        frame_size: ``(H, W)`` of every frame, known once the source is open (the first frame is
            decoded at open time), or ``None`` if the source yields nothing.
        start_frame: index of the first frame yielded.
        num_frames: how many frames iteration will yield (after ``start_frame`` / ``max_frames``),
            or ``None`` when unknown (cameras, streams). For a video this relies on the container's
            announced count, which may be a frame or two more than decode (see ``short_by``).
        total_frames: frames in the whole source as announced, or ``None`` when unknown.
        short_by: how many announced frames were missing when the source ended normally: 0 unless a
            video decoded slightly fewer frames than its container announced (the count is a hint; a
            small shortfall at the very end is a normal end, not an error). Final once iteration ended.
        note: ``None``, or one line for the user about how the source ended (today: a video that
            decoded fewer frames than its container announced), to print after the run.
    """

    kind: str
    name: str
    fps: float
    frame_size: tuple[int, int] | None
    start_frame: int
    num_frames: int | None
    total_frames: int | None
    short_by: int
    note: str | None

    def __init__(self, *, start_frame: int, max_frames: int | None) -> None:
        self.start_frame = start_frame
        self.short_by = 0
        self.note = None
        self._max_frames = max_frames
        self._next_index = start_frame
        self._yielded = 0
        self._done = False
        # The first frame is decoded when the source opens (for frame_size and to fail early);
        # it waits here until the first __next__.
        self._pending: np.ndarray | None = None

    # -- subclass hooks -------------------------------------------------------------------------
    @abstractmethod
    def _read(self, index: int) -> np.ndarray | None:
        """Decode frame ``index`` (always the next one in order) as RGB; ``None`` at a clean end.

        Raises `InputError` naming ``index`` when the frame exists but cannot be read.
        """

    @abstractmethod
    def _release(self) -> None:
        """Free the underlying handle (capture device); called by `close`, possibly twice."""

    # -- shared machinery -----------------------------------------------------------------------
    def _limit_count(self, available: int | None) -> int | None:
        """``num_frames`` from the frames available after ``start_frame`` and ``max_frames``."""
        if available is None:
            return None
        available = max(0, available)
        return available if self._max_frames is None else min(available, self._max_frames)

    def _prime(self) -> None:
        """Decode the first frame to be yielded, so ``frame_size`` is known and a dead source fails now."""
        if self._max_frames == 0:
            self.frame_size = None
            return
        try:
            first = self._read(self._next_index)
        except BaseException:
            self.close()
            raise
        if first is None:
            self.close()
            raise InputError(f"{self.name} has no frame at start_frame {self.start_frame}")
        self._pending = first
        self.frame_size = (int(first.shape[0]), int(first.shape[1]))

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        return self

    def __next__(self) -> tuple[int, np.ndarray]:
        if self._done or (self._max_frames is not None and self._yielded >= self._max_frames):
            self._done = True
            raise StopIteration
        index = self._next_index
        if self._pending is not None:
            frame, self._pending = self._pending, None
        else:
            try:
                frame = self._read(index)
            except BaseException:
                self._done = True  # after an error the source stays finished
                raise
            if frame is None:
                self._done = True
                raise StopIteration
        self._next_index += 1
        self._yielded += 1
        return index, frame

    def close(self) -> None:
        """Release the source; further iteration yields nothing. Safe to call twice."""
        self._done = True
        self._pending = None
        self._release()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.name} fps={self.fps:g} frame_size={self.frame_size} "
            f"start_frame={self.start_frame} num_frames={self.num_frames}>"
        )
