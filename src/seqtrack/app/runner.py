"""One tracking run of the web app, in a worker thread of its own so that the server keeps serving.

The run is ``seqtrack track``'s loop (`seqtrack.tracking.loop.track_frames` over `open_source`, a `BoxWriter`
with one line per frame, an `AnnotatedVideoWriter`), and hands each frame to the page as an event: the
annotated frame as JPEG, the boxes, the scores and the tracker's frame rate. Pause, resume and stop are
flags the loop looks at between frames; whatever ends the run, the files are closed and keep what was
tracked.

Events (dicts, JSON for the page), in order: ``status`` (the model is loading), ``start``, one ``frame`` per
frame, ``paused``/``resumed`` when asked, and one ``end`` (``state``: ``done``, ``stopped`` or ``error``).
"""

from __future__ import annotations

import base64
import math
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seqtrack.app.media import VideoEntry, jpeg_bytes
from seqtrack.app.options import AppConfig, RunRequest, tracker_arguments
from seqtrack.errors import SeqTrackError

END = None  # the last item of `TrackingRun.events`
VIDEO_NAME = "tracked.mp4"
EVENT_BUFFER = 16  # frames queued for a slow page before the run waits for it


@dataclass
class RunOutputs:
    """The files of a run, in its own folder: the box files (``seqtrack track``'s names) and the video."""

    folder: Path
    boxes: list[Path]
    video: Path | None = None
    frames: int = 0

    def names(self) -> list[str]:
        """The file names the page may download (the video only once it holds frames)."""
        names = [p.name for p in self.boxes]
        if self.video is not None and self.frames > 0:
            names.append(self.video.name)
        return names


class TrackerCache:
    """The last tracker built, reused while the settings stay the same (loading weights takes a while)."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._tracker = None
        self._lock = threading.Lock()

    def get(self, weights: Path, arguments: dict[str, Any]):
        """A `Tracker` for ``weights`` built by `Tracker.from_pretrained(weights, **arguments)`."""
        from seqtrack.tracking.tracker import Tracker

        key = (str(weights), tuple(sorted((k, repr(v)) for k, v in arguments.items())))
        with self._lock:
            if key != self._key:
                self._tracker, self._key = None, None
                self._tracker, self._key = Tracker.from_pretrained(weights, **arguments), key
            return self._tracker


@dataclass
class _Stats:
    frames: int = 0
    compute: float = 0.0  # seconds inside the tracker's calls, as `seqtrack track` counts them
    scores: list[float] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / max(self.compute, 1e-9)


class TrackingRun:
    """Track ``request.boxes`` through ``video`` in a worker thread; read `events` until `END`.

    Args:
        config: the app's settings (weights, device, predictor options).
        request: the checked run request (boxes ``(N, 4)`` ``xywh`` pixels on ``request.start_frame``).
        video: the video to track; folder: where the outputs go (created); cache: the tracker cache.
    """

    def __init__(
        self, config: AppConfig, request: RunRequest, video: VideoEntry, folder: Path, cache: TrackerCache
    ) -> None:
        self.config, self.request, self.video, self.cache = config, request, video, cache
        from seqtrack.io.boxes import layout_paths

        # seqtrack track's names: boxes.txt, or boxes_t0.txt, boxes_t1.txt ... for several targets
        ids = list(range(len(request.boxes))) if len(request.boxes) > 1 else None
        self.outputs = RunOutputs(
            folder, layout_paths(folder / "boxes.txt", "plain", target_ids=ids)[0], folder / VIDEO_NAME
        )
        self.events: queue.Queue = queue.Queue(maxsize=EVENT_BUFFER)
        self.state = "starting"  # starting, running, paused, done, stopped, error
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._thread = threading.Thread(target=self._work, name="seqtrack-app-run", daemon=True)

    # -- control, from the server's threads ------------------------------------------------------
    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the run to stop after the current frame (safe to call at any time, more than once)."""
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        """Hold the run before its next frame."""
        if not self.finished:
            self._running.clear()

    def resume(self) -> None:
        """Continue a paused run."""
        self._running.set()

    @property
    def finished(self) -> bool:
        """Whether the worker has ended (its files are closed)."""
        return self.state in ("done", "stopped", "error")

    def join(self, timeout: float | None = None) -> None:
        """Wait for the worker thread to end."""
        self._thread.join(timeout)

    # -- the worker ------------------------------------------------------------------------------
    def _emit(self, event: dict | None, *, always: bool = False) -> None:
        """Queue an event for the page; once stopped, drop frames nobody may read (never the end)."""
        while True:
            try:
                self.events.put(event, timeout=0.2)
                return
            except queue.Full:
                if self._stop.is_set() and not always:
                    return
                if self._stop.is_set():  # the page left: make room for the end marker
                    try:
                        self.events.get_nowait()
                    except queue.Empty:
                        pass

    def _wait_if_paused(self) -> None:
        if self._running.is_set():
            return
        self.state = "paused"
        self._emit({"type": "paused"})
        while not self._running.wait(0.2):
            pass
        if not self._stop.is_set():
            self.state = "running"
            self._emit({"type": "resumed"})

    def _work(self) -> None:
        stats, message = _Stats(), None
        try:
            self._emit({"type": "status", "message": "loading the model"})
            tracker = self.cache.get(self.config.weights, tracker_arguments(self.config, self.request))
            self.state = "running"
            self._track(tracker, stats)
            self.state = "stopped" if self._stop.is_set() else "done"
        except SeqTrackError as error:
            self.state, message = "error", self.video.explain(error)
        except Exception as error:  # a bug or an OS error: the page gets one line, the server keeps serving
            self.state, message = "error", f"the run failed: {type(error).__name__}: {error}"
        self.outputs.frames = stats.frames
        end = {
            "type": "end",
            "state": self.state,
            "message": message,
            "frames": stats.frames,
            "fps": round(stats.fps, 2) if stats.frames else None,
            "mean_score": float(np.mean(stats.scores)) if stats.scores else None,
            "downloads": self.outputs.names() if stats.frames else [],
        }
        self._emit(end, always=True)
        self._emit(END, always=True)

    def _track(self, tracker, stats: _Stats) -> None:
        """The loop of ``seqtrack track`` (`track_frames`, `BoxWriter`, `AnnotatedVideoWriter`), plus events."""
        from seqtrack.io.annotate import annotate_frame
        from seqtrack.io.boxes import BoxWriter
        from seqtrack.io.sources import open_source
        from seqtrack.io.video import AnnotatedVideoWriter
        from seqtrack.tracking.loop import track_frames
        from seqtrack.tracking.tracker import validate_init_box

        request, boxes = self.request, np.asarray(self.request.boxes, dtype=np.float64)  # (N, 4) xywh pixels
        self.outputs.folder.mkdir(parents=True, exist_ok=True)
        video = None
        source = open_source(self.video.path, start_frame=request.start_frame, max_frames=request.max_frames)
        with source:
            for k, box in enumerate(boxes):
                validate_init_box(box, source.frame_size, f"box {k + 1}" if len(boxes) > 1 else "box")
            self._emit({"type": "start", "frames": source.num_frames, "fps": source.fps, "targets": len(boxes)})
            writer = BoxWriter(self.outputs.folder / "boxes.txt", targets=len(boxes) if len(boxes) > 1 else None)
            self.outputs.boxes = list(writer.paths)
            try:
                with writer:
                    for step in track_frames(tracker, source, boxes, many=True):
                        scores = [None if math.isnan(s) else s for s in step.result.scores.tolist()]
                        writer.write_frame(step.result.boxes, step.result.scores.tolist())
                        if request.write_video:
                            if video is None:
                                video = AnnotatedVideoWriter(self.outputs.video, source.fps, step.frame.shape[:2])
                            video.write(step.frame, step.result.boxes, scores, frame_index=step.index)
                        stats.frames += 1
                        stats.compute += step.seconds
                        if not step.first:
                            stats.scores.extend(s for s in scores if s is not None)
                        image = annotate_frame(step.frame, step.result.boxes, scores, frame_index=step.index)
                        self._emit(self._frame_event(step, scores, stats, image))
                        self._wait_if_paused()
                        if self._stop.is_set():
                            break
            finally:
                self.outputs.frames = stats.frames
                if video is not None:
                    video.close()
                else:
                    self.outputs.video = None

    def _frame_event(self, step, scores: list[float | None], stats: _Stats, image: np.ndarray) -> dict:
        return {
            "type": "frame",
            "index": step.index,
            "count": stats.frames,
            "boxes": step.result.boxes.tolist(),
            "scores": scores,
            "fps": round(stats.fps, 2),
            "seconds": step.seconds,
            "jpeg": base64.b64encode(jpeg_bytes(image)).decode("ascii"),
        }


__all__ = ["END", "RunOutputs", "TrackerCache", "TrackingRun", "VIDEO_NAME"]
