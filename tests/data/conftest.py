"""Builders of tiny on-disk copies of the official dataset layouts (exact names, separators, numbering)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest


def _jpg(path: Path, value: int = 0, size: tuple[int, int] = (48, 64)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.full(size + (3,), value, dtype=np.uint8)
    image[: size[0] // 2, :, 2] = 255  # red top half in RGB -> BGR channel 2
    cv2.imwrite(str(path), image)


def _boxes(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 30, size=(n, 2))
    wh = rng.integers(5, 20, size=(n, 2))
    return np.concatenate([xy, wh], axis=1).astype(np.float64)


@pytest.fixture
def make_lasot():
    """``make_lasot(root, name, n, occluded=(...), out_of_view=(...), nlp=str|None) -> boxes``."""

    def build(root: Path, name: str, n: int, occluded=(), out_of_view=(), nlp: str | None = None, images=True):
        seq = Path(root) / name.rsplit("-", 1)[0] / name
        (seq / "img").mkdir(parents=True, exist_ok=True)
        if images:
            for i in range(1, n + 1):
                _jpg(seq / "img" / f"{i:08d}.jpg", i)
        boxes = _boxes(n, seed=len(name))
        (seq / "groundtruth.txt").write_text("\n".join(",".join(str(int(v)) for v in b) for b in boxes) + "\n")
        occ = ["1" if i in occluded else "0" for i in range(n)]
        oov = ["1" if i in out_of_view else "0" for i in range(n)]
        (seq / "full_occlusion.txt").write_text(",".join(occ))
        (seq / "out_of_view.txt").write_text(",".join(oov))
        if nlp is not None:
            (seq / "nlp.txt").write_text(nlp + "\n")
        return boxes

    return build


@pytest.fixture
def make_got10k():
    """``make_got10k(split_dir, name, n, absence=(...), cover0=(...), gt_lines=None) -> boxes``."""

    def build(
        split_dir: Path,
        name: str,
        n: int,
        absence=(),
        cover0=(),
        gt_lines: int | None = None,
        labels: bool = True,
        meta: bool = True,
    ):
        seq = Path(split_dir) / name
        seq.mkdir(parents=True, exist_ok=True)
        for i in range(1, n + 1):
            _jpg(seq / f"{i:08d}.jpg", i)
        boxes = _boxes(n, seed=len(name) + n)
        rows = boxes if gt_lines is None else boxes[:gt_lines]
        (seq / "groundtruth.txt").write_text("\n".join(",".join(f"{v:.4f}" for v in b) for b in rows) + "\n")
        if labels:
            (seq / "absence.label").write_text("\n".join("1" if i in absence else "0" for i in range(n)) + "\n")
            (seq / "cover.label").write_text("\n".join("0" if i in cover0 else "8" for i in range(n)) + "\n")
        if meta:
            (seq / "meta_info.ini").write_text(
                "[METAINFO]\nurl: https://www.youtube.com/watch?v=abc%20d\nbegin_time: 00:00:18\n"
                "object_class: ailurus fulgens\nmotion_class: walking\nresolution: (1920, 1080)\n"
            )
        return boxes

    return build


@pytest.fixture
def make_trackingnet():
    """``make_trackingnet(root, split, vid, n, anno_lines=None) -> boxes`` (``split`` = TRAIN_0, TEST...)."""

    def build(root: Path, split: str, vid: str, n: int, anno_lines: int | None = None):
        base = Path(root) / split
        (base / "anno").mkdir(parents=True, exist_ok=True)
        for i in range(n):  # 0-based, no padding: 0.jpg 1.jpg ... 10.jpg
            _jpg(base / "frames" / vid / f"{i}.jpg", i)
        boxes = _boxes(n, seed=n)
        rows = boxes if anno_lines is None else boxes[:anno_lines]
        (base / "anno" / f"{vid}.txt").write_text("\n".join(",".join(f"{v:g}" for v in b) for b in rows) + "\n")
        return boxes

    return build
