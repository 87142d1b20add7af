"""GOT-10k: one-sequence reader (train / val / test folders) and the training splits.

On-disk layout (docs/official-behaviour.md §5.6, §6.4)::

    <split>/list.txt                      sequence names, one a line (its ORDER defines the split ids)
    <split>/<seq>/00000001.jpg ...        frames, sorted by integer stem
    <split>/<seq>/groundtruth.txt         'x,y,w,h' a line (test: only the first frame)
    <split>/<seq>/absence.label           optional, one 0/1 a line (1 = target absent)
    <split>/<seq>/cover.label             optional, one 0..8 a line (visible fraction level)
    <split>/<seq>/meta_info.ini           optional, 'key: value' lines
"""

from __future__ import annotations

from pathlib import Path

from seqtrack.data.annotations import (
    list_numbered_frames,
    read_groundtruth,
    read_key_values,
    read_label_column,
    read_text,
)
from seqtrack.data.base import TrainingDataset
from seqtrack.data.sequence import Sequence
from seqtrack.data.splits import read_split_ids
from seqtrack.errors import DatasetError

# Training splits: name -> shipped id file (ids are positions in train/list.txt).
SPLIT_ID_FILES = {
    "vottrain": "got10k_vot_train_split.txt",
    "votval": "got10k_vot_val_split.txt",
    "train_full": "got10k_train_full_split.txt",
}


def read_sequence(seq_dir: Path) -> Sequence:
    """Index one GOT-10k sequence folder (no image is read).

    Returns:
        `Sequence` with ``frames`` sorted by integer stem, ``boxes`` ``(N, 4)`` float64 ``xywh`` pixels
        (``(1, 4)`` for test/val folders that annotate only the first frame), ``visible`` =
        ``absence == 0 and cover > 0`` from whichever label files exist (None if neither),
        ``dataset="got10k"``, ``meta`` = the ``meta_info.ini`` entries plus ``meta["class"]``
        (the ``object_class`` entry) when present.
    """
    seq_dir = Path(seq_dir)
    if not seq_dir.is_dir():
        raise DatasetError(f"missing GOT-10k sequence folder: expected {seq_dir}")
    frames = list_numbered_frames(seq_dir)
    if not frames:
        raise DatasetError(f"no frames in GOT-10k sequence folder {seq_dir}: expected 00000001.jpg ...")
    gt_path = seq_dir / "groundtruth.txt"
    boxes = read_groundtruth(gt_path)
    if len(boxes) not in (1, len(frames)):
        raise DatasetError(f"malformed ground-truth file {gt_path}: {len(boxes)} boxes for {len(frames)} frames")
    visible = None
    annotated = len(boxes)
    absence_path, cover_path = seq_dir / "absence.label", seq_dir / "cover.label"
    if absence_path.is_file():
        visible = read_label_column(absence_path, expected=annotated) == 0
    if cover_path.is_file():
        covered = read_label_column(cover_path, expected=annotated) > 0
        visible = covered if visible is None else visible & covered
    meta: dict[str, object] = {}
    meta_path = seq_dir / "meta_info.ini"
    if meta_path.is_file():
        meta.update(read_key_values(meta_path))
        if "object_class" in meta:
            meta["class"] = meta["object_class"]
    return Sequence(name=seq_dir.name, frames=frames, boxes=boxes, visible=visible, dataset="got10k", meta=meta)


def read_list(root: Path) -> list[str]:
    """Sequence names of a GOT-10k split folder, in the line order of ``root/list.txt``."""
    path = Path(root) / "list.txt"
    if not path.is_file():
        hint = ""
        if (Path(root) / "train" / "list.txt").is_file():
            # Spec §9.15: the official environment file points one level too high.
            hint = f" (found {Path(root) / 'train' / 'list.txt'}: pass the 'train' folder itself)"
        raise DatasetError(f"missing GOT-10k sequence list: expected {path}{hint}")
    names = [line.strip() for line in read_text(path, "sequence list").splitlines() if line.strip()]
    if not names:
        raise DatasetError(f"empty GOT-10k sequence list {path}")
    return names


def split_names(list_names: list[str], ids: list[int], list_path: Path) -> list[str]:
    """Map split ids (positions in ``list.txt`` line order) to sequence names.

    Raises `DatasetError` when an id does not exist in the list: the official ids only make sense
    against the 9335-line ``list.txt`` shipped with GOT-10k (never a sorted or regenerated one).
    """
    if ids and max(ids) >= len(list_names):
        raise DatasetError(
            f"GOT-10k split id {max(ids)} is past the end of {list_path} ({len(list_names)} lines): the split "
            "ids are positions in the original 9335-line train/list.txt"
        )
    return [list_names[i] for i in ids]


class Got10kTrain(TrainingDataset):
    """GOT-10k training sequences (docs/official-behaviour.md §5.6).

    Args:
        root: the GOT-10k *train* folder (holding ``list.txt``).
        split: ``"vottrain"`` (7086), ``"votval"`` (1249), ``"train_full"`` (9335) or ``None`` (every
            line of ``list.txt``, in order).
        ids: explicit positions in ``list.txt`` (overrides ``split``).
    Visibility (docs/official-behaviour.md §5.1): absence == 0, cover > 0, positive size.
    """

    is_video = True

    def __init__(self, root: Path, split: str | None = "vottrain", ids: list[int] | None = None):
        self.root = Path(root)
        list_names = read_list(self.root)
        explicit = ids is not None
        if ids is None:
            if split is None:
                ids = list(range(len(list_names)))
            elif split in SPLIT_ID_FILES:
                ids = read_split_ids(SPLIT_ID_FILES[split])
            else:
                raise ValueError(
                    f"unknown GOT-10k split {split!r}; expected one of {', '.join(SPLIT_ID_FILES)} or None"
                )
        self.ids = [int(i) for i in ids]
        self.names = split_names(list_names, self.ids, self.root / "list.txt")
        self.name = f"got10k_{split}" if split and not explicit else "got10k"

    def __len__(self) -> int:
        return len(self.names)

    def sequence(self, index: int) -> Sequence:
        """The ``index``-th sequence of the split (annotations only)."""
        return read_sequence(self.root / self.names[index])
