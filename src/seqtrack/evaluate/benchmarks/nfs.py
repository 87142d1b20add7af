"""NfS-30 benchmark (Need for Speed, 30 fps version, 100 sequences).

Layout (docs/official-behaviour.md §6.4; the annotation is pytracking's converted file, not part of the raw NfS
release)::

    <seq>/30/<seq>/00001.jpg ...          frames, 1-based, 5 digits
    <seq>/30/<seq>_pytracking.txt         'x,y,w,h' a line (comma), one line per 30 fps frame

Frames are ``1 .. N`` with N = number of annotation lines. pytracking names the sequences
``nfs_<seq>``; that name is accepted as an alias for result files.
"""

from __future__ import annotations

from pathlib import Path

from seqtrack.data.annotations import read_groundtruth
from seqtrack.data.sequence import Sequence
from seqtrack.evaluate.benchmarks.base import LAYOUT_PYTRACKING, BenchmarkInfo, check_frames_exist, natural_key


def annotation_path(root: Path, name: str) -> Path:
    """``root/<seq>/30/<seq>_pytracking.txt``."""
    return Path(root) / name / "30" / f"{name}_pytracking.txt"


def list_names(root: Path) -> list[str]:
    """Sub-folders of ``root`` that hold a ``30/<seq>_pytracking.txt`` annotation."""
    return sorted((p.name for p in Path(root).iterdir() if annotation_path(root, p.name).is_file()), key=natural_key)


def read(root: Path, name: str) -> Sequence:
    """One NfS-30 sequence."""
    boxes = read_groundtruth(annotation_path(root, name))
    frame_dir = Path(root) / name / "30" / name
    frames = [frame_dir / f"{i:05d}.jpg" for i in range(1, len(boxes) + 1)]
    check_frames_exist(frames, "NfS")
    return Sequence(name=name, frames=frames, boxes=boxes, dataset="nfs", meta={"aliases": [f"nfs_{name}"]})


NFS = BenchmarkInfo(
    name="nfs",
    title="NfS-30",
    update_preset="nfs",
    layout=LAYOUT_PYTRACKING,
    scoring="pytracking",
    strict_length=False,
    expected_count=100,
    layout_help="<seq>/30/<seq>/%05d.jpg and <seq>/30/<seq>_pytracking.txt",
    list_names=list_names,
    read=read,
)
