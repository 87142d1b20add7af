"""VOT short-term benchmarks (VOT2020 / 2021 / 2022 ST sequences) read as one-pass box tracking.

Layout under ``--root`` (a VOT workspace's ``sequences/`` folder)::

    list.txt                    optional: sequence names, one a line (else every folder with a groundtruth.txt)
    <seq>/groundtruth.txt       one region a line: 'x,y,w,h' rectangle, 'x1,y1,...,x4,y4' polygon,
                                or a VOT mask 'm<x0>,<y0>,<w>,<h>,<run lengths...>'
    <seq>/color/00000001.jpg    frames (or the images directly in <seq>/)

Every region becomes its axis-aligned bounding box ``xywh``: polygons by min/max of the corners (the
pytracking convention), masks by the extent of their foreground pixels; an empty mask is a NaN row.
This is *not* the VOT EAO protocol (no re-initialisation); use the VOT toolkit for that.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqtrack.data.annotations import list_numbered_frames, read_text
from seqtrack.data.sequence import Sequence
from seqtrack.errors import DatasetError
from seqtrack.evaluate.benchmarks.base import LAYOUT_PYTRACKING, BenchmarkInfo, natural_key


def parse_region(line: str) -> np.ndarray:
    """One VOT region line -> ``(4,)`` float64 ``xywh`` axis-aligned box (NaN when empty).

    Raises:
        ValueError: the line is none of rectangle / polygon / mask.
    """
    line = line.strip()
    if line.startswith("m"):
        return _mask_box([int(float(v)) for v in line[1:].split(",") if v.strip()])
    values = [float(v) for v in line.replace("\t", ",").replace(" ", ",").split(",") if v.strip()]
    if len(values) == 4:
        return np.asarray(values, dtype=np.float64)
    if len(values) >= 6 and len(values) % 2 == 0:
        xs, ys = np.asarray(values[0::2]), np.asarray(values[1::2])
        return np.array([xs.min(), ys.min(), xs.max() - xs.min(), ys.max() - ys.min()], dtype=np.float64)
    if len(values) == 1 and values[0] == 0:  # VOT's "no region" code
        return np.full(4, np.nan)
    raise ValueError(f"not a VOT region: {line[:40]!r}")


def _mask_box(tokens: list[int]) -> np.ndarray:
    """Bounding box of a VOT run-length mask: offset x, y, mask width, height, then alternating
    background/foreground run lengths over the row-major mask."""
    if len(tokens) < 4:
        raise ValueError("mask region needs an offset and a size")
    x0, y0, width, height = tokens[:4]
    flat = np.zeros(width * height, dtype=bool)
    position = 0
    for i, run in enumerate(tokens[4:]):
        if i % 2 == 1:
            flat[position : position + run] = True
        position += run
    if width * height == 0 or not flat.any():
        return np.full(4, np.nan)
    rows, cols = np.nonzero(flat.reshape(height, width))
    return np.array(
        [x0 + cols.min(), y0 + rows.min(), cols.max() - cols.min() + 1, rows.max() - rows.min() + 1], dtype=np.float64
    )


def list_names(root: Path) -> list[str]:
    """``list.txt`` lines when present, else every sub-folder holding a ``groundtruth.txt``."""
    listed = Path(root) / "list.txt"
    if listed.is_file():
        return [line.strip() for line in read_text(listed, "VOT sequence list").splitlines() if line.strip()]
    return sorted((p.name for p in Path(root).iterdir() if (p / "groundtruth.txt").is_file()), key=natural_key)


def read(root: Path, name: str) -> Sequence:
    """One VOT sequence as axis-aligned boxes."""
    seq_dir = Path(root) / name
    gt_path = seq_dir / "groundtruth.txt"
    lines = [line for line in read_text(gt_path, "VOT ground-truth file").splitlines() if line.strip()]
    if not lines:
        raise DatasetError(f"empty VOT ground-truth file {gt_path}: expected one region a line")
    boxes = np.empty((len(lines), 4))
    for number, line in enumerate(lines, start=1):
        try:
            boxes[number - 1] = parse_region(line)
        except ValueError as error:
            raise DatasetError(f"malformed VOT ground-truth file {gt_path}, line {number}: {error}") from None
    frame_dir = seq_dir / "color" if (seq_dir / "color").is_dir() else seq_dir
    frames = list_numbered_frames(frame_dir)
    if len(frames) != len(boxes):
        raise DatasetError(
            f"malformed VOT ground-truth file {gt_path}: {len(boxes)} regions for {len(frames)} frames in {frame_dir}"
        )
    return Sequence(name=name, frames=frames, boxes=boxes, dataset="vot")


VOT = BenchmarkInfo(
    name="vot",
    title="VOT-ST",
    update_preset="vot20",
    layout=LAYOUT_PYTRACKING,
    scoring="pytracking",
    strict_length=False,
    expected_count=None,
    layout_help="<seq>/groundtruth.txt and <seq>/color/%08d.jpg (a VOT workspace's sequences folder)",
    list_names=list_names,
    read=read,
)
