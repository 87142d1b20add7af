"""Official training split files, shipped with the package (copied from the SeqTrack ``data_specs``).

Files:
    ``lasot_train_split.txt``        the 1120 LaSOT training sequence names, one a line;
    ``got10k_vot_train_split.txt``   7086 integer ids (positions in GOT-10k's own ``train/list.txt``);
    ``got10k_vot_val_split.txt``     1249 integer ids (same convention, disjoint from vottrain);
    ``got10k_train_full_split.txt``  all 9335 positions;
    ``got10k_vot_exclude.txt``       the 1000 GOT-10k names excluded for VOT (reference only).

GOT-10k ids are POSITIONS in the line order of the dataset's ``list.txt`` (docs/official-behaviour.md §5.6 caution):
they
are never mapped to ``GOT-10k_Train_{id+1}``.
"""

from __future__ import annotations

from importlib import resources

SPLIT_FILES = (
    "lasot_train_split.txt",
    "got10k_vot_train_split.txt",
    "got10k_vot_val_split.txt",
    "got10k_train_full_split.txt",
    "got10k_vot_exclude.txt",
)


def _read(filename: str) -> list[str]:
    if filename not in SPLIT_FILES:
        raise ValueError(f"unknown split file {filename!r}; shipped: {', '.join(SPLIT_FILES)}")
    text = resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_split_names(filename: str) -> list[str]:
    """Lines of a shipped split file (sequence names), in file order."""
    return _read(filename)


def read_split_ids(filename: str) -> list[int]:
    """Integer ids of a shipped GOT-10k split file, in file order (order matters for nothing but
    reproducibility; it is kept as shipped)."""
    return [int(line) for line in _read(filename)]
