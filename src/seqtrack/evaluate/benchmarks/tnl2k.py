"""TNL2K test benchmark (700 sequences, natural-language + box).

Layout: every sub-folder of ``--root`` is a sequence (docs/official-behaviour.md §6.4)::

    <seq>/imgs/*.jpg|png    frames in lexicographic file-name order (not numeric: that is TNL2K's rule)
    <seq>/groundtruth.txt   'x,y,w,h' a line
    <seq>/language.txt      the description
"""

from __future__ import annotations

from pathlib import Path

from seqtrack.data.annotations import read_groundtruth, read_text
from seqtrack.data.sequence import Sequence
from seqtrack.errors import DatasetError
from seqtrack.evaluate.benchmarks.base import LAYOUT_PYTRACKING, BenchmarkInfo, require_dir

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def list_names(root: Path) -> list[str]:
    """Every sub-folder of ``root``, sorted by name."""
    return sorted(p.name for p in Path(root).iterdir() if p.is_dir())


def read(root: Path, name: str) -> Sequence:
    """One TNL2K sequence; frame count must equal the number of ground-truth lines."""
    seq_dir = Path(root) / name
    img_dir = require_dir(seq_dir / "imgs", "TNL2K frames folder")
    frames = sorted(p for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    gt_path = seq_dir / "groundtruth.txt"
    boxes = read_groundtruth(gt_path)
    if len(frames) != len(boxes):
        raise DatasetError(
            f"malformed ground-truth file {gt_path}: {len(boxes)} boxes for {len(frames)} frames in {img_dir}"
        )
    language_path = seq_dir / "language.txt"
    language = read_text(language_path, "TNL2K language file").strip() if language_path.is_file() else None
    return Sequence(name=name, frames=frames, boxes=boxes, dataset="tnl2k", language=language or None)


TNL2K = BenchmarkInfo(
    name="tnl2k",
    title="TNL2K",
    update_preset="tnl2k",
    layout=LAYOUT_PYTRACKING,
    scoring="pytracking",
    strict_length=False,
    expected_count=700,
    layout_help="<seq>/imgs/*.jpg, <seq>/groundtruth.txt, <seq>/language.txt",
    list_names=list_names,
    read=read,
)
