"""``seqtrack eval``, ``seqtrack report`` and ``seqtrack pack``."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import yaml

from seqtrack.cli.tracker_flags import add_settings_argument, set_overrides
from seqtrack.config.overrides import add_set_argument
from seqtrack.errors import InputError, require_extra
from seqtrack.evaluate.benchmarks import BENCHMARKS, canonical_name, get_benchmark, root_env_var
from seqtrack.io.files import check_destination, refuse_overlaps

_BENCH_LIST = ", ".join(BENCHMARKS)
_FORMATTER = argparse.RawDescriptionHelpFormatter


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _options(pairs: list[str]) -> dict[str, object]:
    options: dict[str, object] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--option {pair!r}: expected KEY=VALUE")
        options[key.strip()] = yaml.safe_load(value) if value.strip() else ""  # 3 -> int, true -> bool
    return options


# --- eval -----------------------------------------------------------------------------------------


def _predictor_options(args: argparse.Namespace):
    """`PredictorOptions` from the run flags; it rejects combinations such as ``--quantize int8`` with
    torch, naming the flag. ``--threads`` is checked here so that its message names the flag too."""
    from seqtrack.runtime.options import PredictorOptions, predictor_arguments

    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads must be at least 1, got {args.threads}")
    return PredictorOptions(**predictor_arguments(args))


def _placement(args: argparse.Namespace, spec):
    """``(launch, devices, workers)``: this process's torchrun rank, the devices its workers take
    round-robin (each checked with ``spec``, then on this machine), and how many workers (default: one
    per ``--devices`` entry, else 1)."""
    from seqtrack.evaluate.scale import Launch, worker_devices
    from seqtrack.evaluate.trackers import check_spec

    launch = Launch.from_env()
    resolve = None
    if spec.kind == "seqtrack" and spec.predictor.backend == "onnxruntime":
        from seqtrack.runtime.onnx_providers import onnx_device_name as resolve  # ONNX Runtime's GPUs, not torch's
    devices = worker_devices(
        args.device, args.devices, launch, lambda name: check_spec(replace(spec, device=name)), resolve
    )
    workers = args.workers if args.workers is not None else (len(devices) if args.devices else 1)
    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    if workers < len(devices):
        print(f"note: --workers {workers} leaves {', '.join(devices[workers:])} unused", file=sys.stderr)
    return launch, devices, workers


def _eval(args: argparse.Namespace) -> int:
    from seqtrack.evaluate.runner import RunOptions, run_benchmark, with_preset
    from seqtrack.evaluate.scale import rank_share
    from seqtrack.evaluate.trackers import TrackerSpec

    # The run flags first: a bad combination is one line before any file is read or written.
    predictor = _predictor_options(args)
    benchmark = get_benchmark(args.benchmark, args.root)
    info = benchmark.info
    spec = with_preset(
        TrackerSpec(
            kind=args.tracker,
            weights=str(args.weights) if args.weights else None,
            updates=args.updates,
            options=set_overrides(args.set, _options(args.option))
            | ({"settings": "official"} if args.settings == "official" else {}),
            predictor=predictor,
        ),
        benchmark,
    )
    launch, devices, workers = _placement(args, spec)
    spec = replace(spec, device=devices[0])
    results = Path(args.results) if args.results else Path("runs") / (args.name or spec.label) / info.name
    # A file where the folder should be, a read-only place, a name over 255 bytes: refused before any
    # sequence is tracked (the folder itself is made by the first result written).
    check_destination(results, "--results" if args.results else "the results folder", folder=True)
    names = _csv(args.sequences)
    sequences = benchmark.sequences(names)
    if launch.distributed:  # every rank computes the same partition of every sequence, done or not
        sequences = rank_share(sequences, launch.rank, launch.world_size)
    elif names is None and info.expected_count and len(sequences) != info.expected_count:
        print(
            f"note: {len(sequences)} {info.title} sequences under {benchmark.root}; the full benchmark has "
            f"{info.expected_count}",
            file=sys.stderr,
        )
    summary = run_benchmark(
        spec,
        sequences,
        RunOptions(
            results_dir=results,
            layout=info.layout,
            integer_boxes=args.integer_boxes,
            workers=workers,
            # One rank's bars, not several ranks' bars drawn over each other on one terminal.
            progress=not args.no_progress and launch.rank == 0,
            devices=tuple(devices),
            shared=launch.distributed,
        ),
    )
    print(
        f"{launch.prefix}{info.name}: {len(summary.completed)} tracked, {len(summary.skipped)} already done, "
        f"{len(summary.failed)} failed -> {results} (updates preset {spec.updates!r})"
    )
    if summary.failed:
        for name, reason in summary.failed.items():
            print(f"  {launch.prefix}failed {name}: {reason}", file=sys.stderr)
        print(
            f"seqtrack: {launch.prefix}{len(summary.failed)} sequence(s) failed; re-run the same command to retry them",
            file=sys.stderr,
        )
        return 1
    return 0


# --- report ---------------------------------------------------------------------------------------


def _report(args: argparse.Namespace) -> int:
    from seqtrack.evaluate.report import (
        attribute_table,
        build_report,
        markdown_table,
        paired_differences,
        paired_table,
        resolve_runs,
        speed_table,
        write_json,
    )

    benchmark = get_benchmark(args.benchmark, args.root)
    runs = resolve_runs(args.runs, benchmark.name)
    _check_report_outputs(args, runs, benchmark)
    names = _csv(args.sequences)
    report = build_report(
        benchmark,
        runs,
        sequences=benchmark.sequences(names) if names else None,
        pytracking_compat=args.pytracking_compat,
        allow_missing=args.allow_missing,
        scoring={"ope": "pytracking", "got10k": "got10k", None: None}[args.scoring],
    )
    print(markdown_table(report))
    attributes = attribute_table(report)
    if attributes:
        print(attributes)
    speed = speed_table(report)
    if speed:
        print(speed)
    differences = {}
    if args.paired:
        if len(report.evaluations) < 2:
            raise InputError("--paired compares trackers with the first one: give at least two result folders")
        differences = paired_differences(report)
        print(paired_table(report, differences))
    if args.json:
        print(f"wrote {write_json(report, Path(args.json), differences)}", file=sys.stderr)
    if args.plots:
        from seqtrack.evaluate.plots import write_plots

        paths = write_plots(report, Path(args.plots))
        print(f"wrote {len(paths)} plot files to {args.plots}", file=sys.stderr)
    return 0


def _check_report_outputs(args: argparse.Namespace, runs, benchmark) -> None:
    """``--json`` and ``--plots`` can be written and overwrite nothing the report reads: checked before
    the scoring, which may take minutes."""
    from seqtrack.evaluate.report import refuse_input_overwrite

    if args.json:
        check_destination(args.json, "--json")
        refuse_input_overwrite(runs, benchmark, Path(args.json), "--json")
    if args.plots:
        check_destination(args.plots, "--plots", folder=True)
        require_extra("matplotlib.figure", "plots", "--plots")
    refuse_overlaps({}, {"--json": args.json, "--plots": args.plots})


# --- pack -----------------------------------------------------------------------------------------


def _pack(args: argparse.Namespace) -> int:
    from seqtrack.evaluate.submission import check_archive_name, pack_got10k, pack_trackingnet

    out = check_destination(check_archive_name(Path(args.out)), "--out")
    results = Path(args.results)
    if args.server == "got10k":
        benchmark = get_benchmark("got10k_test", args.root) if args.root else None
        summary = pack_got10k(
            results, out, benchmark=benchmark, integer=args.integer, allow_incomplete=args.allow_incomplete
        )
    else:
        benchmark = get_benchmark("trackingnet", args.root) if args.root else None
        summary = pack_trackingnet(
            results, out, benchmark=benchmark, integer=args.integer, allow_incomplete=args.allow_incomplete
        )
    print(f"wrote {summary.path} ({len(summary.sequences)} sequences)")
    return 0


# --- registration ---------------------------------------------------------------------------------


def _benchmark_arg(value: str) -> str:
    try:
        return canonical_name(value)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``eval``, ``report`` and ``pack`` subcommands."""
    _register_eval(subparsers)
    _register_report(subparsers)
    _register_pack(subparsers)


def _register_eval(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval",
        help="run a tracker over a benchmark (parallel, resumable)",
        formatter_class=_FORMATTER,
        description=(
            "Run a tracker over every sequence of a benchmark and write one result file per sequence\n"
            "(pytracking layout <seq>.txt + <seq>_time.txt; GOT-10k layout <seq>/<seq>_001.txt for got10k_*).\n"
            "Finished sequences are skipped on a re-run, so an interrupted run resumes where it stopped.\n"
            f"Benchmarks: {_BENCH_LIST}.\n"
            "Boxes are saved with full float precision; --integer-boxes truncates like the official toolkit.\n"
            "The network runs on any backend 'seqtrack track' runs (--backend, --dtype, --compile, --quantize)."
        ),
        epilog=(
            "examples:\n"
            "  seqtrack eval lasot --root /data/lasot --weights seqtrack_b256.pth.tar --workers 4\n"
            "  seqtrack eval lasot --root /data/lasot --weights seqtrack_b256.pth.tar --workers 2 \\\n"
            "      --backend onnxruntime --quantize int8     (results: runs/seqtrack-seqtrack_b256-onnxruntime-int8/)\n"
            "  seqtrack eval otb --root /data/otb --tracker mypkg.trackers:MyTracker --sequences Basketball,Bolt\n"
            "  seqtrack eval lasot --root /data/lasot --weights seqtrack_b256.pth.tar --devices cuda:0,cuda:1\n"
            "  torchrun --nnodes 2 --nproc-per-node 4 ... -m seqtrack eval lasot --root /data/lasot \\\n"
            "      --weights seqtrack_b256.pth.tar --device cuda   (each rank: its share; cuda = cuda:<LOCAL_RANK>)\n"
            "The default root of BENCHMARK comes from SEQTRACK_<BENCHMARK>_ROOT (e.g. "
            f"{root_env_var('lasot')})."
        ),
    )
    p.add_argument("benchmark", type=_benchmark_arg, metavar="BENCHMARK", help=f"one of: {_BENCH_LIST}")
    p.add_argument("--root", type=Path, help="benchmark folder (default: $SEQTRACK_<BENCHMARK>_ROOT)")
    p.add_argument("--weights", help="model name (see 'seqtrack models') or checkpoint for --tracker seqtrack")
    p.add_argument(
        "--tracker",
        default="seqtrack",
        help=(
            "'seqtrack' (default), 'opencv-mil', 'opencv-csrt', 'opencv-kcf' (CSRT/KCF: in the "
            "contrib OpenCV seqtrack installs), or an importable factory 'module:callable'"
        ),
    )
    p.add_argument(
        "--option",
        action="append",
        metavar="KEY=VALUE",
        default=[],
        help="extra keyword argument for the tracker factory (repeatable; values parsed as YAML scalars)",
    )
    add_settings_argument(p)
    add_set_argument(p, help="set a tracker setting of the seqtrack tracker, e.g. --set tracker.window_power=4")
    p.add_argument(
        "--updates",
        metavar="PRESET",
        help="template-update preset (default: the benchmark's, e.g. lasot, got10k_test, default)",
    )
    p.add_argument(
        "--workers",
        type=int,
        help="worker processes (default: one per --devices entry, else 1: run in this process)",
    )
    p.add_argument("--sequences", metavar="A,B,...", help="only these sequences")
    p.add_argument("--results", metavar="DIR", help="results folder (default runs/<name>/<benchmark>)")
    p.add_argument(
        "--name",
        help="tracker name for the default results folder (default from the weights file, "
        "plus backend and precision unless torch fp32, e.g. seqtrack-b256-onnxruntime-int8)",
    )
    p.add_argument("--integer-boxes", action="store_true", help="truncate boxes to integers (official format)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--device",
        help="torch device of the seqtrack network in every worker (cpu, cuda, cuda:1, ...; default cpu; "
        "under torchrun, cuda is cuda:<LOCAL_RANK>)",
    )
    p.add_argument(
        "--devices",
        metavar="D1,D2,...",
        help="devices the worker processes take round-robin (worker k: device k mod their number), "
        "e.g. cuda:0,cuda:1, or 'all' (every visible GPU); instead of --device",
    )
    _add_run_flags(p)
    p.set_defaults(handler=_eval)


def _add_run_flags(parser: argparse.ArgumentParser) -> None:
    """``--backend --dtype --compile --quantize --threads``, the flags of ``seqtrack track``, with the
    default of ``--threads`` that suits a run of several worker processes."""
    from seqtrack.runtime.options import add_predictor_arguments

    add_predictor_arguments(parser)
    # argparse offers no public way to reword one help line; the flag itself stays the shared one.
    threads = next(action for action in parser._actions if action.dest == "threads")
    threads.help = (
        "intra-op CPU threads of each worker process (default: 1 on the CPU, where the library's "
        "default measured 1.8 fps and one thread 60 fps on a 2-core machine; the library's on a GPU)"
    )


def _register_report(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="score result folders: table, JSON, success/precision plots",
        formatter_class=_FORMATTER,
        description=(
            "Compare trackers on a benchmark. Each RUNS argument is a results folder, a folder holding\n"
            "<benchmark>/ (as 'seqtrack eval' writes), or a folder of tracker folders (runs/); NAME=PATH\n"
            "sets the label. Results of other trackers in the pytracking layout (tab or comma) work too.\n"
            "Scores: AUC, P@20px, P_norm@0.2, OP50, OP75, FPS; GOT-10k val: AO, SR0.5, SR0.75 (toolkit rules).\n"
            "Also: AUC per attribute (LaSOT's 14 from att/<seq>.txt, UAV123's 12) and the FPS per worker\n"
            "process with the wall time it projects for each standard benchmark."
        ),
        epilog=(
            "example:\n  seqtrack report runs/ --benchmark lasot --root /data/lasot --json lasot.json --plots plots/"
        ),
    )
    p.add_argument("runs", nargs="+", metavar="RUNS", help="result folders ([NAME=]PATH)")
    p.add_argument("--benchmark", required=True, type=_benchmark_arg, help=f"one of: {_BENCH_LIST}")
    p.add_argument("--root", type=Path, help="benchmark folder (default: $SEQTRACK_<BENCHMARK>_ROOT)")
    p.add_argument("--json", metavar="FILE", help="also write the scores (and per-sequence values) as JSON")
    p.add_argument(
        "--plots", metavar="DIR", help="write success/precision plots and per-attribute success plots (PNG, PDF) here"
    )
    p.add_argument("--sequences", metavar="A,B,...", help="score only these sequences")
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="score the sequences every tracker has instead of failing on a missing result",
    )
    p.add_argument(
        "--scoring",
        choices=("ope", "got10k"),
        help="override the benchmark's metrics: 'ope' = AUC / P / P_norm (e.g. on GOT-10k val or "
        "generated data), 'got10k' = AO / SR (default: the benchmark's own)",
    )
    p.add_argument(
        "--paired",
        action="store_true",
        help="also compare every tracker with the first one: the difference of the mean per-sequence "
        "AUC (AO) with a 95%% paired-bootstrap interval over sequences",
    )
    p.add_argument(
        "--pytracking-compat",
        action="store_true",
        help="reproduce pytracking's numbers, defects included (invalid frames succeed in P_norm, "
        "and in P on UAV; OP75 empty)",
    )
    p.set_defaults(handler=_report)


def _register_pack(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "pack",
        help="make a GOT-10k or TrackingNet submission archive",
        formatter_class=_FORMATTER,
        description=(
            "Zip test-set results in the layout the evaluation server expects:\n"
            "  got10k:      <seq>/<seq>_001.txt and <seq>/<seq>_time.txt (comma-separated)\n"
            "  trackingnet: <seq>.txt (comma-separated), flat\n"
            "Every sequence must be present (checked by name and line count with --root)."
        ),
        epilog=(
            "example:\n  seqtrack pack got10k runs/seqtrack-b256/got10k_test --root /data/got10k "
            "--out got10k_submit.zip"
        ),
    )
    p.add_argument("server", choices=("got10k", "trackingnet"))
    p.add_argument("results", metavar="RESULTS", help="results folder of the test set")
    p.add_argument("--out", required=True, metavar="FILE.zip", help="archive to write")
    p.add_argument("--root", type=Path, help="dataset folder, to check names and frame counts")
    p.add_argument("--integer", action="store_true", help="truncate boxes to integers like the official scripts")
    p.add_argument("--allow-incomplete", action="store_true", help="pack even if sequences are missing")
    p.set_defaults(handler=_pack)
