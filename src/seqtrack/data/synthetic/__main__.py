"""Command line of the generator: ``python -m seqtrack.data.synthetic ROOT --sequences N --frames F ...``."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from seqtrack.data.synthetic.dataset import write_dataset
from seqtrack.data.synthetic.photos import photo_split
from seqtrack.data.synthetic.settings import SyntheticConfig, realistic
from seqtrack.data.synthetic.sources import SOURCE_SPLITS
from seqtrack.errors import SeqTrackError, safe_text

# Realism flags: (flag, config field, type, help). None = not given (the preset's or the default value).
_EFFECT_FLAGS = (
    ("--warp", "warp", float, "largest out-of-plane tilt of the target, radians (slowly changing)"),
    ("--color-drift", "color_drift", float, "white-balance / exposure drift limit (log gain)"),
    ("--h264-prob", "h264_prob", float, "probability that a sequence goes through H.264 (PyAV)"),
    ("--rolling-shutter", "rolling_shutter", float, "largest rolling-shutter readout, fraction of a frame"),
    ("--shake", "shake", float, "camera shake amplitude, frame pixels"),
    ("--large-prob", "large_prob", float, "probability of a slow, large target (30-70%% of the frame)"),
    ("--blur-prob", "blur_prob", float, "probability of motion blur along the motion"),
    ("--photo-share", "photo_share", float, "with --photos: probability of drawing a folder photograph"),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m seqtrack.data.synthetic", description=main.__doc__)
    parser.add_argument("root", type=Path, help="output folder (GOT-10k layout)")
    parser.add_argument("--sequences", type=int, default=100)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--size", type=int, nargs=2, default=(240, 320), metavar=("H", "W"))
    parser.add_argument("--split", choices=sorted(SOURCE_SPLITS), default="train")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--max-distractors",
        type=int,
        default=SyntheticConfig.max_distractors,
        help="up to this many look-alikes per sequence (default %(default)s)",
    )
    parser.add_argument("--photos", type=Path, help="folder of photographs (photo_packages); split by file-name hash")
    parser.add_argument(
        "--realism", action="store_true", help="turn on the preset mix of every effect below (flags override it)"
    )
    parser.add_argument("--jpeg-range", type=int, nargs=2, metavar=("LOW", "HIGH"), help="per-frame JPEG quality range")
    for flag, _, kind, text in _EFFECT_FLAGS:
        parser.add_argument(flag, type=kind, help=text)
    return parser


def config_from_args(args: argparse.Namespace) -> SyntheticConfig:
    """The `SyntheticConfig` of parsed arguments: defaults, the ``--realism`` preset, then explicit flags."""
    config = SyntheticConfig(max_distractors=args.max_distractors)
    if args.realism:
        config = realistic(config)
    changes = {field: getattr(args, flag[2:].replace("-", "_")) for flag, field, _, _ in _EFFECT_FLAGS}
    changes = {field: value for field, value in changes.items() if value is not None}
    if args.jpeg_range is not None:
        changes["jpeg_range"] = tuple(args.jpeg_range)
    if args.photos is not None:
        changes["photos"] = str(args.photos.resolve())
    return replace(config, **changes)


def main(argv: list[str] | None = None) -> int:
    """``python -m seqtrack.data.synthetic ROOT --sequences N --frames F --size H W --split S --seed K
    [--photos DIR] [--realism] [effect flags]``."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.max_distractors < 0:
        parser.error(f"--max-distractors must be >= 0, got {args.max_distractors}")
    try:
        config = config_from_args(args)
        if config.photos is not None:  # fail before the output folder is made
            photo_split(config.photos, args.split)
        write_dataset(
            args.root,
            args.sequences,
            args.frames,
            tuple(args.size),
            args.split,
            args.seed,
            config=config,
            workers=args.workers,
            progress=True,
        )
    except SeqTrackError as error:
        print(f"error: {safe_text(error)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
