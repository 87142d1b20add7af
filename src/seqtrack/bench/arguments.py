"""The flags of ``seqtrack bench`` and ``benchmarks/speed.py`` (one set for both), and `main`.

Importing this module loads neither torch nor the workers, so that building the CLI parser stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from seqtrack.bench.cases import (
    BACKEND_CASES,
    CPU_ONLY_BACKENDS,
    DEFAULT_PRESETS,
    GPU_DEFAULT_BACKENDS,
    GPU_ONLY_BACKENDS,
    GPU_SCALING_TARGETS,
    BenchSettings,
)


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``seqtrack bench`` / ``benchmarks/speed.py``."""
    parser.add_argument(
        "--presets",
        default=",".join(DEFAULT_PRESETS),
        help="comma-separated model presets with random seeded weights (default: b256,t128,s128)",
    )
    parser.add_argument("--weights", help="benchmark this checkpoint instead of random-weight presets")
    parser.add_argument(
        "--backends",
        default=None,
        help=f"comma-separated subset of {', '.join(BACKEND_CASES)} (default on the CPU: "
        f"{','.join(BenchSettings().backends)}; on a GPU: {','.join(GPU_DEFAULT_BACKENDS)})",
    )
    parser.add_argument(
        "--device",
        default="cpu",
        help="cpu (default), cuda, cuda:N or auto: where every configuration runs (a GPU run has no thread "
        "table and its scaling table goes to 64 targets)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="intra-op threads (default: all cores; 1 with --quick)"
    )
    parser.add_argument("--frames", type=int, default=BenchSettings.frames, help="timed frames for small presets")
    parser.add_argument(
        "--large-frames", type=int, default=BenchSettings.large_frames, help="timed frames for ViT-B and larger presets"
    )
    parser.add_argument("--warmup", type=int, default=BenchSettings.warmup)
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=BenchSettings.max_seconds,
        help="stop timing a configuration after this long (at least 3 frames)",
    )
    parser.add_argument("--size", default="640x480", help="frame size WxH (default 640x480)")
    parser.add_argument("--scaling-preset", default="t128", help="preset for the cost-per-target table ('' to skip)")
    parser.add_argument("--no-thread-sweep", action="store_true", help="skip the 1-thread vs all-cores table")
    parser.add_argument("--no-interleaved", action="store_true", help="skip the same-process A/B table")
    parser.add_argument(
        "--golden",
        help="golden folder (the repository's is tests/golden): also compare each backend with the official outputs",
    )
    parser.add_argument(
        "--fidelity",
        metavar="DIR",
        help="generated clips with ground truth (python -m seqtrack.data.synthetic DIR --split val): also report "
        "open-loop token agreement, closed-loop AUC and IoU to fp32 of each backend (needs --weights, trained)",
    )
    parser.add_argument("--fidelity-clips", type=int, default=10, help="clips of --fidelity to track (default 10)")
    parser.add_argument("--no-real-clip", action="store_true", help="--fidelity without the real demo clip")
    parser.add_argument("--out-dir", default="benchmarks/results", help="where speed.json and speed.md go")
    parser.add_argument("--note", default=BenchSettings.note, help="a remark recorded with the results")
    parser.add_argument("--quick", action="store_true", help="seconds-long smoke run (t128, tiny frame counts)")


def settings_from_args(args: argparse.Namespace) -> BenchSettings:
    """Check the flags and turn them into `BenchSettings`; bad values raise `InputError` (one line)."""
    from seqtrack.config import model_preset
    from seqtrack.errors import InputError

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise InputError(f"--size must look like 640x480, got {args.size!r}") from None
    device = _bench_device(args.device)
    on_gpu = device.startswith("cuda")
    if args.backends is None:
        backends = GPU_DEFAULT_BACKENDS if on_gpu else BenchSettings().backends
    else:
        backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    check_backends(backends, device)
    if "torch-fp32" not in backends:
        backends = ("torch-fp32",) + backends  # the reference for the agreement columns
    presets = tuple(p.strip() for p in args.presets.split(",") if p.strip())
    for p in presets:
        model_preset(p)  # raises InputError naming the known presets
    if args.weights:
        from seqtrack.model.registry import resolve_weights

        args.weights = str(resolve_weights(args.weights))  # a registered name (``demo``) or a file; else InputError
    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads must be >= 1, got {args.threads}")
    threads = args.threads or (1 if args.quick else os.cpu_count() or 1)
    if args.fidelity and not Path(args.fidelity, "list.txt").is_file():
        raise InputError(f"--fidelity {args.fidelity}: no list.txt there (a GOT-10k layout folder of clips)")
    if args.fidelity and not args.weights:
        raise InputError("--fidelity needs --weights (trained weights: agreement on random weights means little)")
    common = dict(
        weights=args.weights,
        threads=threads,
        golden_dir=args.golden,
        out_dir=args.out_dir,
        note=args.note,
        fidelity_root=args.fidelity,
        fidelity_clips=args.fidelity_clips,
        fidelity_real=not args.no_real_clip,
        device=device,
    )
    if args.quick:
        if on_gpu:  # the quick CPU pair has no GPU meaning: eager fp32 against its CUDA-graph replay
            common.update(backends=("torch-fp32", "cuda-graphs"), scaling_backends=("torch-fp32", "cuda-graphs"))
        return BenchSettings.quick_settings(**common)
    return BenchSettings(
        presets=presets,
        backends=backends,
        warmup=args.warmup,
        frames=args.frames,
        large_frames=args.large_frames,
        max_seconds=args.max_seconds,
        width=width,
        height=height,
        scaling_preset=args.scaling_preset or None,
        # On a GPU the CPU threads barely matter, and 64 targets are still one cheap batch.
        thread_sweep=not (args.no_thread_sweep or on_gpu),
        **(
            {"scaling_targets": GPU_SCALING_TARGETS, "scaling_backends": ("torch-fp32", "cuda-graphs")}
            if on_gpu
            else {}
        ),
        interleaved=not args.no_interleaved,
        **common,
    )


def check_backends(backends: tuple[str, ...], device: str) -> None:
    """Refuse, in one line, a ``--backends`` name that is unknown or cannot run on ``device`` (``cpu`` /
    ``cuda:N``): the GPU-only ones on the CPU, the CPU-only ones (kernel choice, dynamic int8) on a GPU.

    Raises:
        InputError: naming the backend and what it needs.
    """
    from seqtrack.errors import InputError

    unknown = [b for b in backends if b not in BACKEND_CASES]
    if unknown:
        raise InputError(f"unknown backend(s) {', '.join(unknown)}; known: {', '.join(BACKEND_CASES)}")
    if device.startswith("cuda"):
        wrong = [b for b in backends if b in CPU_ONLY_BACKENDS]
        if wrong:
            raise InputError(f"--backends {','.join(wrong)}: CPU only (--device cpu), not on {device}")
    else:
        wrong = [b for b in backends if b in GPU_ONLY_BACKENDS]
        if wrong:
            raise InputError(f"--backends {','.join(wrong)}: GPU only, needs --device cuda (this run: {device})")


def _bench_device(name: str) -> str:
    """``--device`` as ``cpu`` or ``cuda:N``, checked against this machine (`resolve_device`: one line naming
    what exists); ``mps`` is refused (the benchmark's GPU paths are CUDA's)."""
    from seqtrack.errors import InputError
    from seqtrack.runtime.devices import resolve_device

    device = resolve_device(name)
    if device.type not in ("cpu", "cuda"):
        raise InputError(f"--device {name}: the benchmark runs on the CPU or a CUDA device")
    return "cpu" if device.type == "cpu" else f"cuda:{device.index or 0}"


def run_from_args(args: argparse.Namespace) -> int:
    """Run the benchmark the flags describe and write ``speed.json`` and ``speed.md``; the exit status."""
    from seqtrack.bench.driver import run_speed_benchmark
    from seqtrack.bench.report import write_report

    settings = settings_from_args(args)
    report = run_speed_benchmark(settings)
    json_path, md_path = write_report(report, settings.out_dir)
    print(f"wrote {json_path} and {md_path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``benchmarks/speed.py`` / ``python -m seqtrack.bench`` entry point (same flags as ``seqtrack bench``)."""
    from seqtrack.errors import SeqTrackError

    parser = argparse.ArgumentParser(prog="speed.py", description="SeqTrack end-to-end CPU speed benchmark")
    add_bench_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_from_args(args)
    except SeqTrackError as error:
        print(f"speed.py: error: {error}", file=sys.stderr)
        return 2


__all__ = ["add_bench_arguments", "check_backends", "settings_from_args", "run_from_args", "main"]
