"""What a benchmark is, for the runner and the report: a named list of `Sequence` records plus the
few facts that change how it is run and scored.

Each benchmark module defines one or more `BenchmarkInfo` values (static facts and two functions:
``list_names(root)`` and ``read(root, name)``); `Benchmark` binds one to a root folder.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from seqtrack.data.sequence import Sequence
from seqtrack.errors import DatasetError, InputError

#: Result-file layouts the runner writes and the report reads.
LAYOUT_PYTRACKING = "pytracking"  # <results>/<seq>.txt + <seq>_time.txt
LAYOUT_GOT10K = "got10k"  # <results>/<seq>/<seq>_001.txt + <seq>/<seq>_time.txt


@dataclass(frozen=True)
class BenchmarkInfo:
    """Static description of a benchmark.

    Attributes:
        name: canonical name used on the command line (``"lasot"``, ``"got10k_test"``...).
        title: name for tables and plots (``"LaSOT"``).
        update_preset: the tracker's per-benchmark template-update preset (docs/official-behaviour.md §4.4, the
        lower-cased
            official key: ``"lasot"``, ``"got10k_test"``, ``"default"``...).
        layout: result-file layout, `LAYOUT_PYTRACKING` or `LAYOUT_GOT10K`.
        scoring: ``"pytracking"`` (AUC / P / P_norm), ``"got10k"`` (AO / SR) or ``"server"`` (ground
            truth withheld: only submission packing makes sense).
        strict_length: pytracking's LaSOT rule: too few predictions is an error instead of zero padding.
        expected_count: number of sequences of the full benchmark (a warning when it differs), or None.
        layout_help: one line describing the expected folder layout under ``--root``.
        list_names: ``root -> [sequence names]`` (cheap: reads lists / folder names only).
        read: ``(root, name) -> Sequence`` (reads annotation files, never pixels).
    """

    name: str
    title: str
    update_preset: str
    layout: str
    scoring: str
    strict_length: bool
    expected_count: int | None
    layout_help: str
    list_names: Callable[[Path], list[str]]
    read: Callable[[Path, str], Sequence]


@dataclass(frozen=True)
class Benchmark:
    """A benchmark bound to the folder it lives in."""

    info: BenchmarkInfo
    root: Path

    @property
    def name(self) -> str:
        """Canonical benchmark name."""
        return self.info.name

    @property
    def update_preset(self) -> str:
        """The tracker update preset this benchmark uses by default (docs/official-behaviour.md §4.4)."""
        return self.info.update_preset

    def names(self) -> list[str]:
        """Names of all sequences found under ``root``, in the benchmark's order."""
        if not self.root.is_dir():
            raise DatasetError(f"missing {self.info.title} root folder: expected {self.root} ({self.info.layout_help})")
        names = self.info.list_names(self.root)
        if not names:
            raise DatasetError(f"no {self.info.title} sequences under {self.root}: expected {self.info.layout_help}")
        return names

    def sequences(self, names: Iterable[str] | None = None) -> list[Sequence]:
        """Read the sequences (all of them, or ``names`` in the given order).

        Raises:
            InputError: a requested name is not part of the benchmark.
            DatasetError: a sequence's files are missing or malformed (the message names the file).
        """
        available = self.names()
        if names is None:
            selected = available
        else:
            selected = list(names)
            known = set(available)
            unknown = [n for n in selected if n not in known]
            if unknown:
                sample = ", ".join(available[:5]) + (", ..." if len(available) > 5 else "")
                raise InputError(
                    f"unknown {self.info.title} sequence(s) {', '.join(unknown)} under {self.root} (found: {sample})"
                )
        return [self.info.read(self.root, n) for n in selected]


def natural_key(name: str) -> tuple:
    """Sort key that orders ``car2`` before ``car10`` (digit runs compare as integers)."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name))


def require_dir(path: Path, what: str) -> Path:
    """``path`` if it is a folder, else `DatasetError` naming it."""
    if not path.is_dir():
        raise DatasetError(f"missing {what}: expected {path}")
    return path


def require_file(path: Path, what: str) -> Path:
    """``path`` if it is a file, else `DatasetError` naming it."""
    if not path.is_file():
        raise DatasetError(f"missing {what}: expected {path}")
    return path


def check_frames_exist(frames: list[Path], what: str) -> None:
    """Cheap sanity check of a computed frame list: the first and last frames must exist."""
    for frame in (frames[0], frames[-1]) if frames else ():
        if not frame.is_file():
            raise DatasetError(f"missing {what} frame: expected {frame}")
