"""GOT-10k test (180 sequences, ground truth withheld) and val (180) benchmarks.

Layout: ``--root`` is either the GOT-10k folder holding ``test/`` and ``val/`` or the split folder
itself::

    {test,val}/list.txt, <seq>/00000001.jpg ..., groundtruth.txt (test: first frame only),
    absence.label, cover.label, meta_info.ini (val)

Per-sequence parsing is `seqtrack.data.got10k.read_sequence`. For the GOT-10k toolkit's scoring the
reader adds ``meta["cover"]`` (``(N,)`` int cover labels, when ``cover.label`` exists) and
``meta["image_wh"]`` (``(W, H)`` from the ``resolution`` entry of ``meta_info.ini``, when present).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from seqtrack.data import got10k as got10k_data
from seqtrack.data.annotations import read_label_column
from seqtrack.data.sequence import Sequence
from seqtrack.evaluate.benchmarks.base import LAYOUT_GOT10K, BenchmarkInfo


def split_dir(root: Path, split: str) -> Path:
    """The folder holding ``list.txt``: ``root/<split>`` or ``root`` itself."""
    root = Path(root)
    if (root / split / "list.txt").is_file():
        return root / split
    if (root / "list.txt").is_file():
        return root
    return root / split  # read_list below names root/<split>/list.txt as the expected file


def parse_resolution(text: str) -> tuple[float, float] | None:
    """``"(1920, 1080)"`` -> ``(1920.0, 1080.0)``; None when it does not hold two numbers."""
    numbers = re.findall(r"[-+]?\d*\.?\d+", text or "")
    return (float(numbers[0]), float(numbers[1])) if len(numbers) >= 2 else None


def _lister(split: str):
    def list_names(root: Path) -> list[str]:
        return got10k_data.read_list(split_dir(root, split))

    return list_names


def _reader(split: str):
    def read(root: Path, name: str) -> Sequence:
        seq_dir = split_dir(root, split) / name
        seq = got10k_data.read_sequence(seq_dir)
        meta = dict(seq.meta)
        cover_path = seq_dir / "cover.label"
        if cover_path.is_file():
            meta["cover"] = read_label_column(cover_path, expected=len(seq.boxes))
        wh = parse_resolution(str(meta.get("resolution", "")))
        if wh is not None:
            meta["image_wh"] = wh
        return replace(seq, dataset=f"got10k_{split}", meta=meta)

    return read


GOT10K_TEST = BenchmarkInfo(
    name="got10k_test",
    title="GOT-10k test",
    update_preset="got10k_test",
    layout=LAYOUT_GOT10K,
    scoring="server",
    strict_length=False,
    expected_count=180,
    layout_help="test/list.txt and test/<seq>/00000001.jpg ... + groundtruth.txt (first frame)",
    list_names=_lister("test"),
    read=_reader("test"),
)

GOT10K_VAL = BenchmarkInfo(
    name="got10k_val",
    title="GOT-10k val",
    # the official config has no GOT10K_VAL entry: DEFAULT applies (docs/official-behaviour.md §4.4)
    update_preset="default",
    layout=LAYOUT_GOT10K,
    scoring="got10k",
    strict_length=False,
    expected_count=180,
    layout_help="val/list.txt and val/<seq>/00000001.jpg ... + groundtruth.txt, cover.label, meta_info.ini",
    list_names=_lister("val"),
    read=_reader("val"),
)
