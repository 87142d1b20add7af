"""TrackingNet: one-sequence reader and the TRAIN_0 .. TRAIN_11 training chunks.

On-disk layout (docs/official-behaviour.md §5.6, §6.4)::

    root/TRAIN_k/anno/<vid>.txt           'x,y,w,h' a line (TEST: first frame only)
    root/TRAIN_k/frames/<vid>/0.jpg ...   frames, 0-based, no zero padding, sorted by integer
    root/TEST/anno/<vid>.txt, root/TEST/frames/<vid>/...
"""

from __future__ import annotations

from pathlib import Path

from seqtrack.data.annotations import list_numbered_frames, read_groundtruth
from seqtrack.data.base import TrainingDataset
from seqtrack.data.sequence import Sequence
from seqtrack.errors import DatasetError

NUM_TRAIN_CHUNKS = 12


def read_sequence(anno_file: Path, frames_dir: Path) -> Sequence:
    """Index one TrackingNet video (no image is read).

    Args:
        anno_file: ``<split>/anno/<vid>.txt``.
        frames_dir: the video's own frame folder ``<split>/frames/<vid>``; for convenience the parent
            ``<split>/frames`` is accepted too (the ``<vid>`` sub-folder is then used).
    Returns:
        `Sequence` named ``<vid>``, frames sorted by integer stem, ``boxes`` ``(N, 4)`` float64 ``xywh``
        pixels (``(1, 4)`` for TEST), ``visible=None`` (visibility = positive box size, docs/official-behaviour.md
        §5.1),
        ``dataset="trackingnet"``.
    """
    anno_file, frames_dir = Path(anno_file), Path(frames_dir)
    name = anno_file.stem
    if frames_dir.name != name and (frames_dir / name).is_dir():
        frames_dir = frames_dir / name
    boxes = read_groundtruth(anno_file)
    frames = list_numbered_frames(frames_dir)
    if not frames:
        raise DatasetError(f"no frames in TrackingNet frames folder {frames_dir}: expected 0.jpg, 1.jpg, ...")
    if len(boxes) not in (1, len(frames)):
        raise DatasetError(f"malformed annotation file {anno_file}: {len(boxes)} boxes for {len(frames)} frames")
    return Sequence(
        name=name,
        frames=frames,
        boxes=boxes,
        visible=None,
        dataset="trackingnet",
        meta={"chunk": anno_file.parent.parent.name},
    )


class TrackingNetTrain(TrainingDataset):
    """TrackingNet training videos from the chosen ``TRAIN_k`` chunks (all 12 by default).

    Args:
        root: the TrackingNet root holding ``TRAIN_0`` ... ``TRAIN_11``.
        chunks: chunk numbers to use.
    The video list is indexed at construction (one directory listing per chunk's ``anno/``), sorted by
    name within a chunk, chunks in the given order. Visibility: positive box size.
    """

    name = "trackingnet"
    is_video = True

    def __init__(self, root: Path, chunks: list[int] | range = range(NUM_TRAIN_CHUNKS)):
        self.root = Path(root)
        self.chunks = [int(c) for c in chunks]
        self.videos: list[tuple[int, str]] = []
        for chunk in self.chunks:
            if not 0 <= chunk < NUM_TRAIN_CHUNKS:
                raise ValueError(f"TrackingNet train chunk {chunk} does not exist (0..{NUM_TRAIN_CHUNKS - 1})")
            anno_dir = self.root / f"TRAIN_{chunk}" / "anno"
            if not anno_dir.is_dir():
                raise DatasetError(f"missing TrackingNet annotations folder: expected {anno_dir}")
            names = sorted(p.stem for p in anno_dir.iterdir() if p.suffix == ".txt")
            self.videos.extend((chunk, n) for n in names)
        if not self.videos:
            raise DatasetError(
                f"no TrackingNet videos under {self.root}/TRAIN_{{{','.join(map(str, self.chunks))}}}/anno"
            )

    def __len__(self) -> int:
        return len(self.videos)

    def sequence(self, index: int) -> Sequence:
        """The ``index``-th video (annotations and frame listing only)."""
        chunk, name = self.videos[index]
        split_dir = self.root / f"TRAIN_{chunk}"
        return read_sequence(split_dir / "anno" / f"{name}.txt", split_dir / "frames" / name)
