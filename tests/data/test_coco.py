"""COCO reader: non-crowd instances as one-frame sequences, the cached index, malformed files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from seqtrack.data import coco
from seqtrack.errors import DatasetError


def _write_coco(root, annotations=None):
    (root / "images" / "train2017").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    data = {
        "images": [
            {"id": 9, "file_name": "000000000009.jpg", "height": 480, "width": 640},
            {"id": 25, "file_name": "000000000025.jpg", "height": 426, "width": 640},
        ],
        "annotations": annotations
        or [
            {"id": 1, "image_id": 25, "bbox": [10.5, 20.0, 30.0, 40.25], "iscrowd": 0, "category_id": 3},
            {"id": 2, "image_id": 9, "bbox": [1, 2, 3, 4], "iscrowd": 1, "category_id": 1},
            {"id": 3, "image_id": 9, "bbox": [5, 6, 70, 80], "iscrowd": 0, "category_id": 1},
        ],
        "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
    }
    path = root / "annotations" / "instances_train2017.json"
    path.write_text(json.dumps(data))
    return path


def test_coco_instances_as_sequences(tmp_path):
    json_path = _write_coco(tmp_path)
    dataset = coco.CocoTrain(tmp_path)
    assert len(dataset) == 2 and not dataset.is_video and dataset.name == "coco"
    first = dataset.sequence(0)
    assert first.frames == [tmp_path / "images" / "train2017" / "000000000025.jpg"]
    np.testing.assert_allclose(first.boxes, [[10.5, 20.0, 30.0, 40.25]])
    assert first.meta["class"] == "car" and first.meta["ann_id"] == 1 and first.dataset == "coco"
    assert dataset.sequence(1).meta["class"] == "person"
    # index cached beside the json, keyed by size and mtime
    caches = list(json_path.parent.glob("instances_train2017.json.seqtrack-index-*.npz"))
    assert len(caches) == 1 and str(os.path.getsize(json_path)) in caches[0].name


def test_coco_cache_reused_and_invalidated(tmp_path, monkeypatch):
    json_path = _write_coco(tmp_path)
    coco.CocoTrain(tmp_path)

    def boom(path):
        raise AssertionError("json parsed again")

    monkeypatch.setattr(coco, "build_index", boom)
    assert len(coco.CocoTrain(tmp_path)) == 2  # from the cache
    monkeypatch.undo()
    _write_coco(tmp_path, annotations=[{"id": 7, "image_id": 9, "bbox": [0, 0, 5, 5], "iscrowd": 0, "category_id": 1}])
    os.utime(json_path, ns=(1, 1))
    assert len(coco.CocoTrain(tmp_path)) == 1  # changed json: re-indexed


def test_coco_cache_dir(tmp_path):
    _write_coco(tmp_path / "data")
    coco.CocoTrain(tmp_path / "data", cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache" / "coco").glob("*.npz"))) == 1


def test_coco_malformed_and_missing(tmp_path):
    with pytest.raises(DatasetError, match="images/train2017"):
        coco.CocoTrain(tmp_path)
    json_path = _write_coco(tmp_path)
    json_path.write_text("{not json")
    with pytest.raises(DatasetError, match="instances_train2017.json"):
        coco.CocoTrain(tmp_path)
    json_path.write_text(json.dumps({"images": []}))
    with pytest.raises(DatasetError, match="instances_train2017.json"):
        coco.CocoTrain(tmp_path)
    json_path.unlink()
    with pytest.raises(DatasetError, match="annotations/instances_train2017.json"):
        coco.CocoTrain(tmp_path)
