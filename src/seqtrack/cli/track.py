"""``seqtrack track``: follow one or several objects through a video, an image folder or a camera."""

from __future__ import annotations

import argparse
import gc
import glob
import math
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seqtrack.cli import EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated
from seqtrack.cli.tracker_flags import add_tracker_setting_arguments, tracker_overrides
from seqtrack.errors import InputError

BOX_FLAGS = ("--box", "-b")
STARTUP_LOG_VARIABLE = "SEQTRACK_STARTUP_LOG"  # see `StartupLog`


class StartupLog:
    """Time stamps of the start-up stages, for ``benchmarks/startup.py``: when ``$SEQTRACK_STARTUP_LOG``
    names a file, each `mark` appends one ``STAGE SECONDS CPU`` line to it: ``SECONDS`` = `time.monotonic`,
    one clock for every process of the machine, so the benchmark compares it with its own reading taken just
    before it started this process; ``CPU`` = `time.process_time`, this process's CPU seconds so far (all
    its threads), which a busy machine inflates far less than wall time. Unset: nothing is written.

    Stages of ``seqtrack track``: ``command`` (the handler starts: interpreter, CLI and numpy imported),
    ``source`` (the source is open at its start frame), ``tracker`` (network built and loaded), ``init``
    (the init frame's line is written) and ``first_track`` (the first tracked frame's line is written).
    """

    def __init__(self, path: str | None) -> None:
        self.path = path or None

    @classmethod
    def from_environ(cls) -> StartupLog:
        """The log ``$SEQTRACK_STARTUP_LOG`` asks for (a disabled one when unset or empty)."""
        return cls(os.environ.get(STARTUP_LOG_VARIABLE))

    def mark(self, stage: str) -> None:
        """Append ``stage`` and the time now; a file that cannot be written is an `InputError`."""
        if self.path is None:
            return
        stamp, cpu = time.monotonic(), time.process_time()
        try:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(f"{stage} {stamp:.6f} {cpu:.6f}\n")
        except OSError as error:
            raise InputError(
                f"{STARTUP_LOG_VARIABLE}={self.path} cannot be written: {error.strerror or error}"
            ) from None


class CollectorPause:
    """Pauses Python's cyclic garbage collector from ``with`` until `resume`, and keeps what start-up made out
    of its way until the block ends; then restores the state it found (a collector the caller had disabled
    stays disabled).

    Start-up imports torch and builds the network: hundreds of thousands of objects that all stay alive,
    which the collector would traverse again and again for nothing (about 15 % of the CPU time to the first
    tracked frame, ``benchmarks/startup.py``). `resume` sets them aside (`gc.freeze`) rather than letting the
    first collection after the pause traverse them all; the block's end puts them back (`gc.unfreeze`).
    A caller who froze objects itself is left alone: nothing is frozen or unfrozen then.
    """

    def __init__(self) -> None:
        self._restore = self._may_freeze = self._froze = False

    def __enter__(self) -> CollectorPause:
        self._restore, self._may_freeze = gc.isenabled(), gc.get_freeze_count() == 0
        gc.disable()
        return self

    def resume(self) -> None:
        """Freeze what exists now and give the collector back its state (idempotent)."""
        if self._may_freeze and not self._froze:
            gc.freeze()
            self._froze = True
        if self._restore:
            gc.enable()
            self._restore = False

    def __exit__(self, *exc_info: object) -> None:
        if self._froze:
            gc.unfreeze()
            self._froze = False
        if self._restore:
            gc.enable()
            self._restore = False


def normalize_argv(argv: Sequence[str]) -> list[str]:
    """Attach a negative box to its flag: ``--box -10,-10,40,40`` becomes ``--box=-10,-10,40,40``.

    argparse takes any word that starts with ``-`` and is not a plain number for an option, so a box
    left of or above the frame would otherwise need the ``=`` form.
    """
    words = list(argv)
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":  # what follows is positional
            return out + words[i:]
        following = words[i + 1] if i + 1 < len(words) else None
        if word in BOX_FLAGS and following is not None and following.startswith("-") and _looks_like_box(following):
            out.append(f"--box={following}")
            i += 2
            continue
        out.append(word)
        i += 1
    return out


def _looks_like_box(text: str) -> bool:
    try:
        _parse_box(text)
    except argparse.ArgumentTypeError:
        return False
    return True


def _parse_box(text: str) -> list[float]:
    parts = text.replace(" ", "").split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"a box is x,y,w,h (four numbers), got {text!r}") from None
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"a box is x,y,w,h (four numbers), got {text!r}")
    return values


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "track",
        help="track objects in a video file, an image folder, a glob or a camera",
        description="Track one or several objects from their box on the first frame. Writes one "
        "'x,y,w,h,score' line per frame (first line = the init box) and, optionally, an annotated video.",
        epilog="example: seqtrack track clip.mp4 --weights seqtrack_b256.pth.tar --box 412,220,64,120 "
        "--out boxes.txt --video-out tracked.mp4",
    )
    parser.add_argument("source", help="video file, folder of images, glob pattern ('frames/*.jpg') or camera index")
    parser.add_argument(
        "--weights",
        "-w",
        default="demo",
        help="a model name (demo, b256, b384, l256, l384, *_got: see 'seqtrack models') or a weights file: official "
        ".pth.tar, our .safetensors, an exported .onnx (default: demo, the small model shipped with seqtrack)",
    )
    parser.add_argument(
        "--box",
        "-b",
        action="append",
        type=_parse_box,
        default=[],
        metavar="X,Y,W,H",
        help="target box on the first frame, top-left x, y, width, height in pixels; repeat for several targets",
    )
    parser.add_argument(
        "--box-file",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="read a target box from the first line of FILE (x,y,w,h); repeatable",
    )
    parser.add_argument(
        "--out",
        "-o",
        type=Path,
        default=Path("boxes.txt"),
        help="boxes file (default boxes.txt; several targets: boxes_t0.txt, boxes_t1.txt, ...)",
    )
    parser.add_argument("--video-out", type=Path, help="write an annotated video (.mp4 H.264 where available, .avi)")
    add_tracker_setting_arguments(parser)
    parser.add_argument("--start-frame", type=int, default=0, help="first frame to use (the init frame)")
    parser.add_argument("--max-frames", type=int, help="stop after this many frames")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1, ...)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    from seqtrack.runtime.options import add_predictor_arguments

    add_predictor_arguments(parser)
    parser.set_defaults(handler=run_track)


def _collect_boxes(args: argparse.Namespace) -> list[list[float]]:
    from seqtrack.io.boxes import read_box_file

    boxes = list(args.box)
    for path in args.box_file:
        track = read_box_file(path)
        if len(track.boxes) == 0:
            raise InputError(f"box file {path} holds no box")
        boxes.append(track.boxes[0].tolist())
    if not boxes:
        raise InputError("give the target with --box X,Y,W,H or --box-file FILE")
    return boxes


def _check_args(args: argparse.Namespace) -> None:
    if args.start_frame < 0:
        raise InputError(f"--start-frame must be >= 0, got {args.start_frame}")
    if args.max_frames is not None and args.max_frames < 1:
        raise InputError(f"--max-frames must be >= 1, got {args.max_frames}")


def _source_files(spec: str) -> dict[str, Path]:
    """The files a source reads, named for messages: a video or image file, the images of a folder, the
    matches of a glob (a camera: none). Found the way `seqtrack.io.sources.open_source` reads ``spec``."""
    from seqtrack.io.sources import IMAGE_EXTENSIONS

    path = Path(spec).expanduser()
    if path.is_dir():
        try:
            return {f"frame {p.name} of the source": p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS}
        except OSError:
            return {}  # open_source reports the unreadable folder
    if path.exists():
        return {"the source image" if path.suffix.lower() in IMAGE_EXTENSIONS else "the source video": path}
    if any(c in spec for c in "*?["):
        return {f"frame {m} of the source": Path(m) for m in glob.glob(os.path.expanduser(spec), recursive=True)}
    return {}


def _check_outputs(args: argparse.Namespace, weights: Path, targets: int) -> None:
    """Refuse, before anything is opened, outputs that would overwrite an input (the source, the weights,
    a box file) or each other, and destinations that cannot be written or a video type we cannot write."""
    from seqtrack.io.boxes import layout_paths
    from seqtrack.io.files import check_destination, refuse_overlaps

    if args.video_out is not None:
        from seqtrack.io.video import check_video_path  # the video writer only when a video is asked for

        check_video_path(args.video_out, "--video-out")
    ids = list(range(targets)) if targets > 1 else None
    box_paths, _ = layout_paths(Path(args.out).expanduser(), "plain", target_ids=ids)
    outputs: dict[str, Path | None] = {
        "--out" if ids is None else f"--out (target {i})": path for i, path in enumerate(box_paths)
    }
    outputs["--video-out"] = args.video_out
    inputs: dict[str, Path | None] = {**_source_files(str(args.source)), "the weights file": weights}
    inputs.update({f"--box-file {path}": path for path in args.box_file})
    refuse_overlaps(inputs, outputs)
    for name, path in outputs.items():
        if path is not None:  # written in place, as the run goes: the file itself must be writable
            check_destination(path, name, replace=False)


def _check_boxes(boxes: np.ndarray, frame_hw: tuple[int, int]) -> None:
    """Refuse boxes that cannot start a track; warn about a box that looks like corners ``x1,y1,x2,y2``."""
    from seqtrack.tracking.tracker import validate_init_box

    height, width = frame_hw
    for i, box in enumerate(boxes):
        label = f"target {i + 1} box" if len(boxes) > 1 else "box"
        validate_init_box(box, frame_hw, label)
        x, y, w, h = (float(v) for v in box)
        if (x + w > width or y + h > height) and x < w <= width and y < h <= height:
            print(
                f"warning: {label} {x:g},{y:g},{w:g},{h:g} runs past the edge of the {width}x{height} frame; "
                f"a box is x,y,WIDTH,HEIGHT: if {w:g},{h:g} is the bottom-right corner, the box is "
                f"{x:g},{y:g},{w - x:g},{h - y:g}",
                file=sys.stderr,
            )


def _build_tracker(args: argparse.Namespace, weights: Path, options: dict):
    """The tracker the flags describe (`Tracker.from_pretrained`: the network by backend, the settings by the
    rule of `seqtrack.tracking.settings`: flags over the weights' recommended settings over the official).
    With ``--fast`` and a cached graph no torch is imported (`seqtrack.runtime.fast_start`); the graph
    cache's warnings (`seqtrack.runtime.graph_cache`) are printed as ``warning: ...`` lines."""
    from seqtrack.model.header import read_header
    from seqtrack.runtime.graph_cache import GraphCacheWarning
    from seqtrack.runtime.options import predictor_arguments
    from seqtrack.tracking.tracker import Tracker

    if args.backend != "torch" and args.settings == "weights" and "window_power" not in options:
        if read_header(weights).tracker.get("window_power", 1.0) != 1.0:
            print(
                "note: the ONNX graph applies the plain Hann window; the weights' window_power is not used",
                file=sys.stderr,
            )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GraphCacheWarning)
        tracker = Tracker.from_pretrained(
            weights,
            device=args.device,
            **predictor_arguments(args),
            settings=args.settings,
            updates=args.updates,
            update_interval=args.update_interval,
            update_threshold=args.update_threshold,
            **options,
        )
    for warning in caught:  # the graph cache's reports as one line each; anything else as Python shows it
        if issubclass(warning.category, GraphCacheWarning):
            print(f"warning: {warning.message}", file=sys.stderr)
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    return tracker


class _RunStats:
    """Counts for the closing line: frames, template updates, scores, compute time of the tracker calls."""

    def __init__(self) -> None:
        self.frames, self.updates, self.scores, self.compute = 0, 0, [], 0.0

    def add(self, step) -> None:
        self.frames += 1
        self.compute += step.seconds
        if not step.first:
            self.updates += int(np.sum(step.result.template_updated))
            self.scores.extend(np.atleast_1d(step.result.scores).tolist())

    @property
    def fps(self) -> float:
        return self.frames / max(self.compute, 1e-9)


def run_track(args: argparse.Namespace) -> int:
    """Handler of ``seqtrack track``; returns the exit status (0; 2 on bad input or an output that cannot be
    written; 130 on Ctrl-C and 143 on SIGTERM, keeping what was tracked)."""
    from seqtrack.io.sources import open_source
    from seqtrack.model.registry import resolve_weights

    log = StartupLog.from_environ()
    log.mark("command")
    with CollectorPause() as pause:
        _check_args(args)
        options = tracker_overrides(args)
        weights = resolve_weights(args.weights)  # an unknown name or a missing file fails before the source opens
        boxes = np.asarray(_collect_boxes(args), dtype=np.float64)  # (N, 4) xywh pixels
        _check_outputs(args, weights, len(boxes))
        source = open_source(args.source, start_frame=args.start_frame, max_frames=args.max_frames)
        with source:
            log.mark("source")
            if source.frame_size is not None:  # fail before loading the model
                _check_boxes(boxes, source.frame_size)
            tracker = _build_tracker(args, weights, options)
            log.mark("tracker")
            pause.resume()  # tracking runs with the collector as usual
            started = time.perf_counter()
            status, stats, writer, video = _follow(args, tracker, source, boxes, log)
    if status:
        return status
    wall = time.perf_counter() - started
    mean_score = float(np.mean(stats.scores)) if stats.scores else float("nan")
    print(
        f"tracked {stats.frames} frames of {source.name}: {stats.fps:.1f} fps (tracker), "
        f"{stats.frames / max(wall, 1e-9):.1f} fps (end to end), mean score {mean_score:.2f}, "
        f"{stats.updates} template updates"
    )
    print(f"boxes: {', '.join(map(str, writer.paths))}")
    if video is not None:
        print(f"video: {args.video_out} ({video.codec}, {video.frames_written} frames)")
    if source.note:  # e.g. a camera video that ends a frame short of the count its container announces
        print(f"note: {source.note}", file=sys.stderr)
    return 0


def _follow(args: argparse.Namespace, tracker, source, boxes: np.ndarray, log: StartupLog | None = None):
    """Track, writing the box files (and the video) as it goes; ``(status, stats, box writer, video)``.

    Whatever ends the run (the end of the source, a source that breaks, an output that cannot be written,
    Ctrl-C, SIGTERM), the files are closed: the box files hold whole lines, the video its index.
    """
    from seqtrack.io.boxes import BoxWriter
    from seqtrack.io.files import OutputError, interrupts_deferred
    from seqtrack.tracking.loop import track_frames

    stats, video, stop, failure = _RunStats(), None, None, None
    writer = BoxWriter(args.out, targets=len(boxes) if len(boxes) > 1 else None)
    bar = _progress_bar(source, args.quiet)
    try:
        with writer:
            for step in track_frames(tracker, source, boxes, many=True):
                with interrupts_deferred():  # Ctrl-C or SIGTERM after the frame is in every output
                    writer.write_frame(step.result.boxes, step.result.scores.tolist())
                    if args.video_out is not None:
                        if video is None:
                            from seqtrack.io.video import AnnotatedVideoWriter

                            video = AnnotatedVideoWriter(args.video_out, source.fps, step.frame.shape[:2])
                        scores = [None if math.isnan(s) else s for s in step.result.scores.tolist()]
                        video.write(step.frame, step.result.boxes, scores, frame_index=step.index)
                if log is not None and stats.frames < 2:
                    log.mark("first_track" if stats.frames else "init")
                stats.add(step)
                bar.update(1)
                bar.set_postfix(fps=f"{stats.fps:.1f}", refresh=False)
    except KeyboardInterrupt as interrupt:
        stop = interrupt
    except InputError as error:
        failure = error
    finally:
        bar.close()
        video_problem = _close_video(video)
    kept = _kept(writer, video)
    if stop is not None:
        label, status = (
            ("terminated", EXIT_TERMINATED) if isinstance(stop, Terminated) else ("interrupted", EXIT_INTERRUPTED)
        )
        note = f" ({video_problem})" if video_problem else ""
        print(f"{label}: {writer.frames_written} frames tracked so far are kept in {kept}{note}", file=sys.stderr)
        return status, stats, writer, video
    if failure is not None:
        if writer.frames_written == 0 and "yielded no frames" in str(failure):
            raise InputError(f"source {args.source} yielded no frames") from None
        # A source that breaks mid-way, a full disk: what was tracked is on disk (whole lines).
        kind = OutputError if isinstance(failure, OutputError) else InputError
        raise kind(f"{failure}{_saved(writer, kept, 'before it ')}") from None
    if video_problem:
        raise OutputError(f"{video_problem}{_saved(writer, kept)}")
    return 0, stats, writer, video


class _NoBar:
    """What ``--quiet`` shows: nothing (and tqdm, 50 ms of start-up, is not imported)."""

    def update(self, count: int) -> None:
        pass

    def set_postfix(self, **values) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(source, quiet: bool):
    """A tqdm bar over the source's frames, or `_NoBar` with ``--quiet``."""
    if quiet:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=source.num_frames, unit="frame", dynamic_ncols=True, desc=source.name[-40:])


def _close_video(video) -> str | None:
    """Close the annotated video (finishing the file); the error text if it could not be finished."""
    from seqtrack.io.files import OutputError

    if video is None:
        return None
    try:
        video.close()
    except OutputError as error:
        return str(error)
    return None


def _saved(writer, kept: str, when: str = "") -> str:
    """``; N frames tracked [before it] are saved in FILES`` for an error message (nothing for none)."""
    if writer.frames_written == 0:
        return ""
    return f"; {writer.frames_written} frames tracked {when}are saved in {kept}"


def _kept(writer, video) -> str:
    """The files that hold the run: the box files, and the video unless writing it failed."""
    kept = ", ".join(map(str, writer.paths))
    if video is not None and not video.failed:
        kept += f" and {video.path} ({video.frames_written} frames)"
    return kept
