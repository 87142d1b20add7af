"""Run a tracker over the sequences of a benchmark: parallel, resumable, failure-tolerant.

* **Parallel**: ``workers > 1`` starts that many processes (``spawn`` by default, safe with torch and
  threads); each builds its own tracker from the picklable `TrackerSpec` and pulls sequences from a
  queue. ``workers <= 1`` runs in this process. `RunOptions.devices` places the workers on several
  devices round-robin (each gets its own copy of the spec, `worker_spec`). Several machines share a
  benchmark by running one share each (`seqtrack.evaluate.scale`) into one folder (`RunOptions.shared`).
* **Resumable**: a sequence's result files are written only when it is complete, each atomically
  (`seqtrack.evaluate.results.atomic_write_text`); a re-run skips sequences whose files are complete.
  A result that cannot be written (full disk) stops the run with one error; what was written stays.
  Killing the run at any moment loses at most the sequences in flight. Workers also exit on their own
  when the main process disappears (checked every frame), so a killed run leaves no orphans writing.
* **Failure-tolerant**: an exception in one sequence (unreadable frame, tracker error, even a worker
  crash) is recorded and the others go on; `RunSummary.failed` lists them at the end.
* **Progress**: tqdm bars over sequences and over frames (the frame bar's rate is the overall fps).

Timing: each frame's time is the wall time of the ``init``/``track`` call alone (image decoding not
included), as in pytracking; `seqtrack.tracking.loop.track_frames` drives and times the tracker.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from seqtrack.data.sequence import Sequence
from seqtrack.errors import DatasetError, SeqTrackError
from seqtrack.evaluate.benchmarks.base import LAYOUT_PYTRACKING, Benchmark
from seqtrack.evaluate.results import ResultsWriteError, is_complete, remove_stale_temp_files, write_result
from seqtrack.evaluate.scale import Launch, remove_share_temp_files
from seqtrack.evaluate.trackers import TrackerLike, TrackerSpec, box_and_score, build_tracker
from seqtrack.io.images import read_rgb
from seqtrack.tracking.loop import track_frames

# How often a worker reports frame progress to the main process (seconds).
_PROGRESS_INTERVAL = 0.2


@dataclass(frozen=True)
class RunOptions:
    """Where and how to write results.

    Attributes:
        results_dir: folder that receives the per-sequence files.
        layout: ``"pytracking"`` or ``"got10k"`` (the benchmark's `BenchmarkInfo.layout`).
        integer_boxes: truncate boxes to integers like the official toolkit (default: exact floats).
        workers: number of worker processes; ``<= 1`` runs in the calling process.
        progress: show tqdm progress bars (on stderr).
        start_method: multiprocessing start method for workers (``"spawn"`` or ``"forkserver"``).
        devices: devices the workers take round-robin (worker ``k``: ``devices[k % len(devices)]``; in
            this process: the first); empty: the spec's own ``device`` everywhere.
        shared: other processes, perhaps on other machines, write other sequences into the same folder
            (a torchrun launch): only the temp files of this run's sequences are cleaned up, as a writer's
            pid says nothing about whether a writer on another machine is alive.
    """

    results_dir: Path
    layout: str = LAYOUT_PYTRACKING
    integer_boxes: bool = False
    workers: int = 1
    progress: bool = True
    start_method: str = "spawn"
    devices: tuple[str, ...] = ()
    shared: bool = False


@dataclass(frozen=True)
class TrackedSequence:
    """Output of one sequence: ``boxes (N, 4)`` xywh pixels (row 0 = init box), ``times (N,)``
    seconds, ``scores (N,)`` (NaN where the tracker gives none; row 0 is NaN)."""

    boxes: np.ndarray
    times: np.ndarray
    scores: np.ndarray


@dataclass
class RunSummary:
    """What a run did: sequences computed now, skipped (already complete), failed (name -> reason)."""

    completed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no sequence failed."""
        return not self.failed


def track_sequence(
    tracker: TrackerLike,
    seq: Sequence,
    on_frame: Callable[[], None] | None = None,
) -> TrackedSequence:
    """Initialise ``tracker`` on the first frame with ``seq.init_box`` and track every later frame
    (`seqtrack.tracking.loop.track_frames`, the loop ``seqtrack track`` runs too).

    Args:
        tracker: any `TrackerLike`.
        seq: the sequence (its first GT row must be a finite box).
        on_frame: called after each frame (progress reporting, cancellation checks).
    """
    count = len(seq.frames)
    if count == 0:
        raise DatasetError(f"sequence {seq.name!r} has no frames")
    init_box = seq.init_box
    if not np.isfinite(init_box).all() or init_box[2] <= 0 or init_box[3] <= 0:
        raise DatasetError(f"sequence {seq.name!r}: first-frame box {init_box.tolist()} is not a valid xywh box")
    boxes = np.empty((count, 4))
    times = np.empty(count)
    scores = np.full(count, np.nan)
    # A lazy generator: each frame is decoded before the loop starts its clock, so times exclude decoding.
    frames = ((index, read_rgb(path, error=DatasetError)) for index, path in enumerate(seq.frames))
    for step in track_frames(tracker, frames, init_box.copy()):
        if step.first:
            boxes[0] = init_box  # row 0 is the given box, whatever init returned
        else:
            boxes[step.index], scores[step.index] = box_and_score(step.result)
        times[step.index] = step.seconds
        if on_frame is not None:
            on_frame()
    return TrackedSequence(boxes=boxes, times=times, scores=scores)


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


def _run_and_save(tracker: TrackerLike, seq: Sequence, options: RunOptions, on_frame: Callable[[], None]) -> None:
    result = track_sequence(tracker, seq, on_frame)
    write_result(options.results_dir, seq.name, result.boxes, result.times, options.layout, options.integer_boxes)


def worker_spec(spec: TrackerSpec, options: RunOptions, worker_id: int) -> TrackerSpec:
    """The spec of worker ``worker_id`` (0 in this process): ``spec`` on its round-robin device."""
    if not options.devices:
        return spec
    return replace(spec, device=options.devices[worker_id % len(options.devices)])


def _clean_temp_files(options: RunOptions, sequences: list[Sequence]) -> None:
    """Remove what killed writers left: in the whole folder, or only for ``sequences`` when it is shared."""
    if options.shared:
        remove_share_temp_files(Path(options.results_dir), sequences, options.layout)
    else:
        remove_stale_temp_files(Path(options.results_dir))


def with_preset(spec: TrackerSpec, benchmark: Benchmark) -> TrackerSpec:
    """``spec`` with the benchmark's update preset (docs/official-behaviour.md §4.4) unless it already names one."""
    return spec if spec.updates else replace(spec, updates=benchmark.update_preset)


def run_benchmark(spec: TrackerSpec, sequences: Iterable[Sequence], options: RunOptions) -> RunSummary:
    """Track every sequence whose results are not complete yet and write its result files.

    Args:
        spec: the tracker, used as is (`with_preset` fills in the benchmark's update preset).
        sequences: the benchmark sequences, in the order to run them.
        options: output folder, layout, workers...

    Returns:
        `RunSummary`; the run goes on past failing sequences.
    Raises:
        SeqTrackError: the tracker cannot be built from ``spec`` (in this process, or in every worker
            before any sequence was done); `ResultsWriteError`: a result file could not be written (full
            disk...): the run stops there, the files written before stay whole and no temp file is left.
    """
    options_dir = Path(options.results_dir)
    sequences = list(sequences)
    # The folder is made by the first result written (`write_result`), not here: a tracker that cannot be
    # built (unreadable weights, an absent device) must leave no empty results folder behind.
    _clean_temp_files(options, sequences)
    summary = RunSummary()
    pending = []
    for seq in sequences:
        if is_complete(options_dir, seq, options.layout):
            summary.skipped.append(seq.name)
        else:
            pending.append(seq)
    if not pending:
        return summary
    seq_bar = tqdm(total=len(pending), unit="seq", desc="sequences", disable=not options.progress, position=0)
    frame_bar = tqdm(
        total=sum(len(s.frames) for s in pending),
        unit="frame",
        desc="frames",
        disable=not options.progress,
        position=1,
        smoothing=0.05,
    )
    try:
        if options.workers <= 1:
            _run_in_process(spec, pending, options, summary, seq_bar, frame_bar)
        else:
            _run_in_workers(spec, pending, options, summary, seq_bar, frame_bar)
    finally:
        frame_bar.close()
        seq_bar.close()
    return summary


def _run_in_process(spec, pending, options, summary, seq_bar, frame_bar) -> None:
    # Alone on the machine (no other rank of a torchrun launch here): the network may take the free cores.
    alone = Launch.from_env().local_world_size <= 1
    try:
        tracker = build_tracker(replace(worker_spec(spec, options, 0), alone=alone))
    except SeqTrackError:
        raise  # bad input (missing weights, unknown kind): one clear line from the CLI
    except Exception as error:  # noqa: BLE001 - every sequence fails the same way
        reason = f"not run: tracker could not be built: {_one_line(error)}"
        summary.failed.update({s.name: reason for s in pending})
        return
    for seq in pending:
        seq_bar.set_postfix_str(seq.name, refresh=False)
        try:
            _run_and_save(tracker, seq, options, lambda: frame_bar.update(1))
        except ResultsWriteError:
            raise  # the disk, not the sequence: every later sequence would fail the same way
        except Exception as error:  # noqa: BLE001 - one bad sequence must not stop the benchmark
            summary.failed[seq.name] = _one_line(error)
        else:
            summary.completed.append(seq.name)
        seq_bar.update(1)


# --- worker processes ------------------------------------------------------------------------------


def _worker_main(worker_id: int, spec: TrackerSpec, options: RunOptions, tasks, events) -> None:
    """Body of one worker process: build the tracker, then run sequences until the None sentinel."""
    parent = multiprocessing.parent_process()

    def parent_gone() -> bool:
        return parent is not None and not parent.is_alive()

    try:
        tracker = build_tracker(spec)
    except BaseException as error:  # noqa: BLE001 - reported to the main process, which decides
        # A user error (bad weights, absent device) is passed on as its own message, for one error line.
        events.put(("fatal", worker_id, _one_line(error), str(error) if isinstance(error, SeqTrackError) else ""))
        return
    while True:
        seq = tasks.get()
        if seq is None or parent_gone():
            return
        events.put(("start", worker_id, seq.name))
        unreported = 0
        last_report = time.monotonic()

        def on_frame() -> None:
            nonlocal unreported, last_report
            unreported += 1
            if parent_gone():
                os._exit(3)  # the run was killed: stop now rather than write results nobody awaits
            if time.monotonic() - last_report >= _PROGRESS_INTERVAL:
                events.put(("frames", worker_id, unreported))
                unreported, last_report = 0, time.monotonic()

        try:
            _run_and_save(tracker, seq, options, on_frame)
        except ResultsWriteError as error:
            events.put(("frames", worker_id, unreported))
            events.put(("abort", worker_id, seq.name, str(error)))
            return
        except Exception as error:  # noqa: BLE001
            events.put(("frames", worker_id, unreported))
            events.put(("failed", worker_id, seq.name, _one_line(error) + _where(error)))
        else:
            events.put(("frames", worker_id, unreported))
            events.put(("done", worker_id, seq.name))


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    return f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""


class _Events:
    """The main process's view of the workers' events: progress bars, the summary, what is in flight, and
    why the run must stop (a worker that could not build its tracker, a result that could not be written)."""

    def __init__(self, pending: list[Sequence], summary: RunSummary, seq_bar, frame_bar) -> None:
        self.summary, self.seq_bar, self.frame_bar = summary, seq_bar, frame_bar
        self.remaining = {s.name for s in pending}
        self.in_flight: dict[int, str] = {}
        self.fatal = ""  # why a worker could not build its tracker (its error line)
        self.fatal_message = ""  # the same for a user error (bad weights...), as the error's own message
        self.abort = ""  # a result file could not be written: the run stops

    def handle(self, event: tuple) -> None:
        kind, worker_id = event[0], event[1]
        if kind == "frames":
            self.frame_bar.update(event[2])
        elif kind == "start":
            self.in_flight[worker_id] = event[2]
            self.seq_bar.set_postfix_str(event[2], refresh=False)
        elif kind in ("done", "failed", "abort"):
            self.end(worker_id, event[2], None if kind == "done" else event[3])
            if kind == "abort":
                self.abort = event[3]
        elif kind == "fatal":
            self.fatal, self.fatal_message = event[2], event[3]

    def end(self, worker_id: int, name: str, failure: str | None) -> None:
        """Sequence ``name`` of ``worker_id`` is over: done (``failure`` None) or failed."""
        self.in_flight.pop(worker_id, None)
        self.remaining.discard(name)
        if failure is None:
            self.summary.completed.append(name)
        else:
            self.summary.failed[name] = failure
        self.seq_bar.update(1)


def _run_in_workers(spec, pending, options, summary, seq_bar, frame_bar) -> None:
    context = multiprocessing.get_context(options.start_method)
    tasks, events = context.Queue(), context.Queue()
    for seq in pending:
        tasks.put(seq)
    n_workers = min(options.workers, len(pending))
    for _ in range(n_workers):
        tasks.put(None)
    workers = [
        context.Process(
            target=_worker_main, args=(i, worker_spec(spec, options, i), options, tasks, events), daemon=True
        )
        for i in range(n_workers)
    ]
    for process in workers:
        process.start()
    state = _Events(pending, summary, seq_bar, frame_bar)
    try:
        _follow(workers, events, state)
    finally:
        tasks.cancel_join_thread()  # leftover sentinels of a crashed worker must not block our exit
        for process in workers:
            if process.is_alive():
                process.terminate()
            process.join(timeout=5)
        tasks.close()
        events.close()
    if state.abort:
        # Workers stopped mid-write leave temp files: their processes are gone now, so they go too.
        _clean_temp_files(options, pending)
        raise ResultsWriteError(state.abort)
    if state.fatal_message and not summary.completed and not summary.failed:
        raise SeqTrackError(state.fatal_message)  # no worker could build the tracker: one error line
    reason = f"not run: tracker could not be built: {state.fatal}" if state.fatal else "not run: every worker exited"
    for name in [s.name for s in pending if s.name in state.remaining]:
        summary.failed[name] = reason


def _follow(workers: list, events, state: _Events) -> None:
    """Handle the workers' events until they have all exited (or one could not write a result)."""
    while not state.abort:
        try:
            state.handle(events.get(timeout=0.5))
            continue
        except queue.Empty:
            pass
        alive = [p for p in workers if p.is_alive()]
        for worker_id, process in enumerate(workers):
            if not process.is_alive() and worker_id in state.in_flight:
                # drain first: the worker may have reported before exiting
                _drain(events, state.handle)
                if worker_id in state.in_flight:
                    name = state.in_flight[worker_id]
                    state.end(worker_id, name, f"worker process died (exit code {process.exitcode})")
        if not alive:
            _drain(events, state.handle)
            break


def _drain(events, handle) -> None:
    while True:
        try:
            handle(events.get_nowait())
        except queue.Empty:
            return
