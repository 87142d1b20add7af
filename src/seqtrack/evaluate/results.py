"""Per-sequence result files: where they live, how they are written (atomically) and read back.

Layouts (see `seqtrack.evaluate.benchmarks.base`):

* ``pytracking``: ``<results>/<seq>.txt`` (one ``x<TAB>y<TAB>w<TAB>h`` line per frame, the first line
  is the init box) and ``<results>/<seq>_time.txt`` (seconds per frame).
* ``got10k``: ``<results>/<seq>/<seq>_001.txt`` (comma-separated; ``_002``... for repeated runs) and
  ``<results>/<seq>/<seq>_time.txt``.

File names, separators and number formatting come from `seqtrack.io.boxes`, which the tracking CLI's
`BoxWriter` uses too, so both write the same text for the same boxes; this module adds the atomic
write and the completeness checks an evaluation run needs.

Precision: our own files keep every float exactly (Python's shortest round-trip ``repr``), so scores
computed from them equal the scores of the in-memory boxes. The official toolkit truncates boxes to
integers before saving (docs/official-behaviour.md §6.1, §9.10); ``integer=True`` reproduces that.

Reading accepts tab-, comma- or whitespace-separated files, as other trackers write them.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import numpy as np

from seqtrack.data.sequence import Sequence
from seqtrack.evaluate.benchmarks.base import LAYOUT_GOT10K, LAYOUT_PYTRACKING
from seqtrack.evaluate.metrics import ResultsError
from seqtrack.io import files
from seqtrack.io.boxes import format_boxes, format_times, layout_paths, layout_separator

# The temporary files of `seqtrack.io.files.atomic_path` (``.<name>.<pid>.tmp``, `temporary_path`), which
# every result file goes through: what `remove_stale_temp_files` looks for.
TEMP_PREFIX = "."
TEMP_SUFFIX = ".tmp"
_TEMP_NAME = re.compile(r"^\..+\.(\d+)\.tmp$")
_SPLIT = re.compile(r"[,\s;]+")


class ResultsWriteError(files.OutputError):
    """A result file could not be written (full disk, read-only folder...): every later sequence would
    fail the same way after being tracked, so the run stops; the files written before stay whole."""


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see either nothing or the whole file (its folder is
    created when missing).

    The data goes to a hidden ``.<name>.<pid>.tmp`` file in the same folder (`seqtrack.io.files.atomic_path`:
    same file system, flushed and fsync'ed), then is renamed over ``path``. A crash leaves at most a hidden
    temp file, which `remove_stale_temp_files` cleans up later; a failed write leaves nothing.

    Raises:
        ResultsWriteError: the folder or the file cannot be written (one line naming the file).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        files.atomic_write_text(path, text, what="result file")
    except OSError as error:
        raise ResultsWriteError(f"could not write result file {path}: {files.os_error_text(error)}") from None
    except files.OutputError as error:
        raise ResultsWriteError(str(error)) from None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp_files(results_dir: Path) -> list[Path]:
    """Delete temp files left by killed writers (their pid no longer runs); returns what was removed.

    Files of live processes are kept so that two runs sharing a folder do not break each other.
    """
    removed = []
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return removed
    for path in results_dir.rglob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
        match = _TEMP_NAME.match(path.name)
        if match and not _pid_alive(int(match.group(1))):
            with contextlib.suppress(OSError):  # gone meanwhile, or a read-only folder: not worth failing on
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def result_paths(results_dir: Path, name: str, layout: str, run: int = 1) -> tuple[Path, Path]:
    """``(boxes file, time file)`` of sequence ``name`` in ``layout`` (run number for GOT-10k)."""
    if layout not in (LAYOUT_GOT10K, LAYOUT_PYTRACKING):
        raise ValueError(f"unknown result layout {layout!r}")
    (boxes_path,), time_path = layout_paths(results_dir, layout, name, run=run)
    assert time_path is not None  # both benchmark layouts have a time file
    return boxes_path, time_path


def write_result(
    results_dir: Path,
    name: str,
    boxes: np.ndarray,
    times: np.ndarray,
    layout: str,
    integer: bool = False,
) -> Path:
    """Write one finished sequence: the time file first, the boxes file last (its presence marks the
    sequence as done). Returns the boxes file path.

    Args:
        boxes: ``(N, 4)`` ``xywh`` pixels, first row = init box.
        times: ``(N,)`` seconds per frame.
        layout: `LAYOUT_PYTRACKING` (tab-separated) or `LAYOUT_GOT10K` (comma-separated).
        integer: truncate boxes to integers like the official toolkit (default: exact floats).
    """
    boxes_path, time_path = result_paths(results_dir, name, layout)
    atomic_write_text(time_path, format_times(times))
    atomic_write_text(boxes_path, format_boxes(boxes, layout_separator(layout), integer))
    return boxes_path


def count_lines(path: Path) -> int:
    """Number of non-blank lines of a text file (0 if it does not exist)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return sum(1 for line in handle if line.strip())
    except FileNotFoundError:
        return 0


def is_complete(results_dir: Path, seq: Sequence, layout: str) -> bool:
    """True when both files of ``seq`` exist and the boxes file has one line per frame."""
    boxes_path, time_path = result_paths(results_dir, seq.name, layout)
    return time_path.is_file() and count_lines(boxes_path) == len(seq.frames)


def read_numbers(path: Path, columns: int | None = None) -> np.ndarray:
    """Parse a numeric text file (tab, comma, semicolon or whitespace separated).

    Returns:
        ``(N, columns)`` float64 (or ``(N,)`` when ``columns`` is None and each line has one value).
    Raises:
        ResultsError: unreadable file, or a line with the wrong number of values (names the file/line).
    """
    try:
        lines = [line.strip() for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError as error:
        raise ResultsError(f"cannot read result file {path}: {error.strerror or error}") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        try:
            values = [float(v) for v in _SPLIT.split(line) if v]
        except ValueError:
            raise ResultsError(f"malformed result file {path}, line {number}: {line[:60]!r}") from None
        if columns is not None and len(values) != columns:
            raise ResultsError(
                f"malformed result file {path}, line {number}: expected {columns} values, got {len(values)}"
            )
        rows.append(values)
    if columns is None:
        return np.asarray([r[0] if len(r) == 1 else np.nan for r in rows], dtype=np.float64)
    return np.asarray(rows, dtype=np.float64).reshape(-1, columns)


def find_boxes_files(results_dir: Path, seq: Sequence) -> list[Path]:
    """Result files of ``seq`` in ``results_dir``, whichever layout they use.

    Looks for ``<name>.txt`` and the names in ``seq.meta["aliases"]`` (pytracking layout), then for
    ``<name>/<name>_NNN.txt`` (GOT-10k layout; every run is returned, sorted). Empty list if none.
    """
    results_dir = Path(results_dir)
    for candidate in [seq.name, *seq.meta.get("aliases", [])]:
        path = results_dir / f"{candidate}.txt"
        if path.is_file():
            return [path]
    run_dir = results_dir / seq.name
    if run_dir.is_dir():
        pattern = re.compile(rf"^{re.escape(seq.name)}_(\d{{3}})\.txt$")
        return sorted(p for p in run_dir.iterdir() if pattern.match(p.name))
    return []


def find_time_file(boxes_file: Path) -> Path | None:
    """The ``_time.txt`` file next to a boxes file (either layout), or None."""
    stem = boxes_file.stem
    base = stem[:-4] if re.search(r"_\d{3}$", stem) and boxes_file.parent.name == stem[:-4] else stem
    path = boxes_file.with_name(f"{base}_time.txt")
    return path if path.is_file() else None


def has_results(results_dir: Path) -> bool:
    """True when ``results_dir`` directly holds result files of either layout."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return False
    for entry in results_dir.iterdir():
        if entry.is_file() and entry.suffix == ".txt" and not entry.name.endswith("_time.txt"):
            return True
        if entry.is_dir() and (entry / f"{entry.name}_001.txt").is_file():
            return True
    return False
