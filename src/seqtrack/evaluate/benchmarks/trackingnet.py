"""TrackingNet test benchmark (511 sequences, ground truth withheld: scored by the server).

Layout: ``--root`` is the TrackingNet folder holding ``TEST/`` (or ``TEST`` itself)::

    TEST/anno/<seq>.txt            the first frame's box
    TEST/frames/<seq>/0.jpg ...    frames, 0-based, sorted by integer

Per-sequence parsing is `seqtrack.data.trackingnet.read_sequence`.
"""

from __future__ import annotations

from pathlib import Path

from seqtrack.data import trackingnet as trackingnet_data
from seqtrack.data.sequence import Sequence
from seqtrack.evaluate.benchmarks.base import LAYOUT_PYTRACKING, BenchmarkInfo, natural_key, require_dir


def split_folder(root: Path) -> Path:
    """``root/TEST``, or ``root`` when it already is the TEST folder (holds ``anno/``)."""
    root = Path(root)
    if not (root / "TEST").is_dir() and (root / "anno").is_dir():
        return root
    return root / "TEST"


def list_names(root: Path) -> list[str]:
    """Names of the ``TEST/anno/*.txt`` files (without extension), sorted."""
    anno_dir = require_dir(split_folder(root) / "anno", "TrackingNet annotations folder")
    return sorted((p.stem for p in anno_dir.iterdir() if p.suffix == ".txt"), key=natural_key)


def read(root: Path, name: str) -> Sequence:
    """One TrackingNet test sequence."""
    base = split_folder(root)
    return trackingnet_data.read_sequence(base / "anno" / f"{name}.txt", base / "frames" / name)


TRACKINGNET = BenchmarkInfo(
    name="trackingnet",
    title="TrackingNet",
    update_preset="trackingnet",
    layout=LAYOUT_PYTRACKING,
    scoring="server",
    strict_length=False,
    expected_count=511,
    layout_help="TEST/anno/<seq>.txt and TEST/frames/<seq>/0.jpg ...",
    list_names=list_names,
    read=read,
)
