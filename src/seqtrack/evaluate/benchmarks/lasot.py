"""LaSOT test (280 sequences) and LaSOT extension subset (150) benchmarks.

Layout under ``--root`` (docs/official-behaviour.md §6.4)::

    <class>/<class>-<n>/img/00000001.jpg, groundtruth.txt, full_occlusion.txt, out_of_view.txt, nlp.txt
    testing_set.txt        (optional, LaSOT's own list of the 280 test sequences)

Per-sequence parsing is `seqtrack.data.lasot.read_sequence`. Visibility (not fully occluded and not
out of view) makes a frame invalid for scoring (docs/official-behaviour.md §6.2). Two of LaSOT's attributes follow
exactly
from the flag files and are attached per sequence: ``full_occlusion`` and ``out_of_view``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from seqtrack.data import lasot as lasot_data
from seqtrack.data.annotations import read_flag_line, read_text
from seqtrack.data.sequence import Sequence
from seqtrack.evaluate.benchmarks.base import LAYOUT_PYTRACKING, BenchmarkInfo, natural_key

TEST_LIST = "testing_set.txt"


def list_names(root: Path) -> list[str]:
    """Sequence names: the lines of ``root/testing_set.txt`` when it exists, else every
    ``<class>/<class>-<n>`` folder (sorted by class, then by number)."""
    root = Path(root)
    listed = root / TEST_LIST
    if listed.is_file():
        return [line.strip() for line in read_text(listed, "LaSOT test list").splitlines() if line.strip()]
    names = []
    for class_dir in root.iterdir():
        if not class_dir.is_dir():
            continue
        prefix = class_dir.name + "-"
        names.extend(p.name for p in class_dir.iterdir() if p.is_dir() and p.name.startswith(prefix))
    return sorted(names, key=natural_key)


def read(root: Path, name: str) -> Sequence:
    """One LaSOT(-ext) sequence, with the ``full_occlusion`` / ``out_of_view`` sequence attributes."""
    seq_dir = lasot_data.sequence_dir(Path(root), name)
    seq = lasot_data.read_sequence(seq_dir)
    count = len(seq.boxes)
    attributes = {
        "full_occlusion": bool(read_flag_line(seq_dir / "full_occlusion.txt", expected=count).any()),
        "out_of_view": bool(read_flag_line(seq_dir / "out_of_view.txt", expected=count).any()),
    }
    return replace(seq, attributes={**seq.attributes, **attributes})


def _read_ext(root: Path, name: str) -> Sequence:
    return replace(read(root, name), dataset="lasot_ext")


LASOT = BenchmarkInfo(
    name="lasot",
    title="LaSOT",
    update_preset="lasot",
    layout=LAYOUT_PYTRACKING,
    scoring="pytracking",
    strict_length=True,
    expected_count=280,
    layout_help="<class>/<class>-<n>/img/%08d.jpg + groundtruth.txt, full_occlusion.txt, out_of_view.txt "
    "(and testing_set.txt to select the 280 test sequences)",
    list_names=list_names,
    read=read,
)

LASOT_EXT = BenchmarkInfo(
    name="lasot_ext",
    title="LaSOT_ext",
    update_preset="lasot_extension_subset",
    layout=LAYOUT_PYTRACKING,
    scoring="pytracking",
    strict_length=False,  # pytracking's strict length rule keys on the exact string "lasot"
    expected_count=150,
    layout_help="<class>/<class>-<n>/img/%08d.jpg + groundtruth.txt, full_occlusion.txt, out_of_view.txt",
    list_names=list_names,
    read=_read_ext,
)
