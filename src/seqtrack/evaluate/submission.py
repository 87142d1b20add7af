"""Submission archives for the benchmarks scored by a server (docs/official-behaviour.md §6.3).

* GOT-10k test: a zip whose top level holds one folder per sequence, ``<seq>/<seq>_001.txt``
  (``x,y,w,h`` a line, comma-separated) and ``<seq>/<seq>_time.txt`` (seconds a line).
* TrackingNet test: a flat zip of ``<seq>.txt`` (``x,y,w,h`` a line, comma-separated).

Input folders may use either result layout (our runner writes GOT-10k layout for GOT-10k and the
pytracking layout for TrackingNet). Values keep their precision unless ``integer=True`` (truncation,
as the official transform scripts do). Completeness is checked: every sequence of the benchmark (or
the expected count, 180 / 511, when no dataset root is given), one line per frame when the root is known.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqtrack.errors import InputError
from seqtrack.evaluate.benchmarks.base import Benchmark
from seqtrack.evaluate.results import find_time_file, read_numbers
from seqtrack.io.boxes import format_boxes, format_times
from seqtrack.io.files import OutputError, atomic_path, os_error_text, refuse_overlaps

GOT10K_TEST_COUNT = 180
TRACKINGNET_TEST_COUNT = 511


@dataclass(frozen=True)
class PackSummary:
    """What went into an archive."""

    path: Path
    sequences: list[str]


def _discover(results_dir: Path) -> dict[str, Path]:
    """sequence name -> boxes file (``<seq>/<seq>_001.txt`` preferred over ``<seq>.txt``)."""
    found: dict[str, Path] = {}
    for entry in sorted(results_dir.iterdir()):
        if entry.is_file() and entry.suffix == ".txt" and not entry.name.endswith("_time.txt"):
            found.setdefault(entry.stem, entry)
        elif entry.is_dir() and (entry / f"{entry.name}_001.txt").is_file():
            found[entry.name] = entry / f"{entry.name}_001.txt"
    return found


def _select(results_dir: Path, benchmark: Benchmark | None, expected: int, allow_incomplete: bool) -> dict[str, Path]:
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise InputError(f"no results folder at {results_dir}")
    found = _discover(results_dir)
    if benchmark is not None:
        names = benchmark.names()
        missing = [n for n in names if n not in found]
        if missing and not allow_incomplete:
            raise InputError(
                f"{len(missing)} of {len(names)} sequences have no result in {results_dir} (first: {missing[0]}); "
                "the server needs all of them (--allow-incomplete to pack anyway)"
            )
        return {n: found[n] for n in names if n in found}
    if len(found) != expected and not allow_incomplete:
        raise InputError(
            f"{results_dir} holds results for {len(found)} sequences, the test set has {expected} "
            "(pass --root to check names, or --allow-incomplete)"
        )
    if not found:
        raise InputError(f"no result files in {results_dir}")
    return found


def _boxes(path: Path, frames: int | None) -> np.ndarray:
    boxes = read_numbers(path, columns=4)
    if frames is not None and len(boxes) != frames:
        raise InputError(f"{path} has {len(boxes)} boxes for {frames} frames")
    return boxes


def _write_zip(out: Path, entries: dict[str, str]) -> Path:
    """The archive, written through a temporary file (`atomic_path`): a failure (full disk...) is one
    `OutputError`, leaves no temporary file and keeps a previous archive whole."""
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"could not write --out {out}: {os_error_text(error)}") from None
    with atomic_path(out, "--out") as temp:
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(entries):
                archive.writestr(name, entries[name])
    return out


def _refuse_inputs(out: Path, selected: dict[str, Path]) -> None:
    """``out`` must not be one of the result files it is made from (a link named ``x.zip`` to one)."""
    inputs: dict[str, Path | None] = {}
    for name, path in selected.items():
        inputs[f"the result file of {name}"] = path
        inputs[f"the time file of {name}"] = find_time_file(path)
    refuse_overlaps(inputs, {"--out": out})


def _frame_counts(benchmark: Benchmark | None, names: list[str]) -> dict[str, int]:
    if benchmark is None:
        return {}
    return {s.name: len(s.frames) for s in benchmark.sequences(names)}


def pack_got10k(
    results_dir: Path,
    out: Path,
    *,
    benchmark: Benchmark | None = None,
    integer: bool = False,
    allow_incomplete: bool = False,
) -> PackSummary:
    """Zip GOT-10k test results in the evaluation server's layout.

    Args:
        results_dir: folder of ``<seq>/<seq>_001.txt`` (or ``<seq>.txt``) files with their ``_time.txt``.
        out: the zip to write (written atomically; refused when it is one of the result files).
        benchmark: the ``got10k_test`` benchmark, to check names and line counts (optional).
        integer: truncate boxes to integers.
    """
    selected = _select(results_dir, benchmark, GOT10K_TEST_COUNT, allow_incomplete)
    _refuse_inputs(out, selected)
    counts = _frame_counts(benchmark, list(selected))
    entries = {}
    for name, path in selected.items():
        boxes = _boxes(path, counts.get(name))
        time_file = find_time_file(path)
        if time_file is None:
            raise InputError(f"missing time file for {name}: expected {path.with_name(name + '_time.txt')}")
        times = read_numbers(time_file)
        entries[f"{name}/{name}_001.txt"] = format_boxes(boxes, ",", integer)
        entries[f"{name}/{name}_time.txt"] = format_times(times)
    return PackSummary(_write_zip(out, entries), sorted(selected))


def pack_trackingnet(
    results_dir: Path,
    out: Path,
    *,
    benchmark: Benchmark | None = None,
    integer: bool = False,
    allow_incomplete: bool = False,
) -> PackSummary:
    """Zip TrackingNet test results as the server expects: flat ``<seq>.txt``, comma-separated.

    Args: as `pack_got10k` (``benchmark`` = the ``trackingnet`` benchmark).
    """
    selected = _select(results_dir, benchmark, TRACKINGNET_TEST_COUNT, allow_incomplete)
    _refuse_inputs(out, selected)
    counts = _frame_counts(benchmark, list(selected))
    entries = {
        f"{name}.txt": format_boxes(_boxes(path, counts.get(name)), ",", integer) for name, path in selected.items()
    }
    return PackSummary(_write_zip(out, entries), sorted(selected))


def check_archive_name(out: Path) -> Path:
    """``out`` must end in ``.zip`` (a typo otherwise overwrites a results file)."""
    if not re.search(r"\.zip$", str(out), re.IGNORECASE):
        raise InputError(f"--out must name a .zip file, got {out}")
    return Path(out)
