"""``seqtrack bench``: the end-to-end speed table of every backend and precision (`seqtrack.bench`)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from seqtrack.bench.arguments import add_bench_arguments

    bench = subparsers.add_parser(
        "bench",
        help="measure end-to-end tracking speed for every backend and precision",
        description="Track a generated video with each backend (torch fp32/bf16/compiled, onnxruntime fp32/int8) "
        "and preset, each in a fresh process, and write speed.json and speed.md (fps, peak RSS, "
        "agreement with torch fp32).",
        epilog="example: seqtrack bench --quick --out-dir /tmp/bench",
    )
    add_bench_arguments(bench)
    bench.set_defaults(handler=_bench)


def _bench(args: argparse.Namespace) -> int:
    from seqtrack.bench.arguments import run_from_args

    return run_from_args(args)
