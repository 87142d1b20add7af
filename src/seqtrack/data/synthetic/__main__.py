"""Command line of the generator: ``python -m seqtrack.data.synthetic ROOT --sequences N --frames F ...``."""

from __future__ import annotations

import argparse
from pathlib import Path

from seqtrack.data.synthetic.dataset import write_dataset
from seqtrack.data.synthetic.settings import SyntheticConfig
from seqtrack.data.synthetic.sources import SOURCE_SPLITS


def main(argv: list[str] | None = None) -> int:
    """``python -m seqtrack.data.synthetic ROOT --sequences N --frames F --size H W --split S --seed K``."""
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
    args = parser.parse_args(argv)
    if args.max_distractors < 0:
        parser.error(f"--max-distractors must be >= 0, got {args.max_distractors}")
    config = SyntheticConfig(max_distractors=args.max_distractors)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
