"""Score result folders of one or more trackers on a benchmark: tables, JSON, attribute breakdown.

Result folders may come from our runner or from other trackers (pytracking layout ``<seq>.txt``,
tab or comma separated; GOT-10k layout ``<seq>/<seq>_001.txt``). Scoring follows
`seqtrack.evaluate.metrics`: AUC / P / P_norm / OP50 / OP75 (pytracking conventions, defects fixed
unless ``pytracking_compat``) or AO / SR0.5 / SR0.75 (GOT-10k toolkit conventions).

FPS = scored frames / the sum of their per-frame times (``_time.txt`` files; NaN when absent), per
worker process; `seqtrack.evaluate.throughput` projects it onto the standard benchmarks.

Attributes: each sequence's boolean ``attributes`` (LaSOT's 14, UAV123's 12...) give a per-attribute
table, in the order the benchmark lists them, with the number of scored sequences having each.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqtrack.data.sequence import Sequence
from seqtrack.errors import InputError
from seqtrack.evaluate.benchmarks.base import Benchmark, BenchmarkInfo
from seqtrack.evaluate.metrics import (
    Got10kSummary,
    SequenceCurves,
    Summary,
    attribute_summaries,
    got10k_sequence_ious,
    got10k_summary,
    sequence_curves,
    sequence_errors,
    summarize,
)
from seqtrack.evaluate.results import find_boxes_files, find_time_file, has_results, read_numbers
from seqtrack.evaluate.significance import PairedDifference, paired_bootstrap
from seqtrack.evaluate.throughput import BENCHMARK_SIZES, throughput_rows, throughput_table
from seqtrack.io.files import OutputError, atomic_write_text, os_error_text, refuse_overlaps
from seqtrack.io.images import ImageReadError, read_rgb


@dataclass(frozen=True)
class TrackerRun:
    """One tracker's results: display ``name`` and the folder holding its per-sequence files."""

    name: str
    results_dir: Path


@dataclass
class TrackerEvaluation:
    """Scores of one tracker.

    Attributes:
        summary: `Summary` (pytracking scoring) or `Got10kSummary` (GOT-10k scoring).
        per_sequence: sequence name -> {metric: value in percent}.
        curves: sequence name -> `SequenceCurves` (pytracking scoring only).
        attributes: attribute -> `Summary` over the sequences having it (pytracking scoring only).
        fps: frames per second from the time files (NaN if none).
        timed_frames, timed_seconds: what ``fps`` is made of (frames with a time, their total seconds).
    """

    run: TrackerRun
    summary: Summary | Got10kSummary
    per_sequence: dict[str, dict[str, float]]
    curves: dict[str, SequenceCurves] = field(default_factory=dict)
    attributes: dict[str, Summary] = field(default_factory=dict)
    fps: float = float("nan")
    timed_frames: int = 0
    timed_seconds: float = 0.0


@dataclass
class Report:
    """Everything `seqtrack report` prints and saves.

    ``attribute_counts``: attribute -> number of scored sequences having it, for every attribute some
    scored sequence lists (0 included), in the benchmark's order; ``n_frames``: frames of the scored
    sequences.
    """

    benchmark: BenchmarkInfo
    sequences: list[str]
    evaluations: list[TrackerEvaluation]
    pytracking_compat: bool = False
    missing: dict[str, list[str]] = field(default_factory=dict)
    attribute_counts: dict[str, int] = field(default_factory=dict)
    n_frames: int = 0


# --- finding result folders -----------------------------------------------------------------------


def resolve_runs(paths: Seq[str], benchmark: str) -> list[TrackerRun]:
    """Turn command-line arguments into tracker result folders.

    Each argument is ``PATH`` or ``NAME=PATH``. ``PATH`` may be the folder holding the result files,
    a folder holding ``<benchmark>/`` (as ``seqtrack eval`` writes ``runs/NAME/<benchmark>``), or a
    folder of such tracker folders (``runs/``). Names default to the tracker folder name.
    """
    runs: list[TrackerRun] = []
    for argument in paths:
        label, sep, raw = str(argument).partition("=")
        if not sep:
            label, raw = "", str(argument)
        path = Path(raw).expanduser()
        if not path.is_dir():
            raise InputError(f"no results folder at {path}")
        found = _runs_under(path, benchmark)
        if not found:
            raise InputError(
                f"no result files for {benchmark} under {path} (expected <seq>.txt or <seq>/<seq>_001.txt)"
            )
        if label:
            if len(found) > 1:
                raise InputError(f"{argument}: NAME= needs a single tracker folder, {path} holds {len(found)}")
            found = [TrackerRun(label, found[0].results_dir)]
        runs.extend(found)
    names = [r.name for r in runs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"two result folders are both named {duplicates[0]!r}: label them with NAME=PATH")
    return runs


def _runs_under(path: Path, benchmark: str) -> list[TrackerRun]:
    if has_results(path / benchmark):
        return [TrackerRun(path.name, path / benchmark)]
    if has_results(path):
        name = path.parent.name if path.name == benchmark else path.name
        return [TrackerRun(name, path)]
    runs = []
    for child in sorted(p for p in path.iterdir() if p.is_dir()):
        if has_results(child / benchmark):
            runs.append(TrackerRun(child.name, child / benchmark))
        elif has_results(child):
            runs.append(TrackerRun(child.name, child))
    return runs


# --- scoring --------------------------------------------------------------------------------------


def _image_wh(seq: Sequence) -> tuple[float, float] | None:
    """``(W, H)`` of the sequence's frames in pixels (from its meta, else its first frame); None if unknown."""
    if "image_wh" in seq.meta:
        return seq.meta["image_wh"]  # type: ignore[return-value]
    if not seq.frames:
        return None
    try:
        image = read_rgb(seq.frames[0])
    except ImageReadError:
        return None  # an unreadable frame leaves the boxes unclipped rather than failing the report
    return float(image.shape[1]), float(image.shape[0])


def _time_totals(files: list[Path], n_frames: int) -> tuple[int, float]:
    """(timed frames, total seconds) from the time file of the first run."""
    time_file = find_time_file(files[0])
    if time_file is None:
        return 0, 0.0
    times = read_numbers(time_file)
    times = times[np.isfinite(times) & (times > 0)][:n_frames]
    return int(times.size), float(times.sum())


def evaluate_run(
    benchmark: BenchmarkInfo,
    sequences: Seq[Sequence],
    run: TrackerRun,
    *,
    pytracking_compat: bool = False,
) -> TrackerEvaluation:
    """Score one tracker on ``sequences`` (every one must have a result file).

    Raises:
        InputError: a result file is missing (the message names the expected path).
        ResultsError: a result file is malformed.
    """
    got10k = benchmark.scoring == "got10k"
    frames_timed, seconds = 0, 0.0
    per_sequence: dict[str, dict[str, float]] = {}
    curves: dict[str, SequenceCurves] = {}
    ious: list[np.ndarray] = []
    for seq in sequences:
        files = find_boxes_files(run.results_dir, seq)
        if not files:
            raise InputError(
                f"missing result for {seq.name} of {run.name}: expected {run.results_dir / (seq.name + '.txt')}"
            )
        predictions = [read_numbers(f, columns=4) for f in files]
        timed, total = _time_totals(files, len(seq.frames))
        frames_timed, seconds = frames_timed + timed, seconds + total
        if got10k:
            cover = seq.meta.get("cover")
            if cover is None and seq.visible is not None:
                cover = np.asarray(seq.visible, dtype=int)
            wh = _image_wh(seq)
            seq_ious = [got10k_sequence_ious(p, seq.boxes, cover, wh, name=seq.name) for p in predictions]
            ious.extend(seq_ious)
            per_sequence[seq.name] = got10k_summary(seq_ious).as_dict()
            per_sequence[seq.name].pop("success_curve")
        else:
            run_curves = [
                sequence_curves(
                    sequence_errors(
                        p,
                        seq.boxes,
                        seq.visible,
                        dataset=benchmark.name,
                        strict_length=benchmark.strict_length,
                        pytracking_compat=pytracking_compat,
                        name=seq.name,
                    ),
                    pytracking_compat=pytracking_compat,
                )
                for p in predictions
            ]
            # repeated runs of one sequence are averaged (pytracking's "merge_results")
            merged = SequenceCurves(
                success=np.mean([c.success for c in run_curves], axis=0),
                precision=np.mean([c.precision for c in run_curves], axis=0),
                norm_precision=np.mean([c.norm_precision for c in run_curves], axis=0),
                n_frames=run_curves[0].n_frames,
            )
            curves[seq.name] = merged
            one = summarize([merged], pytracking_compat=pytracking_compat)
            per_sequence[seq.name] = {"auc": one.auc, "precision": one.precision, "norm_precision": one.norm_precision}
    fps = frames_timed / seconds if seconds > 0 else float("nan")
    timing = {"fps": fps, "timed_frames": frames_timed, "timed_seconds": seconds}
    if got10k:
        return TrackerEvaluation(run=run, summary=got10k_summary(ious), per_sequence=per_sequence, **timing)
    flags = {
        s.name: {k: bool(v) for k, v in s.attributes.items() if isinstance(v, (bool, np.bool_))} for s in sequences
    }
    return TrackerEvaluation(
        run=run,
        summary=summarize(list(curves.values()), pytracking_compat=pytracking_compat),
        per_sequence=per_sequence,
        curves=curves,
        attributes=attribute_summaries(curves, flags, pytracking_compat=pytracking_compat),
        **timing,
    )


def build_report(
    benchmark: Benchmark,
    runs: Seq[TrackerRun],
    *,
    sequences: Seq[Sequence] | None = None,
    pytracking_compat: bool = False,
    allow_missing: bool = False,
    scoring: str | None = None,
) -> Report:
    """Score every run on the benchmark.

    Args:
        sequences: the sequences to score (default: all of the benchmark).
        allow_missing: score only the sequences every run has results for (otherwise a missing
            result file is an error).
        scoring: override the benchmark's own rules: ``"pytracking"`` (AUC / P / P_norm, one-pass
            evaluation) or ``"got10k"`` (AO / SR); None → the benchmark's. Lets GOT-layout data with
            local ground truth (GOT-10k val, generated data) be scored with AUC / P / P_norm too.
    """
    info = benchmark.info
    if scoring is not None:
        if scoring not in ("pytracking", "got10k"):
            raise InputError(f"unknown scoring {scoring!r}; expected 'pytracking' or 'got10k'")
        if info.scoring != "server":
            info = dataclasses.replace(info, scoring=scoring)
    if info.scoring == "server":
        raise InputError(
            f"{info.title} ground truth is withheld: results are scored by its server "
            f"(make the archive with 'seqtrack pack {'got10k' if info.name.startswith('got10k') else 'trackingnet'}')"
        )
    if not runs:
        raise InputError("no result folders given")
    sequences = list(sequences) if sequences is not None else benchmark.sequences()
    missing = {r.name: [s.name for s in sequences if not find_boxes_files(r.results_dir, s)] for r in runs}
    missing = {k: v for k, v in missing.items() if v}
    if missing and not allow_missing:
        name, names = next(iter(missing.items()))
        run = next(r for r in runs if r.name == name)
        raise InputError(
            f"{name} has no results for {len(names)} of {len(sequences)} sequences (first: "
            f"{run.results_dir / (names[0] + '.txt')}); pass --allow-missing to score the common ones"
        )
    skip = {n for names in missing.values() for n in names}
    scored = [s for s in sequences if s.name not in skip]
    if not scored:
        raise InputError("no sequence has results from every tracker")
    evaluations = [evaluate_run(info, scored, r, pytracking_compat=pytracking_compat) for r in runs]
    return Report(
        info,
        [s.name for s in scored],
        evaluations,
        pytracking_compat,
        missing,
        attribute_counts=attribute_counts(scored),
        n_frames=sum(len(s.frames) for s in scored),
    )


def attribute_counts(sequences: Seq[Sequence]) -> dict[str, int]:
    """Attribute -> number of ``sequences`` flagged with it, for every boolean attribute any of them lists
    (zero counts kept: an attribute absent from a subset is worth seeing), in first-listed order, which is
    the benchmark's own (LaSOT's toolkit order, for instance)."""
    counts: dict[str, int] = {}
    for seq in sequences:
        for key, value in seq.attributes.items():
            if isinstance(value, (bool, np.bool_)):
                counts[key] = counts.get(key, 0) + int(bool(value))
    return counts


# --- output ---------------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 1) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def markdown_table(report: Report) -> str:
    """The comparison table (Markdown), one row per tracker in the given order."""
    lines = []
    if report.benchmark.scoring == "got10k":
        lines += ["| Tracker | AO | SR0.5 | SR0.75 | FPS |", "|---|---:|---:|---:|---:|"]
        for e in report.evaluations:
            s = e.summary
            lines.append(f"| {e.run.name} | {_fmt(s.ao)} | {_fmt(s.sr50)} | {_fmt(s.sr75)} | {_fmt(e.fps)} |")
    else:
        lines += ["| Tracker | AUC | P | P_norm | OP50 | OP75 | FPS |", "|---|---:|---:|---:|---:|---:|---:|"]
        for e in report.evaluations:
            s = e.summary
            lines.append(
                f"| {e.run.name} | {_fmt(s.auc)} | {_fmt(s.precision)} | {_fmt(s.norm_precision)} | "
                f"{_fmt(s.op50)} | {_fmt(s.op75)} | {_fmt(e.fps)} |"
            )
    note = f"{report.benchmark.title}, {len(report.sequences)} sequences"
    if report.pytracking_compat:
        note += ", pytracking-compatible scoring (invalid frames count in P_norm; OP75 empty)"
    if report.missing:
        note += f"; scored only sequences every tracker has ({sum(map(len, report.missing.values()))} missing results)"
    return "\n".join(lines) + f"\n\n{note}.\n"


def attribute_table(report: Report, metric: str = "auc") -> str:
    """Per-attribute Markdown table (rows: attributes with their sequence count, in the benchmark's order;
    columns: trackers); empty string when the benchmark has no attributes."""
    counts = dict(report.attribute_counts)
    for e in report.evaluations:  # a Report built by hand may lack the counts: take them from the scores
        for attr, summary in e.attributes.items():
            counts.setdefault(attr, summary.n_sequences)
    if not counts:
        return ""
    header = "| Attribute (sequences) | " + " | ".join(e.run.name for e in report.evaluations) + " |"
    lines = [header, "|---|" + "---:|" * len(report.evaluations)]
    for attr, count in counts.items():
        values = [
            _fmt(getattr(e.attributes[attr], metric)) if attr in e.attributes else "–" for e in report.evaluations
        ]
        lines.append(f"| {attr} ({count}) | " + " | ".join(values) + " |")
    return "\n".join(lines) + f"\n\n{metric.upper()} by attribute.\n"


def speed_table(report: Report) -> str:
    """`throughput_table` of the report's trackers, the scored set projected too; empty without time files."""
    return throughput_table({e.run.name: e.fps for e in report.evaluations}, _scored_size(report))


def _scored_size(report: Report) -> tuple[str, int, int] | None:
    return (report.benchmark.title, len(report.sequences), report.n_frames) if report.n_frames else None


def paired_differences(report: Report, resamples: int = 10000, seed: int = 0) -> dict[str, PairedDifference]:
    """Each tracker after the first against the first: paired bootstrap over the scored sequences.

    The metric is the per-sequence AUC (one-pass scoring) or AO (GOT-10k scoring); see
    `seqtrack.evaluate.significance`. Returns ``{tracker name: PairedDifference}`` (difference = that
    tracker minus the first).
    """
    metric = "ao" if report.benchmark.scoring == "got10k" else "auc"
    first, *others = report.evaluations
    reference = [first.per_sequence[name][metric] for name in report.sequences]
    return {
        e.run.name: paired_bootstrap(
            reference, [e.per_sequence[name][metric] for name in report.sequences], resamples=resamples, seed=seed
        )
        for e in others
    }


def paired_table(report: Report, differences: dict[str, PairedDifference]) -> str:
    """Markdown table of `paired_differences`; empty string with fewer than two trackers."""
    if not differences:
        return ""
    metric = "AO" if report.benchmark.scoring == "got10k" else "AUC"
    first = report.evaluations[0].run.name
    confidence = next(iter(differences.values())).confidence
    lines = [
        f"| Tracker | {metric} - {first}'s | {100 * confidence:g}% interval | resamples where it is higher |",
        "|---|---:|---:|---:|",
    ]
    for name, d in differences.items():
        lines.append(
            f"| {name} | {d.difference:+.1f} | [{d.low:+.1f}, {d.high:+.1f}] | {100 * d.share_b_better:.0f}% |"
        )
    n = next(iter(differences.values())).n_sequences
    return (
        "\n".join(lines) + f"\n\nPaired bootstrap over the {n} sequences (mean per-sequence {metric}): an interval "
        "that contains 0 means the data do not tell the two trackers apart.\n"
    )


def report_dict(report: Report) -> dict[str, object]:
    """JSON-friendly content of the report (scores in percent; curves as fractions)."""
    return {
        "benchmark": report.benchmark.name,
        "title": report.benchmark.title,
        "scoring": report.benchmark.scoring,
        "pytracking_compat": report.pytracking_compat,
        "sequences": report.sequences,
        "missing": report.missing,
        "attribute_counts": report.attribute_counts,
        "throughput": {
            "per": "worker process",
            "scored_frames": report.n_frames,
            "benchmark_frames": {k: dataclasses.asdict(v) for k, v in BENCHMARK_SIZES.items()},
            "trackers": throughput_rows({e.run.name: e.fps for e in report.evaluations}, _scored_size(report)),
        },
        "trackers": [
            {
                "name": e.run.name,
                "results": str(e.run.results_dir),
                "fps": None if not math.isfinite(e.fps) else e.fps,
                "timed_frames": e.timed_frames,
                "timed_seconds": e.timed_seconds,
                "summary": e.summary.as_dict(),
                "per_sequence": e.per_sequence,
                "attributes": {a: s.as_dict() for a, s in e.attributes.items()},
            }
            for e in report.evaluations
        ],
    }


def write_json(report: Report, path: Path, differences: dict[str, PairedDifference] | None = None) -> Path:
    """Write `report_dict` (and, if given, the `paired_differences` under ``"paired"``) to ``path``
    (folders created) through a temporary file: a failure is one `OutputError` and keeps a previous file
    whole. Returns the path."""
    path = Path(path)
    content = report_dict(report)
    if differences:
        content["paired"] = {
            "reference": report.evaluations[0].run.name,
            "differences": {name: d.as_dict() for name, d in differences.items()},
        }
    text = json.dumps(content, indent=2, allow_nan=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"could not write --json {path}: {os_error_text(error)}") from None
    atomic_write_text(path, text, what="--json")
    return path


def refuse_input_overwrite(runs: Seq[TrackerRun], benchmark: Benchmark, output: Path, what: str) -> None:
    """Refuse an ``output`` file (``--json``) that is one of the files the report reads: a result or time
    file of ``runs`` (``<seq>.txt``, ``<seq>_time.txt``, ``<seq>/<seq>_NNN.txt``), or an existing file of
    the benchmark's dataset (its annotations).

    Raises:
        InputError: ``--json res/x.txt is a result file of res (x.txt): it would be overwritten``.
    """
    inputs: dict[str, Path] = {}
    for run in runs:
        for path in [*run.results_dir.glob("*.txt"), *run.results_dir.glob("*/*.txt")]:
            inputs[f"a result file of {run.name} ({path.relative_to(run.results_dir)})"] = path
    refuse_overlaps(inputs, {what: output})
    resolved = Path(output).expanduser().resolve()
    if resolved.is_file() and resolved.is_relative_to(Path(benchmark.root).expanduser().resolve()):
        raise InputError(f"{what} {output} is a file of the {benchmark.info.title} dataset: it would be overwritten")
