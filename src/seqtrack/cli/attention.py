"""``seqtrack attention``: the paper's Fig. 7 for one frame: track a target up to that frame, then draw
the search crop and the decoder's cross-attention for each of the four generated tokens."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from seqtrack.cli.track import _parse_box
from seqtrack.cli.track import normalize_argv as _normalize_track_argv
from seqtrack.cli.tracker_flags import add_tracker_setting_arguments, tracker_overrides
from seqtrack.errors import InputError


def normalize_argv(argv: list[str]) -> list[str]:
    """As ``seqtrack track``: a negative ``--box -10,-10,40,40`` is attached to its flag."""
    return _normalize_track_argv(argv)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``seqtrack attention`` to the command line."""
    parser = subparsers.add_parser(
        "attention",
        help="draw the decoder's attention maps for one frame (the paper's Fig. 7)",
        description="Track the target from its box on the first frame up to --frame, then write a PNG: the "
        "search crop of that frame and, for each generated token (cx, cy, w, h), the last decoder block's "
        "cross-attention over the search crop (averaged over heads) as a heat map. Torch backend only. "
        "A single image is both the init frame and the frame shown.",
        epilog="example: seqtrack attention clip.mp4 --weights demo --box 376,52,144,218 --start-frame 76 "
        "--frame 106 --out attention.png",
    )
    parser.add_argument("source", help="video file, folder of images, glob pattern or a single image")
    parser.add_argument("--weights", "-w", default="demo", help="a model name or a weights file (default: demo)")
    parser.add_argument(
        "--box", "-b", required=True, type=_parse_box, metavar="X,Y,W,H", help="target box on the init frame"
    )
    parser.add_argument("--start-frame", type=int, default=0, help="index of the init frame in the source (0)")
    parser.add_argument(
        "--frame", type=int, default=None, help="index of the frame to draw (default: the one after the init frame)"
    )
    parser.add_argument("--out", "-o", required=True, type=Path, help="the picture to write (.png)")
    parser.add_argument("--panel", type=int, default=256, help="side of each of the five panels in pixels (256)")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda, ...)")
    parser.add_argument(
        "--backend", default="torch", help="torch (the only one: the maps come from the torch model itself)"
    )
    parser.add_argument("--threads", type=int, default=None, help="intra-op CPU threads (default: library's)")
    add_tracker_setting_arguments(parser)
    parser.set_defaults(handler=run_attention)


def _check_args(args: argparse.Namespace) -> None:
    if args.backend != "torch":
        raise InputError(
            f"--backend {args.backend}: attention maps come from the torch model's decoder; use --backend torch"
        )
    if args.start_frame < 0:
        raise InputError(f"--start-frame must be >= 0, got {args.start_frame}")
    if args.frame is not None and args.frame <= args.start_frame:
        raise InputError(f"--frame {args.frame} must come after the init frame (--start-frame {args.start_frame})")
    if args.out.suffix.lower() != ".png":
        raise InputError(f"--out must end in .png, got {args.out}")
    if not 32 <= args.panel <= 2048:
        raise InputError(f"--panel must be 32..2048 pixels, got {args.panel}")
    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads must be >= 1, got {args.threads}")


def _check_model(config) -> None:
    """Refuse, before tracking, a model whose memory has no map over the search crop."""
    if config.feature_type == "token":
        raise InputError(
            "this model's decoder memory is one pooled token (feature_type 'token'): it has no attention map "
            "over the search crop"
        )


def _track_to_frame(tracker, source, box: np.ndarray, frame: int | None):
    """Init on the source's first frame, track up to ``frame`` (default: the next one; a one-frame source:
    that frame again), return ``(index, result, view)`` of `Tracker.track_with_attention` on it."""
    from seqtrack.tracking.tracker import validate_init_box

    frames = iter(source)
    first_index, first = next(frames)
    validate_init_box(box, first.shape[:2])
    tracker.init(first, box)
    wanted = first_index + 1 if frame is None else frame
    last = first_index
    for index, image in frames:
        last = index
        if index == wanted:
            result, view = tracker.track_with_attention(image)
            return index, result, view
        tracker.track(image)
    if frame is None and last == first_index:  # a single image: the frame shown is the init frame itself
        result, view = tracker.track_with_attention(first)
        return first_index, result, view
    raise InputError(f"--frame {wanted} is past the end of {source.name} (its last frame is {last})")


def run_attention(args: argparse.Namespace) -> int:
    """Handler of ``seqtrack attention``; returns 0 (2 on bad input, via the CLI's error handling)."""
    from seqtrack.cli.track import _source_files
    from seqtrack.io.attention_figure import figure_size, render_attention_figure, write_png
    from seqtrack.io.files import check_destination, refuse_overlaps
    from seqtrack.io.sources import open_source
    from seqtrack.model.registry import resolve_weights
    from seqtrack.tracking.attention import predicted_crop_box, search_attention_maps, token_titles
    from seqtrack.tracking.tracker import Tracker, validate_init_box

    _check_args(args)
    options = tracker_overrides(args)
    box = np.asarray(args.box, dtype=np.float64)
    weights = resolve_weights(args.weights)
    refuse_overlaps({**_source_files(str(args.source)), "the weights file": weights}, {"--out": args.out})
    check_destination(args.out, "--out")
    wanted = None if args.frame is None else args.frame - args.start_frame + 1
    with open_source(args.source, start_frame=args.start_frame, max_frames=wanted) as source:
        if source.frame_size is not None:  # a bad box fails before the model is loaded
            validate_init_box(box, source.frame_size)
        tracker = Tracker.from_pretrained(
            weights,
            device=args.device,
            threads=args.threads,
            settings=args.settings,
            updates=args.updates,
            update_interval=args.update_interval,
            update_threshold=args.update_threshold,
            **options,
        )
        config = tracker.model.config
        _check_model(config)
        index, result, view = _track_to_frame(tracker, source, box, args.frame)
    maps = search_attention_maps(view.attention, config)
    titles = token_titles(result.tokens, config.seq_format, config.bins)
    image = render_attention_figure(
        view.crop,
        maps,
        titles,
        predicted_crop_box(result.tokens, config),
        panel=args.panel,
        crop_title=f"frame {index}",
    )
    write_png(args.out, image)
    height, width = figure_size(args.panel)
    print(
        f"wrote {args.out} ({width}x{height}): frame {index}, score {result.score:.2f}, "
        f"box {','.join(f'{v:.1f}' for v in result.box)}; maps over the {maps.shape[1]}x{maps.shape[2]} search grid"
    )
    return 0
