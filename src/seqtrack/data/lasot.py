"""LaSOT: one-sequence reader (training and benchmark) and the 1120-video training split.

On-disk layout (docs/official-behaviour.md §5.6, §6.4)::

    root/<class>/<class>-<n>/img/00000001.jpg ...      frames, 1-based, 8 digits
                             groundtruth.txt           one 'x,y,w,h' line a frame (pixels)
                             full_occlusion.txt        one line of N comma-separated 0/1
                             out_of_view.txt           one line of N comma-separated 0/1
                             nlp.txt                   optional language description
"""

from __future__ import annotations

from pathlib import Path

from seqtrack.data.annotations import read_flag_line, read_groundtruth, read_text
from seqtrack.data.base import TrainingDataset
from seqtrack.data.sequence import Sequence
from seqtrack.data.splits import read_split_names
from seqtrack.errors import DatasetError


def read_sequence(seq_dir: Path) -> Sequence:
    """Index one LaSOT sequence folder ``<root>/<class>/<class>-<n>`` (no image is read).

    Frame paths are built from the ground-truth length (``img/%08d.jpg``, 1-based) rather than by
    listing ``img/``, which is slow on network file systems for 2,500-frame videos.

    Returns:
        `Sequence` with ``boxes (N, 4)`` float64 ``xywh`` pixels, ``visible (N,)`` = not fully occluded
        and not out of view, ``dataset="lasot"``, ``meta["class"]``, ``language`` from ``nlp.txt``.
    """
    seq_dir = Path(seq_dir)
    if not seq_dir.is_dir():
        raise DatasetError(f"missing LaSOT sequence folder: expected {seq_dir}")
    img_dir = seq_dir / "img"
    if not img_dir.is_dir():
        raise DatasetError(f"missing LaSOT frames folder: expected {img_dir}")
    boxes = read_groundtruth(seq_dir / "groundtruth.txt")
    count = len(boxes)
    occluded = read_flag_line(seq_dir / "full_occlusion.txt", expected=count)
    out_of_view = read_flag_line(seq_dir / "out_of_view.txt", expected=count)
    language = None
    nlp = seq_dir / "nlp.txt"
    if nlp.is_file():
        language = read_text(nlp, "language file").strip() or None
    name = seq_dir.name
    # The class is the name without the trailing '-<n>' (robust to a renamed parent folder).
    class_name = name.rsplit("-", 1)[0] if "-" in name else seq_dir.parent.name
    frames = [img_dir / f"{i:08d}.jpg" for i in range(1, count + 1)]
    return Sequence(
        name=name,
        frames=frames,
        boxes=boxes,
        visible=~occluded & ~out_of_view,
        dataset="lasot",
        language=language,
        meta={"class": class_name},
    )


def sequence_dir(root: Path, name: str) -> Path:
    """Folder of sequence ``name`` (``"airplane-1"``) under the LaSOT ``root``: ``root/airplane/airplane-1``."""
    return Path(root) / name.rsplit("-", 1)[0] / name


class LasotTrain(TrainingDataset):
    """LaSOT training videos (docs/official-behaviour.md §5.6): the official 1120-video split, or every video on disk.

    Args:
        root: the LaSOT root holding the ``<class>/`` folders.
        split: ``"train"`` (the 1120 official training videos) or ``None`` (all sequences found).
        names: explicit sequence names (overrides ``split``).
    Visibility (docs/official-behaviour.md §5.1): not fully occluded, not out of view, positive size.
    """

    name = "lasot"
    is_video = True

    def __init__(self, root: Path, split: str | None = "train", names: list[str] | None = None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"missing LaSOT root: expected a folder of <class>/<class>-<n> at {self.root}")
        if names is None:
            if split == "train":
                names = read_split_names("lasot_train_split.txt")
            elif split is None:
                names = sorted(
                    p.name for c in self.root.iterdir() if c.is_dir() for p in c.iterdir() if (p / "img").is_dir()
                )
            else:
                raise ValueError(f"unknown LaSOT split {split!r}; expected 'train' or None")
        self.names = list(names)
        if not self.names:
            raise DatasetError(f"no LaSOT sequences found under {self.root}")
        # Fail early (and cheaply) on a wrong root: check the first sequence folder only.
        first = sequence_dir(self.root, self.names[0])
        if not first.is_dir():
            raise DatasetError(f"missing LaSOT sequence folder: expected {first} (is --data-root the LaSOT root?)")

    def __len__(self) -> int:
        return len(self.names)

    def sequence(self, index: int) -> Sequence:
        """The ``index``-th sequence of the split (reads its annotation files, not its images)."""
        return read_sequence(sequence_dir(self.root, self.names[index]))
