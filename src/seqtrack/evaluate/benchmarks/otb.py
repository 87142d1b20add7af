"""OTB-100 benchmark.

Layout (docs/official-behaviour.md §6.4)::

    <seq>/img/0001.jpg ...               frames (digit count varies by sequence; sorted by integer)
    <seq>/groundtruth_rect.txt           'x,y,w,h' a line, comma- or whitespace-separated
    <seq>/groundtruth_rect.<k>.txt       sequences with several targets (Jogging, Skating2, Human4)

A sequence with several non-empty ``groundtruth_rect.<k>.txt`` files gives one entry per target,
named ``<seq>_<k>`` (pytracking's naming; ``<seq>.<k>`` is accepted as a result-file alias).
`FRAME_RANGES` holds the known sequences whose annotation covers only part of ``img/``.
"""

from __future__ import annotations

import re
from pathlib import Path

from seqtrack.data.annotations import list_numbered_frames, read_groundtruth
from seqtrack.data.sequence import Sequence
from seqtrack.errors import DatasetError
from seqtrack.evaluate.benchmarks.base import LAYOUT_PYTRACKING, BenchmarkInfo, natural_key

#: sequence folder -> (first frame number, last frame number), inclusive (OTB's release configuration).
FRAME_RANGES = {
    "David": (300, 770),
    "Football1": (1, 74),
    "Freeman3": (1, 460),
    "Freeman4": (1, 283),
    "Diving": (1, 215),
}

_MULTI = re.compile(r"^groundtruth_rect\.(\d+)\.txt$")


def _targets(seq_dir: Path) -> list[tuple[str, Path]]:
    """(entry name, annotation file) pairs of one folder; empty annotation files are skipped."""
    single = seq_dir / "groundtruth_rect.txt"
    multi = sorted((int(m.group(1)), p) for p in seq_dir.iterdir() if (m := _MULTI.match(p.name)))
    entries = [(f"{seq_dir.name}_{k}", p) for k, p in multi]
    if not entries and single.is_file():
        entries = [(seq_dir.name, single)]
    return [(n, p) for n, p in entries if p.stat().st_size > 0 and p.read_text(errors="replace").strip()]


def list_names(root: Path) -> list[str]:
    """Every target of every ``<seq>/`` folder that has ``img/`` and an annotation file."""
    names = []
    for seq_dir in Path(root).iterdir():
        if seq_dir.is_dir() and (seq_dir / "img").is_dir():
            names.extend(n for n, _ in _targets(seq_dir))
    return sorted(names, key=natural_key)


def read(root: Path, name: str) -> Sequence:
    """One OTB entry (``name`` is a folder name, or ``<folder>_<k>`` for a multi-target sequence)."""
    folder, _, index = name.rpartition("_")
    if folder and index.isdigit() and (Path(root) / folder / f"groundtruth_rect.{index}.txt").is_file():
        seq_dir, gt_path = Path(root) / folder, Path(root) / folder / f"groundtruth_rect.{index}.txt"
        aliases = [f"{folder}.{index}"]
    else:
        folder, seq_dir, aliases = name, Path(root) / name, []
        gt_path = seq_dir / "groundtruth_rect.txt"
    boxes = read_groundtruth(gt_path)
    frames = list_numbered_frames(seq_dir / "img")
    if folder in FRAME_RANGES:
        first, last = FRAME_RANGES[folder]
        frames = [f for f in frames if first <= int(f.stem) <= last]
        if len(boxes) == last and first > 1:  # annotation written from frame 1: keep the range's rows
            boxes = boxes[first - 1 : last]
    if len(frames) != len(boxes):
        raise DatasetError(
            f"malformed ground-truth file {gt_path}: {len(boxes)} boxes for {len(frames)} frames in {seq_dir / 'img'}"
        )
    return Sequence(name=name, frames=frames, boxes=boxes, dataset="otb", meta={"aliases": aliases})


OTB = BenchmarkInfo(
    name="otb",
    title="OTB-100",
    update_preset="otb",
    layout=LAYOUT_PYTRACKING,
    scoring="pytracking",
    strict_length=False,
    expected_count=100,
    layout_help="<seq>/img/%04d.jpg and <seq>/groundtruth_rect.txt",
    list_names=list_names,
    read=read,
)
