"""A folder of photographs as a source of the synthetic sequences, split train / val / test by file name.

The folder is what ``python -m seqtrack.data.synthetic.photo_packages DIR`` writes (JPEG files and a
``manifest.json``), or any folder of ``.jpg`` / ``.jpeg`` / ``.png`` files. Files named ``*.cutout.png``
are cut-outs: photographs of one object with its real outline in their alpha channel (targets only,
`cutout_split`); the other files are photographs (backgrounds, targets, occluders, `photo_split`).
Each file belongs to one split, decided by a stable hash of its file name alone (`photo_bucket`):
80 % train, 10 % val, 10 % test, whatever else the folder holds, so adding photographs never moves
one between splits.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from seqtrack.errors import DatasetError
from seqtrack.io.images import ImageReadError, read_rgb

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
CUTOUT_SUFFIX = ".cutout.png"
# Hash buckets (of 10) per split: train 0-7, val 8, test 9.
PHOTO_BUCKETS: dict[str, tuple[int, ...]] = {"train": tuple(range(8)), "val": (8,), "test": (9,)}
# Generator splits -> photo split ("mixed" trains on the train photographs, like its own sources).
SPLIT_TO_PHOTOS: dict[str, str] = {"train": "train", "mixed": "train", "val": "val", "test": "test"}
PHOTO_PREFIX = "photo:"


def photo_bucket(file_name: str) -> str:
    """Photo split (``"train"``, ``"val"`` or ``"test"``) of a file, from a CRC-32 of its name (not its path)."""
    bucket = zlib.crc32(Path(file_name).name.encode("utf-8")) % 10
    return next(split for split, buckets in PHOTO_BUCKETS.items() if bucket in buckets)


def is_cutout(file_name: str) -> bool:
    """Whether a photo-folder file is a cut-out (``*.cutout.png``: RGBA, the object's outline in alpha)."""
    return file_name.lower().endswith(CUTOUT_SUFFIX)


@lru_cache(maxsize=8)
def _listing(folder: str, split: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(photographs, cut-outs)`` of generator split ``split`` in ``folder``: sorted ``photo:<path>`` names."""
    if split not in SPLIT_TO_PHOTOS:
        raise ValueError(f"split {split!r} has no photographs; photo splits exist for {', '.join(SPLIT_TO_PHOTOS)}")
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(f"missing photo folder: expected a folder of photographs at {root}")
    wanted = SPLIT_TO_PHOTOS[split]
    names = sorted(
        path.name
        for path in root.iterdir()
        if path.suffix.lower() in PHOTO_SUFFIXES and photo_bucket(path.name) == wanted
    )
    resolved = root.resolve()
    photos = tuple(f"{PHOTO_PREFIX}{resolved / name}" for name in names if not is_cutout(name))
    cutouts = tuple(f"{PHOTO_PREFIX}{resolved / name}" for name in names if is_cutout(name))
    return photos, cutouts


def photo_split(folder: str, split: str) -> tuple[str, ...]:
    """Source names (``photo:<absolute path>``, sorted) of the photographs (not the cut-outs) of generator
    split ``split``.

    Raises `DatasetError` when the folder is missing or holds no photograph of that split, and
    `ValueError` for a split that has no photo split (`SPLIT_TO_PHOTOS`).
    """
    photos = _listing(str(folder), split)[0]
    if not photos:
        raise DatasetError(
            f"no {SPLIT_TO_PHOTOS[split]} photographs in {folder} (expected .jpg/.png files; fetch some with "
            "photo_packages)"
        )
    return photos


def cutout_split(folder: str, split: str) -> tuple[str, ...]:
    """Source names of the cut-outs (``*.cutout.png``) of generator split ``split``; may be empty."""
    return _listing(str(folder), split)[1]


def is_photo(name: str) -> bool:
    """Whether a source name refers to a file of a photo folder."""
    return name.startswith(PHOTO_PREFIX)


def photo_label(name: str) -> str:
    """Short label of a source name for metadata: ``photo:<file name>`` for photo-folder files."""
    return f"{PHOTO_PREFIX}{Path(name[len(PHOTO_PREFIX) :]).name}" if is_photo(name) else name


@lru_cache(maxsize=48)
def load_photo(name: str) -> np.ndarray:
    """A photo-folder image (``photo:<path>``) as ``(H, W, 3)`` uint8 RGB, read-only; the last 48 stay cached."""
    path = name[len(PHOTO_PREFIX) :]
    try:
        image = read_rgb(path)
    except ImageReadError:
        raise DatasetError(f"unreadable photograph {path} (remove it or fetch the folder again)") from None
    image.setflags(write=False)
    return image


@lru_cache(maxsize=64)
def load_cutout(name: str) -> np.ndarray:
    """A cut-out (``photo:<path>.cutout.png``) as ``(H, W, 4)`` uint8 RGBA (straight alpha), read-only."""
    path = name[len(PHOTO_PREFIX) :]
    data = np.fromfile(path, dtype=np.uint8) if Path(path).is_file() else np.zeros(0, np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None or image.ndim != 3 or image.shape[2] != 4:
        raise DatasetError(f"unreadable cut-out {path}: expected an RGBA PNG (remove it or fetch the folder again)")
    image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    image.setflags(write=False)
    return image
