"""LaSOT test (280 sequences) and LaSOT extension subset (150) benchmarks.

Layout under ``--root`` (docs/official-behaviour.md §6.4)::

    <class>/<class>-<n>/img/00000001.jpg, groundtruth.txt, full_occlusion.txt, out_of_view.txt, nlp.txt
    testing_set.txt        (optional, LaSOT's own list of the 280 test sequences)

Per-sequence parsing is `seqtrack.data.lasot.read_sequence`. Visibility (not fully occluded and not
out of view) makes a frame invalid for scoring (docs/official-behaviour.md §6.2).

Sequence attributes (Fig. 4 of the SeqTrack paper): LaSOT's evaluation toolkit keeps them apart from the
dataset, in ``annos/att/<seq>.txt``: one line of 14 comma-separated 0/1 flags in the order of
`ATTRIBUTES`. The first such file found in `ATTRIBUTE_FOLDERS` (relative to ``--root``) gives all 14
attributes. Without one, the two attributes that follow exactly from the per-frame flag files are
attached: ``full_occlusion`` and ``out_of_view``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from seqtrack.data import lasot as lasot_data
from seqtrack.data.annotations import read_flag_line, read_text
from seqtrack.data.sequence import Sequence
from seqtrack.errors import DatasetError
from seqtrack.evaluate.benchmarks.base import LAYOUT_PYTRACKING, BenchmarkInfo, natural_key

TEST_LIST = "testing_set.txt"

#: LaSOT's 14 attributes, in the order of the toolkit's ``annos/att/<seq>.txt`` flags (its ``att_name``).
ATTRIBUTES = (
    "illumination_variation",
    "partial_occlusion",
    "deformation",
    "motion_blur",
    "camera_motion",
    "rotation",
    "background_clutter",
    "viewpoint_change",
    "scale_variation",
    "full_occlusion",
    "fast_motion",
    "out_of_view",
    "low_resolution",
    "aspect_ratio_change",
)

#: Where ``<seq>.txt`` attribute files are looked for under ``--root``, first match wins: ``att/`` (the
#: toolkit's folder copied next to the data), or the toolkit's own ``annos/att/`` layout.
ATTRIBUTE_FOLDERS = ("att", "annos/att")


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


def attribute_file(root: Path, name: str) -> Path | None:
    """The 14-flag attribute file of sequence ``name`` (see `ATTRIBUTE_FOLDERS`), or None."""
    for folder in ATTRIBUTE_FOLDERS:
        path = Path(root) / folder / f"{name}.txt"
        if path.is_file():
            return path
    return None


def read(root: Path, name: str) -> Sequence:
    """One LaSOT(-ext) sequence with its attributes: the 14 of its attribute file when there is one,
    else ``full_occlusion`` / ``out_of_view`` from the per-frame flag files."""
    seq_dir = lasot_data.sequence_dir(Path(root), name)
    seq = lasot_data.read_sequence(seq_dir)
    count = len(seq.boxes)
    att_path = attribute_file(root, name)
    if att_path is not None:
        # A wrong count is an error, not a guess: flags read in the wrong order would mislabel every row.
        flags = read_flag_line(att_path)
        if flags.size != len(ATTRIBUTES):
            raise DatasetError(
                f"malformed attribute file {att_path}: {flags.size} flags, expected {len(ATTRIBUTES)} "
                "(0/1, comma-separated)"
            )
        attributes = {attr: bool(on) for attr, on in zip(ATTRIBUTES, flags)}
    else:
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
    "(and testing_set.txt to select the 280 test sequences; att/<seq>.txt for the 14 attributes)",
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
