"""Parsing of the small text files tracking datasets ship (boxes, flags, labels, frame folders).

Every function takes the path it reads and raises `DatasetError` naming that path when the file is
missing or malformed, so readers never leak a bare ``FileNotFoundError`` or ``ValueError``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from seqtrack.errors import DatasetError

# Benchmarks separate box values with commas (LaSOT, GOT-10k, TrackingNet), tabs or spaces (OTB).
_SEPARATORS = re.compile(r"[,\s;]+")


def read_text(path: Path, what: str = "file") -> str:
    """The whole text of ``path``; `DatasetError` naming the path when it is missing or unreadable."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise DatasetError(f"missing {what}: expected {path}") from None
    except OSError as error:
        raise DatasetError(f"cannot read {what} {path}: {error.strerror or error}") from None


def read_groundtruth(path: Path) -> np.ndarray:
    """Read a benchmark's ground-truth file of one ``x,y,w,h`` box a line.

    Values may be separated by commas, tabs or spaces; ``NaN`` is accepted (unannotated frames).
    Blank lines are skipped.

    Returns:
        ``(N, 4)`` float64 ``xywh`` top-left pixels.
    """
    text = read_text(path, "ground-truth file")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise DatasetError(f"empty ground-truth file {path}: expected one 'x,y,w,h' line per frame")
    try:
        # Fast path: one flat parse of the whole file; checked for 4 values a line below.
        values = np.array(_SEPARATORS.split(" ".join(line.strip() for line in lines).strip()), dtype=np.float64)
    except ValueError:
        values = None
    if values is None or values.size != 4 * len(lines):
        for number, line in enumerate(lines, start=1):
            parts = [p for p in _SEPARATORS.split(line.strip()) if p]
            try:
                if len(parts) != 4:
                    raise ValueError
                [float(p) for p in parts]
            except ValueError:
                raise DatasetError(
                    f"malformed ground-truth file {path}, line {number}: {line.strip()!r} "
                    "(expected 4 numbers 'x,y,w,h')"
                ) from None
        raise DatasetError(f"malformed ground-truth file {path}")  # pragma: no cover - caught above
    return values.reshape(-1, 4)


def read_flag_line(path: Path, expected: int | None = None) -> np.ndarray:
    """Read LaSOT-style flags: 0/1 values on one (or more) lines, comma or space separated.

    Args:
        expected: number of values required (the frame count), or None to accept any.
    Returns:
        ``(N,)`` bool.
    """
    text = read_text(path, "flags file")
    parts = [p for p in _SEPARATORS.split(text.strip()) if p]
    try:
        values = np.array([int(float(p)) for p in parts], dtype=np.int64)
    except ValueError:
        raise DatasetError(f"malformed flags file {path}: expected comma-separated 0/1 values") from None
    if expected is not None and values.size != expected:
        raise DatasetError(f"malformed flags file {path}: {values.size} values for {expected} frames")
    return values != 0


def read_label_column(path: Path, expected: int | None = None) -> np.ndarray:
    """Read a GOT-10k label file (``absence.label``, ``cover.label``): one integer a line.

    Returns:
        ``(N,)`` int64.
    """
    text = read_text(path, "label file")
    parts = text.split()
    try:
        values = np.array([int(float(p)) for p in parts], dtype=np.int64)
    except ValueError:
        raise DatasetError(f"malformed label file {path}: expected one integer per line") from None
    if expected is not None and values.size != expected:
        raise DatasetError(f"malformed label file {path}: {values.size} labels for {expected} frames")
    return values


def list_numbered_frames(folder: Path, suffixes: tuple[str, ...] = (".jpg", ".jpeg", ".png")) -> list[Path]:
    """Image files of ``folder`` whose stem is an integer, sorted by that integer (not by name).

    GOT-10k names frames ``00000001.jpg``, TrackingNet ``0.jpg, 1.jpg, ..., 10.jpg``: sorting by the
    integer handles both. Files with non-numeric stems are ignored.
    """
    folder = Path(folder)
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        raise DatasetError(f"missing frames folder: expected {folder}") from None
    except NotADirectoryError:
        raise DatasetError(f"expected a frames folder at {folder}, found a file") from None
    numbered = []
    for entry in entries:
        stem, dot, suffix = entry.name.rpartition(".")
        if dot and stem.isdigit() and "." + suffix.lower() in suffixes:
            numbered.append((int(stem), entry.name))
    numbered.sort()
    return [folder / name for _, name in numbered]


def read_key_values(path: Path) -> dict[str, str]:
    """Parse ``key: value`` (or ``key = value``) lines, ignoring ``[section]`` headers and blanks.

    Used for GOT-10k's ``meta_info.ini``, whose values may contain ``%`` and ``:`` (URLs), which is why
    configparser (interpolation, duplicate checks) is not used.
    """
    result: dict[str, str] = {}
    for line in read_text(path, "meta-info file").splitlines():
        line = line.strip()
        if not line or line.startswith(("[", "#", ";")):
            continue
        match = re.match(r"([^:=]+?)\s*[:=]\s*(.*)$", line)
        if match:
            result[match.group(1).strip()] = match.group(2).strip()
    return result
