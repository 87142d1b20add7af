"""COCO 2017 as an image training dataset: every non-crowd instance is a one-frame sequence.

On-disk layout (docs/official-behaviour.md §5.6)::

    root/images/train2017/000000000009.jpg ...
    root/annotations/instances_train2017.json

The 450 MB json takes tens of seconds and gigabytes of memory to parse, once per process. It is
parsed once and a compact index (file names, boxes, ids, categories; about 30 MB) is cached as an
``.npz`` file next to the json, or in the user cache directory when the json's folder is read-only.
The cache key is the json's size and modification time, so a replaced json is re-indexed.
Masks are not indexed: SeqTrack's processing never uses them (docs/official-behaviour.md §5.3).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqtrack.data.base import TrainingDataset
from seqtrack.data.sequence import Sequence
from seqtrack.errors import DatasetError

INDEX_VERSION = 1


@dataclass(frozen=True)
class CocoIndex:
    """Compact index of the non-crowd instances of one COCO annotation file (json order).

    Attributes:
        image_files: ``(I,)`` str, file names relative to the images folder.
        ann_ids: ``(N,)`` int64 annotation ids.
        ann_image: ``(N,)`` int64 index into ``image_files``.
        boxes: ``(N, 4)`` float64 ``xywh`` top-left pixels.
        ann_category: ``(N,)`` int64 category ids.
        category_ids, category_names: ``(C,)`` the category table.
    """

    image_files: np.ndarray
    ann_ids: np.ndarray
    ann_image: np.ndarray
    boxes: np.ndarray
    ann_category: np.ndarray
    category_ids: np.ndarray
    category_names: np.ndarray

    def category_name(self, category_id: int) -> str:
        """Name of a category id (``""`` if unknown)."""
        hits = np.flatnonzero(self.category_ids == category_id)
        return str(self.category_names[hits[0]]) if hits.size else ""


def build_index(json_path: Path) -> CocoIndex:
    """Parse a COCO ``instances_*.json`` into a `CocoIndex` of its non-crowd instances."""
    json_path = Path(json_path)
    try:
        with open(json_path, "rb") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise DatasetError(f"missing COCO annotations: expected {json_path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DatasetError(f"malformed COCO annotations {json_path}: {error}") from None
    try:
        images = data["images"]
        image_pos = {img["id"]: k for k, img in enumerate(images)}
        anns = [a for a in data["annotations"] if not a.get("iscrowd", 0)]
        categories = data.get("categories", [])
        index = CocoIndex(
            image_files=np.array([img["file_name"] for img in images], dtype=str),
            ann_ids=np.array([a["id"] for a in anns], dtype=np.int64),
            ann_image=np.array([image_pos[a["image_id"]] for a in anns], dtype=np.int64),
            boxes=np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4),
            ann_category=np.array([a.get("category_id", -1) for a in anns], dtype=np.int64),
            category_ids=np.array([c["id"] for c in categories], dtype=np.int64),
            category_names=np.array([c["name"] for c in categories], dtype=str),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DatasetError(
            f"malformed COCO annotations {json_path}: expected 'images' and 'annotations' with "
            f"'id', 'file_name', 'image_id', 'bbox' ({type(error).__name__}: {error})"
        ) from None
    return index


def default_cache_dir() -> Path:
    """``$SEQTRACK_CACHE`` or ``$XDG_CACHE_HOME/seqtrack`` or ``~/.cache/seqtrack``."""
    if os.environ.get("SEQTRACK_CACHE"):
        return Path(os.environ["SEQTRACK_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seqtrack"


def _cache_candidates(json_path: Path, cache_dir: Path | None) -> list[Path]:
    stat = json_path.stat()
    key = f"{stat.st_size}-{stat.st_mtime_ns}-v{INDEX_VERSION}"
    beside = json_path.with_name(f"{json_path.name}.seqtrack-index-{key}.npz")
    digest = hashlib.sha1(str(json_path.resolve()).encode()).hexdigest()[:12]
    in_cache = (cache_dir or default_cache_dir()) / "coco" / f"{json_path.stem}-{digest}-{key}.npz"
    return [in_cache] if cache_dir is not None else [beside, in_cache]


def _save(index: CocoIndex, path: Path) -> bool:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so concurrent ranks/workers never read a half-written cache.
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **index.__dict__)
        os.replace(tmp, path)
        return True
    except OSError:
        return False


def load_index(json_path: Path, cache_dir: Path | None = None) -> CocoIndex:
    """The `CocoIndex` of ``json_path``, from the cache when its size and mtime match, else parsed and
    cached (beside the json if writable, else in ``cache_dir`` / the user cache directory)."""
    json_path = Path(json_path)
    if not json_path.is_file():
        raise DatasetError(f"missing COCO annotations: expected {json_path}")
    candidates = _cache_candidates(json_path, cache_dir)
    for path in candidates:
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as npz:
                    return CocoIndex(**{k: npz[k] for k in CocoIndex.__dataclass_fields__})
            except (OSError, ValueError, KeyError):
                pass  # unreadable or stale-format cache: rebuild below
    index = build_index(json_path)
    for path in candidates:
        if _save(index, path):
            break
    return index


class CocoTrain(TrainingDataset):
    """COCO instances as one-frame sequences (docs/official-behaviour.md §5.1 step 4, §5.6).

    Args:
        root: COCO root with ``images/<split><version>/`` and ``annotations/instances_<split><version>.json``.
        split, version: ``"train"``, ``"2017"`` by default.
        cache_dir: where to keep the parsed index (default: beside the json, else the user cache).
    Every item has one frame, ``visible=[True]``; its ``target_visible()`` is False only for zero-size boxes.
    The official "w > 50 and h > 50" flag is not applied, as in the official sampler (docs/official-behaviour.md §9.7).
    """

    name = "coco"
    is_video = False

    def __init__(self, root: Path, split: str = "train", version: str = "2017", cache_dir: Path | None = None):
        self.root = Path(root)
        self.image_dir = self.root / "images" / f"{split}{version}"
        if not self.image_dir.is_dir():
            raise DatasetError(f"missing COCO images folder: expected {self.image_dir}")
        self.index = load_index(self.root / "annotations" / f"instances_{split}{version}.json", cache_dir)

    def __len__(self) -> int:
        return len(self.index.ann_ids)

    def sequence(self, index: int) -> Sequence:
        """Instance ``index`` as a one-frame sequence: ``boxes (1, 4)`` ``xywh`` pixels."""
        idx = self.index
        image = int(idx.ann_image[index])
        category = int(idx.ann_category[index])
        return Sequence(
            name=f"coco_{int(idx.ann_ids[index])}",
            frames=[self.image_dir / str(idx.image_files[image])],
            boxes=idx.boxes[index : index + 1].copy(),
            visible=np.ones(1, dtype=bool),
            dataset="coco",
            meta={"ann_id": int(idx.ann_ids[index]), "category_id": category, "class": idx.category_name(category)},
        )
