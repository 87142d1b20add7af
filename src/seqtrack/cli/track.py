"""``seqtrack track``: follow one or several objects through a video, an image folder or a camera."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from seqtrack.cli.tracker_flags import add_tracker_setting_arguments, tracker_overrides
from seqtrack.errors import InputError


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


def _build_tracker(args: argparse.Namespace, weights: Path, options: dict):
    """The tracker the flags describe (`Tracker.from_pretrained`: the network by backend, the settings by the
    rule of `seqtrack.tracking.settings`: flags over the weights' recommended settings over the official)."""
    from seqtrack.model.header import read_header
    from seqtrack.tracking.tracker import Tracker

    if args.backend != "torch" and args.settings == "weights" and "window_power" not in options:
        if read_header(weights).tracker.get("window_power", 1.0) != 1.0:
            print(
                "note: the ONNX graph applies the plain Hann window; the weights' window_power is not used",
                file=sys.stderr,
            )
    return Tracker.from_pretrained(
        weights,
        backend=args.backend,
        device=args.device,
        dtype=args.dtype,
        compile=args.compile,
        quantize=args.quantize,
        threads=args.threads,
        settings=args.settings,
        updates=args.updates,
        update_interval=args.update_interval,
        update_threshold=args.update_threshold,
        **options,
    )


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
    """Handler of ``seqtrack track``; returns the exit status (0, 2 on bad input, 130 on Ctrl-C)."""
    from tqdm import tqdm

    from seqtrack.io.boxes import BoxWriter
    from seqtrack.io.sources import open_source
    from seqtrack.io.video import AnnotatedVideoWriter
    from seqtrack.model.registry import resolve_weights
    from seqtrack.tracking.loop import track_frames
    from seqtrack.tracking.tracker import validate_init_box

    _check_args(args)
    options = tracker_overrides(args)
    weights = resolve_weights(args.weights)  # an unknown name or a missing file fails before the source opens
    boxes = np.asarray(_collect_boxes(args), dtype=np.float64)  # (N, 4) xywh pixels
    multi = len(boxes) > 1
    source = open_source(args.source, start_frame=args.start_frame, max_frames=args.max_frames)
    stats, video, status = _RunStats(), None, 0
    with source:
        if source.frame_size is not None:  # fail before loading the model
            for i, box in enumerate(boxes):
                validate_init_box(box, source.frame_size, f"target {i + 1} box" if multi else "box")
        tracker = _build_tracker(args, weights, options)
        writer = BoxWriter(args.out, targets=len(boxes) if multi else None)
        bar = tqdm(
            total=source.num_frames, unit="frame", disable=args.quiet, dynamic_ncols=True, desc=source.name[-40:]
        )
        started = time.perf_counter()
        try:
            with writer:
                for step in track_frames(tracker, source, boxes, many=True):
                    writer.write_frame(step.result.boxes, step.result.scores.tolist())
                    if args.video_out is not None:
                        if video is None:
                            video = AnnotatedVideoWriter(args.video_out, source.fps, step.frame.shape[:2])
                        video.write(
                            step.frame,
                            step.result.boxes,
                            [None if math.isnan(s) else s for s in step.result.scores.tolist()],
                            frame_index=step.index,
                        )
                    stats.add(step)
                    bar.update(1)
                    bar.set_postfix(fps=f"{stats.fps:.1f}", refresh=False)
        except KeyboardInterrupt:
            status = 130
            print(
                f"\ninterrupted: {stats.frames} frames tracked so far are kept in {', '.join(map(str, writer.paths))}",
                file=sys.stderr,
            )
        except InputError as error:
            if stats.frames == 0 and "yielded no frames" in str(error):
                raise InputError(f"source {args.source} yielded no frames") from None
            # A source that breaks mid-way: what was tracked is on disk (flushed per line).
            raise InputError(
                f"{error} ({stats.frames} frames tracked before it are saved in {', '.join(map(str, writer.paths))})"
            ) from None
        finally:
            bar.close()
            if video is not None:
                video.close()
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
    return status
