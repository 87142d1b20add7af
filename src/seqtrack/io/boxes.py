"""Box files: per-frame ``xywh`` boxes written as text, in our plain layout or a benchmark's.

Boxes are ``xywh`` (top-left x, y, width, height in frame pixels). This module is the one place that
knows how the box files look: file names, separators, number formatting and time files. `BoxWriter`
(the tracking CLI, one flushed line per frame) and `seqtrack.evaluate.results.write_result` (a whole
sequence at once, written atomically) both format through it, so they write the same text.
(`BoxWriter` always ends lines with LF; the atomic writer uses the platform's line ends, so on
Windows, and only there, the two files differ in line ends.)

Numbers are written with Python's ``repr`` (the shortest text that reads back to the identical
float64), so a file round-trips bit for bit through `read_box_file`. The official toolkits truncate
boxes to integers instead; ``integer=True`` in `format_boxes` reproduces that.

Layouts (`BoxLayout`):

* ``"plain"`` (``path`` is the file): ``x,y,w,h,score`` per line. The first line is the init box; its
  score is ``nan`` (the init box is given, not predicted), and so is any score the caller passes as
  ``None``. ``nan`` rather than an empty field keeps every line five numbers that ``float()``,
  ``numpy.loadtxt(delimiter=",")`` and spreadsheets read.
* ``"pytracking"`` (``path`` is the results folder, ``sequence`` names the file): ``<seq>.txt`` with
  tab-separated ``x y w h`` and ``<seq>_time.txt`` with one time in seconds per frame, as the
  pytracking / official SeqTrack evaluation code reads them.
* ``"got10k"`` (``path`` is the results folder): ``<seq>/<seq>_001.txt`` comma-separated ``x,y,w,h``
  and ``<seq>/<seq>_time.txt``, the GOT-10k toolkit's submission layout (``run=`` picks ``_002``,
  ``_003`` for repeated runs).

Multiple targets: one file per target, each in the single-target format, so every reader and
evaluation tool applies to each file unchanged. The files are ``<stem>_t<id><suffix>`` for
``"plain"`` (``boxes.txt`` → ``boxes_t0.txt``, ``boxes_t1.txt``) and ``<seq>_<id>.txt`` for
``"pytracking"`` (its own multi-object naming; the time file stays one per frame). GOT-10k is
single-target only. A target absent from a frame is written as a line of ``nan`` so line ``i`` is
always frame ``i``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from seqtrack.errors import InputError
from seqtrack.io.files import Closeable, LineFile, interrupts_deferred

BoxLayout = Literal["plain", "pytracking", "got10k"]
LAYOUTS: tuple[BoxLayout, ...] = ("plain", "pytracking", "got10k")


# ----------------------------------------------------------------------------------------------
# Layout formatting: file names, separators, numbers
# ----------------------------------------------------------------------------------------------


def layout_paths(
    path: str | os.PathLike[str],
    layout: BoxLayout,
    sequence: str | None = None,
    *,
    target_ids: Sequence[int | str] | None = None,
    run: int = 1,
) -> tuple[list[Path], Path | None]:
    """``(box files, time file)`` of a layout; see the module docstring for the names.

    Args:
        path: ``"plain"``: the box file; benchmark layouts: the results folder.
        layout: one of `LAYOUTS` (the caller has checked it).
        sequence: sequence name (benchmark layouts).
        target_ids: ``None`` for one target, else one box file per id (not for ``"got10k"``).
        run: GOT-10k repetition number (``<seq>_<run:03d>.txt``).

    Returns:
        The box files in target order, and the time file (``None`` for ``"plain"``).
    """
    root = Path(path)
    if layout == "plain":
        if target_ids is None:
            return [root], None
        return [root.with_name(f"{root.stem}_t{i}{root.suffix}") for i in target_ids], None
    if layout == "pytracking":
        if target_ids is None:
            boxes = [root / f"{sequence}.txt"]
        else:
            boxes = [root / f"{sequence}_{i}.txt" for i in target_ids]
        return boxes, root / f"{sequence}_time.txt"
    folder = root / str(sequence)
    return [folder / f"{sequence}_{run:03d}.txt"], folder / f"{sequence}_time.txt"


def layout_separator(layout: BoxLayout) -> str:
    """The field separator of a layout's box lines: a tab for pytracking, a comma otherwise."""
    return "\t" if layout == "pytracking" else ","


def format_number(value: float, integer: bool = False) -> str:
    """One number as written to a box or time file.

    Full precision by default: ``repr`` round-trips float64 exactly (``nan``/``inf`` as words).
    ``integer=True`` truncates toward zero, like numpy's ``astype(int)`` in the official toolkit.
    """
    if integer:
        return str(int(value))
    return repr(float(value))


def format_box_line(values: Iterable[float], separator: str, integer: bool = False) -> str:
    """One line of a box file: ``values`` (``x, y, w, h`` and, in plain files, the score)."""
    return separator.join(format_number(v, integer) for v in values) + "\n"


def format_boxes(boxes: np.ndarray, separator: str = "\t", integer: bool = False) -> str:
    """Text of a ``(N, 4)`` ``xywh`` array, one line per box (a benchmark layout's box file)."""
    rows = np.asarray(boxes).reshape(-1, 4)
    return "".join(format_box_line(row, separator, integer) for row in rows)


def format_times(times: Iterable[float]) -> str:
    """Text of a time file: per-frame times in seconds, one a line, full precision."""
    return "".join(format_number(t) + "\n" for t in times)


def as_xywh(box_xywh: Sequence[float] | np.ndarray | None, what: str) -> tuple[float, float, float, float]:
    """Validate an ``xywh`` box (``None`` → a box of ``nan``) as four floats.

    Raises:
        InputError: the box does not hold 4 numbers; the message starts with ``what``.
    """
    if box_xywh is None:
        return (math.nan,) * 4  # type: ignore[return-value]
    values = np.asarray(box_xywh, dtype=np.float64).reshape(-1)
    if values.size != 4:
        raise InputError(f"{what}: expected a box of 4 numbers x,y,w,h, got {values.size}")
    return tuple(float(v) for v in values)  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------
# Writing, one frame at a time
# ----------------------------------------------------------------------------------------------


def _target_ids(targets: int | Sequence[int | str] | None) -> list[int | str] | None:
    """The ids of ``targets=`` (``None``: one target; ``n``: ``0..n-1``; else the ids themselves)."""
    if targets is None:
        return None
    if isinstance(targets, int) and not isinstance(targets, bool):
        if targets < 1:
            raise InputError(f"targets must be >= 1, got {targets}")
        return list(range(targets))
    ids = list(targets)
    if not ids or len(set(map(str, ids))) != len(ids):
        raise InputError(f"targets must be distinct ids, got {ids!r}")
    return ids


class BoxWriter(Closeable):
    """Write per-frame ``xywh`` boxes (and scores, times) to text files, one flushed line per frame.

    Each line goes to the OS as it is written (`seqtrack.io.files.LineFile`), so a run that is interrupted
    or killed keeps every frame tracked so far; a frame is written to every file or to none (a failed
    write, e.g. on a full disk, or an interrupt in the middle is undone), so the files never end in half
    a line and line ``i`` of each file is frame ``i``.

    Args:
        path: ``"plain"``: the boxes file (e.g. ``tracked.txt``). Benchmark layouts: the results
            folder in which ``sequence``'s files are created. Parent folders are created; existing
            files are overwritten.
        layout: ``"plain"``, ``"pytracking"`` or ``"got10k"`` (see the module docstring).
        sequence: sequence name, required for the benchmark layouts (names their files).
        targets: ``None`` for one target; an int ``n`` (ids ``0..n-1``) or a list of ids for one
            file per target.
        run: GOT-10k repetition number (``<seq>_<run:03d>.txt``).

    Use it as a context manager. Call `write` (single target) or `write_frame` (all targets) once per
    frame, starting with the init frame.

    Attributes:
        paths: the box files, one per target, in target order.
        time_path: the time file, or ``None`` for ``"plain"`` (which has no time file).
        frames_written: number of frames (lines per file) written so far.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        layout: BoxLayout = "plain",
        *,
        sequence: str | None = None,
        targets: int | Sequence[int | str] | None = None,
        run: int = 1,
    ) -> None:
        if layout not in LAYOUTS:
            raise InputError(f"unknown box file layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
        if layout != "plain" and not sequence:
            raise InputError(f"box file layout {layout!r} needs a sequence name")
        ids = _target_ids(targets)
        if layout == "got10k" and ids is not None and len(ids) > 1:
            raise InputError("the GOT-10k layout holds a single target per sequence")

        self.layout: BoxLayout = layout
        self.target_ids = ids
        self.time_path: Path | None
        self.paths, self.time_path = layout_paths(Path(path).expanduser(), layout, sequence, target_ids=ids, run=run)
        self._sep = layout_separator(layout)
        self.frames_written = 0
        self._files: list[LineFile] = []
        self._time_file: LineFile | None = None
        try:
            for p in self.paths:
                self._files.append(LineFile(p, "box file"))
            if self.time_path is not None:
                self._time_file = LineFile(self.time_path, "time file")
        except BaseException:
            self.close()
            raise

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return not self._files

    def write(
        self,
        box_xywh: Sequence[float] | np.ndarray | None,
        score: float | None = None,
        *,
        time_s: float | None = None,
    ) -> None:
        """Write one frame of a single-target run: ``box_xywh`` (4 numbers, pixels), its score
        (``None`` → ``nan``, e.g. for the init frame) and, for benchmark layouts, the frame's
        processing time in seconds (``None`` → ``nan``)."""
        if len(self.paths) != 1:
            raise InputError(f"this BoxWriter has {len(self.paths)} targets; use write_frame()")
        self.write_frame([box_xywh], [score], time_s=time_s)

    def write_frame(
        self,
        boxes_xywh: Sequence[Sequence[float] | np.ndarray | None] | np.ndarray,
        scores: Sequence[float | None] | None = None,
        *,
        time_s: float | None = None,
    ) -> None:
        """Write one frame for every target: ``boxes_xywh`` is ``(T, 4)`` (``None`` for a target
        absent from this frame), ``scores`` ``(T,)`` or ``None``; one line goes to each file and each
        is flushed before returning."""
        if self.closed:
            raise ValueError("BoxWriter is closed")
        frame = self.frames_written
        if len(boxes_xywh) != len(self.paths):
            raise InputError(f"frame {frame}: got {len(boxes_xywh)} boxes for {len(self.paths)} targets")
        if scores is not None and len(scores) != len(self.paths):
            raise InputError(f"frame {frame}: got {len(scores)} scores for {len(self.paths)} targets")
        lines = []
        for t, box in enumerate(boxes_xywh):
            values = list(as_xywh(box, f"frame {frame}, target {t}"))
            if self.layout == "plain":
                score = None if scores is None else scores[t]
                values.append(math.nan if score is None or box is None else float(score))
            lines.append(format_box_line(values, self._sep))
        # Format everything first so a bad box leaves no file a line ahead of the others; LF line ends:
        # the same bytes on every platform, as the benchmark toolkits expect.
        if self._time_file is not None:
            lines.append(format_times([math.nan if time_s is None else time_s]))
        handles = [*self._files, *([self._time_file] if self._time_file is not None else [])]
        marks, done = [handle.committed for handle in handles], False
        try:
            with interrupts_deferred():  # Ctrl-C or SIGTERM through seqtrack.cli: after the whole frame
                for handle, line in zip(handles, lines, strict=True):
                    handle.write(line)
                for handle in handles:
                    handle.commit()
                self.frames_written += 1
                done = True
        except BaseException:  # a full disk (OutputError), an interrupt: no file keeps part of the frame
            if not done:
                for handle, mark in zip(handles, marks, strict=True):
                    handle.rollback(mark)
            raise

    def close(self) -> None:
        """Close every file (idempotent)."""
        for handle in self._files:
            handle.close()
        self._files = []
        if self._time_file is not None:
            self._time_file.close()
            self._time_file = None


# ----------------------------------------------------------------------------------------------
# Reading our box files back
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoxTrack:
    """Boxes read back from a file by `read_box_file`.

    Attributes:
        boxes: ``(N, 4)`` float64 ``xywh`` pixels, one row per line (frame) of the file.
        scores: ``(N,)`` float64; ``nan`` where the line had no 5th column or ``nan`` in it.
        path: the file read.
    """

    boxes: np.ndarray
    scores: np.ndarray
    path: Path

    def __len__(self) -> int:
        return int(self.boxes.shape[0])


_SEPARATORS = re.compile(r"[,\s]+")


def read_box_file(path: str | os.PathLike[str]) -> BoxTrack:
    """Read a boxes file: one ``x,y,w,h[,score]`` line per frame.

    Accepts what `BoxWriter` writes in any layout and hand-written files: fields separated by commas,
    tabs or spaces (in any mix), blank lines and ``#`` comment lines skipped, ``nan``/``NaN`` allowed.
    The CLI's ``--box-file`` takes ``read_box_file(p).boxes[0]``. (Benchmark ground truth is read by
    `seqtrack.data.annotations.read_groundtruth`, which raises `DatasetError` instead.)

    Returns:
        `BoxTrack` with ``boxes`` ``(N, 4)`` and ``scores`` ``(N,)`` float64.

    Raises:
        InputError: the file is missing or unreadable, a line does not hold 4 or 5 numbers (the
            message names the file and line number), or there is no box at all.
    """
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8-sig")  # -sig: tolerate a BOM from Windows editors
    except FileNotFoundError:
        raise InputError(f"box file not found: '{file}'") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read box file '{file}' ({error})") from None
    boxes: list[list[float]] = []
    scores: list[float] = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.strip()
        if not content or content.startswith("#"):
            continue
        fields = [f for f in _SEPARATORS.split(content) if f]
        if len(fields) not in (4, 5):
            raise InputError(
                f"{file}:{number}: expected 4 numbers x,y,w,h (and optionally a score), got "
                f"{len(fields)} field(s): {content[:80]!r}"
            )
        try:
            values = [float(f) for f in fields]
        except ValueError:
            raise InputError(f"{file}:{number}: not a number in {content[:80]!r}") from None
        boxes.append(values[:4])
        scores.append(values[4] if len(values) == 5 else math.nan)
    if not boxes:
        raise InputError(f"box file '{file}' contains no box")
    return BoxTrack(
        boxes=np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
        scores=np.asarray(scores, dtype=np.float64),
        path=file,
    )
