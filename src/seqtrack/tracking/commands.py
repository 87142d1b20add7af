"""``seqtrack track``: follow one or several objects through a video, an image folder or a camera."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

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
        "track", help="track objects in a video file, an image folder, a glob or a camera",
        description="Track one or several objects from their box on the first frame. Writes one "
                    "'x,y,w,h,score' line per frame (first line = the init box) and, optionally, an annotated video.",
        epilog="example: seqtrack track clip.mp4 --weights seqtrack_b256.pth.tar --box 412,220,64,120 "
               "--out boxes.txt --video-out tracked.mp4")
    parser.add_argument("source", help="video file, folder of images, glob pattern ('frames/*.jpg') or camera index")
    parser.add_argument("--weights", "-w", required=True, type=Path,
                        help="SeqTrack weights: official .pth.tar or our .safetensors")
    parser.add_argument("--box", "-b", action="append", type=_parse_box, default=[], metavar="X,Y,W,H",
                        help="target box on the first frame, top-left x, y, width, height in pixels; repeat for "
                             "several targets")
    parser.add_argument("--box-file", action="append", type=Path, default=[], metavar="FILE",
                        help="read a target box from the first line of FILE (x,y,w,h); repeatable")
    parser.add_argument("--out", "-o", type=Path, default=Path("boxes.txt"),
                        help="boxes file (default boxes.txt; several targets: boxes_t0.txt, boxes_t1.txt, ...)")
    parser.add_argument("--video-out", type=Path, help="write an annotated video (.mp4 H.264 where available, .avi)")
    parser.add_argument("--updates", default="default",
                        help="template-update preset: default, lasot, got10k_test, trackingnet, tnl2k, otb, nfs, "
                             "uav, vot20 ... (default: default)")
    parser.add_argument("--update-interval", type=int, help="override the preset's update interval (frames)")
    parser.add_argument("--update-threshold", type=float, help="override the preset's confidence threshold")
    parser.add_argument("--size-smoothing", type=float, default=1.0, metavar="A",
                        help="weight of the predicted size against the previous one, in (0, 1] (1: official)")
    parser.add_argument("--hold-score", type=float, default=0.0, metavar="S",
                        help="keep the previous box when the confidence (0..40) is below S (0: official, never)")
    parser.add_argument("--window-power", type=float, default=1.0, metavar="P",
                        help="power of the Hann window on the centre tokens (1: official; larger: stronger pull "
                             "towards the previous position)")
    parser.add_argument("--lost-search-factor", type=float, metavar="F",
                        help="re-detection: search a crop F x the target size once the target seems lost "
                             "(default: off, official)")
    parser.add_argument("--lost-after", type=int, default=3, metavar="N",
                        help="the target seems lost after N consecutive frames scoring below --lost-score (default 3)")
    parser.add_argument("--lost-score", type=float, default=1.0, metavar="S",
                        help="confidence (0..40) below which a frame counts as low (default 1.0)")
    parser.add_argument("--start-frame", type=int, default=0, help="first frame to use (the init frame)")
    parser.add_argument("--max-frames", type=int, help="stop after this many frames")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1, ...)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    from seqtrack.export.options import add_predictor_arguments

    add_predictor_arguments(parser)
    parser.set_defaults(handler=run_track)


def _collect_boxes(args: argparse.Namespace) -> list[list[float]]:
    from seqtrack.tracking.sinks import read_boxes

    boxes = list(args.box)
    for path in args.box_file:
        track = read_boxes(path)
        if len(track.boxes) == 0:
            raise InputError(f"box file {path} holds no box")
        boxes.append(track.boxes[0].tolist())
    if not boxes:
        raise InputError("give the target with --box X,Y,W,H or --box-file FILE")
    return boxes


def run_track(args: argparse.Namespace) -> int:
    """Handler of ``seqtrack track``; returns the exit status (0, 2 on bad input, 130 on Ctrl-C)."""
    from tqdm import tqdm

    from seqtrack.tracking.sinks import AnnotatedVideoWriter, BoxWriter
    from seqtrack.tracking.sources import open_source
    from seqtrack.config import TrackerConfig, update_presets_for
    from seqtrack.export.backends import predictor_from_args
    from seqtrack.tracking.tracker import Tracker, validate_init_box

    if args.start_frame < 0:
        raise InputError(f"--start-frame must be >= 0, got {args.start_frame}")
    if args.max_frames is not None and args.max_frames < 1:
        raise InputError(f"--max-frames must be >= 1, got {args.max_frames}")
    options = dict(size_smoothing=args.size_smoothing, hold_score=args.hold_score, window_power=args.window_power,
                   lost_search_factor=args.lost_search_factor, lost_after=args.lost_after, lost_score=args.lost_score)
    try:  # bad values fail here, before anything is opened
        TrackerConfig(**options)
    except InputError as error:  # name the flag the user typed, not the config field behind it
        message = str(error)
        field = next((key for key in options if message.startswith(key + " ")), None)
        if field is None:
            raise
        raise InputError(f"--{field.replace('_', '-')}{message[len(field):]}") from None
    if getattr(args, "backend", "torch") != "torch" and args.window_power != 1.0:
        raise InputError(f"--window-power {args.window_power:g} needs --backend torch (an exported graph applies "
                         "the Hann window as is or not at all)")
    boxes = _collect_boxes(args)
    multi = len(boxes) > 1
    source = open_source(args.source, start_frame=args.start_frame, max_frames=args.max_frames)
    with source:
        if source.frame_size is not None:  # fail before loading the model
            for i, box in enumerate(boxes):
                validate_init_box(np.asarray(box, np.float64), source.frame_size,
                                  f"target {i + 1} box" if multi else "box")
        predictor = predictor_from_args(args, args.weights, device=args.device)
        presets = TrackerConfig(update_presets=update_presets_for(predictor.config.name), **options)
        tracker = Tracker(predictor, presets.with_updates(args.updates, args.update_interval, args.update_threshold))
        writer = BoxWriter(args.out, targets=len(boxes) if multi else None)
        video = None
        frames, updates, scores, compute = 0, 0, [], 0.0
        status = 0
        bar = tqdm(total=source.num_frames, unit="frame", disable=args.quiet, dynamic_ncols=True,
                   desc=source.name[-40:])
        started = time.perf_counter()
        try:
            with writer:
                iterator = iter(source)
                for index, frame in iterator:
                    tick = time.perf_counter()
                    if frames == 0:
                        result = tracker.init(frame, boxes if multi else boxes[0])
                    else:
                        result = tracker.track(frame)
                    compute += time.perf_counter() - tick
                    results = result if multi else [result]
                    writer.write_frame([r.box for r in results], [r.score for r in results])
                    if args.video_out is not None:
                        if video is None:
                            video = AnnotatedVideoWriter(args.video_out, source.fps, frame.shape[:2])
                        video.write(frame, [r.box for r in results],
                                    [None if math.isnan(r.score) else r.score for r in results], frame_index=index)
                    frames += 1
                    if frames > 1:
                        updates += sum(r.template_updated for r in results)
                        scores.extend(r.score for r in results)
                    bar.update(1)
                    if compute > 0:
                        bar.set_postfix(fps=f"{frames / compute:.1f}", refresh=False)
        except KeyboardInterrupt:
            status = 130
            print(f"\ninterrupted: {frames} frames tracked so far are kept in {', '.join(map(str, writer.paths))}",
                  file=sys.stderr)
        except InputError as error:
            # A source that breaks mid-way: what was tracked is on disk (flushed per line).
            bar.close()
            if video is not None:
                video.close()
            raise InputError(f"{error} ({frames} frames tracked before it are saved in "
                             f"{', '.join(map(str, writer.paths))})") from None
        finally:
            bar.close()
            if video is not None:
                video.close()
    wall = time.perf_counter() - started
    if frames == 0:
        raise InputError(f"source {args.source} yielded no frames")
    mean_score = float(np.mean(scores)) if scores else float("nan")
    print(f"tracked {frames} frames of {source.name}: {frames / max(compute, 1e-9):.1f} fps (tracker), "
          f"{frames / max(wall, 1e-9):.1f} fps (end to end), mean score {mean_score:.2f}, "
          f"{updates} template updates")
    print(f"boxes: {', '.join(map(str, writer.paths))}")
    if video is not None:
        print(f"video: {args.video_out} ({video.codec}, {video.frames_written} frames)")
    return status
