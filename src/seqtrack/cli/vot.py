"""``seqtrack vot-workspace``: write an offline VOT toolkit workspace (`seqtrack.integrations.vot_workspace`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "vot-workspace",
        help="write a VOT toolkit workspace (sequences, stack, trackers.ini) that runs offline",
        description="Write a VOT toolkit workspace in DIR: generated sequences (or a benchmark's) in the VOT "
        "layout, config.yaml, a local stack (the unsupervised experiment, which vot-toolkit 0.9.0 runs, "
        "and the supervised one, declared but not runnable with 0.9.0) and trackers.ini with the tracker "
        "'seqtrack'. Then: vot evaluate --workspace DIR --experiments unsupervised seqtrack",
        epilog="example: seqtrack vot-workspace /tmp/ws --weights b256 --sequences 3 --frames 50",
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="workspace folder (created)")
    p.add_argument("--weights", required=True, help="registered model name or weights file the tracker runs")
    p.add_argument("--sequences", type=_positive, default=2, metavar="N", help="generated sequences (default 2)")
    p.add_argument("--frames", type=_positive, default=20, metavar="F", help="frames per sequence (default 20)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the generated sequences (default 0)")
    p.add_argument(
        "--size", type=_positive, nargs=2, default=(96, 128), metavar=("H", "W"), help="generated frame size"
    )
    p.add_argument("--benchmark", help="write this benchmark's sequences instead of generated ones (e.g. otb)")
    p.add_argument("--root", type=Path, help="the benchmark's folder (default: $SEQTRACK_<BENCHMARK>_ROOT)")
    p.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter the toolkit starts the tracker with: one with seqtrack and vot-trax (default: this one)",
    )
    p.add_argument("--threads", type=_positive, default=None, help="CPU threads of the tracker's network")
    p.add_argument("--burn-in", type=_positive, default=None, help="frames the accuracy ignores after each start")
    p.set_defaults(handler=_vot_workspace)


def _vot_workspace(args: argparse.Namespace) -> int:
    from seqtrack.integrations import vot_workspace

    if args.benchmark:
        from seqtrack.evaluate.benchmarks import get_benchmark

        sequences = vot_workspace.benchmark_sequences(get_benchmark(args.benchmark, args.root).sequences())
    else:
        sequences = vot_workspace.generated_sequences(args.sequences, args.frames, args.seed, tuple(args.size))
    burn_in = args.burn_in if args.burn_in is not None else vot_workspace.BURN_IN
    root = vot_workspace.write_workspace(
        args.dir, args.weights, sequences, python=args.python, burn_in=burn_in, threads=args.threads
    )
    print(f"wrote a VOT workspace with {len(sequences)} sequences in {root}")
    print(f"run: vot evaluate --workspace {root} --experiments {vot_workspace.UNSUPERVISED} seqtrack")
    return 0
