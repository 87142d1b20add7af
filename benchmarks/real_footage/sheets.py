"""Contact sheets of the annotated real-footage clips, to check every sampled box by eye (issue 23).

.venv/bin/python benchmarks/real_footage/sheets.py [--root data/real_footage/val]
    [--out benchmarks/results/real_footage/sheets] [--tiles 48] [--png DIR]

One JPEG per clip: ``tiles`` frames evenly spread over the clip (first and last included). Each tile is
a square crop around the ground-truth box (three times its size, at least ``min_context`` pixels, so a
12-pixel ball is as checkable as a box filling the frame) scaled to ``tile`` pixels, the box drawn in
green, the frame number (1-based, as in ``00000001.jpg``) written on it; a frame marked absent shows the
whole frame with ``absent``. ``--png`` also writes PNG copies (for image viewers that read PNG only).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np


def read_boxes(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 4)`` ``xywh`` pixel boxes and ``(N,)`` absence flags of one GOT-10k sequence folder."""
    boxes = np.loadtxt(folder / "groundtruth.txt", delimiter=",", ndmin=2)
    absence_path = folder / "absence.label"
    absence = np.loadtxt(absence_path, ndmin=1).astype(int) if absence_path.is_file() else np.zeros(len(boxes), int)
    return boxes, absence


def tile_for(frame: np.ndarray, box: np.ndarray, absent: bool, label: str, size: int, min_context: int) -> np.ndarray:
    """One ``(size, size, 3)`` uint8 tile: a crop centred on ``box`` (``xywh`` pixels) with the box drawn."""
    height, width = frame.shape[:2]
    if absent:
        scale = size / max(width, height)
        small = cv2.resize(frame, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        tile = np.zeros((size, size, 3), np.uint8)
        tile[: small.shape[0], : small.shape[1]] = small
        _text(tile, f"{label} absent", (0, 0, 255))
        return tile
    x, y, w, h = box
    side = max(3 * max(w, h), min_context)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    side = int(round(side))
    # pad so that crops reaching past the frame edge keep the box centred (grey padding)
    pad = side
    padded = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(96, 96, 96))
    crop = padded[y0 + pad : y0 + pad + side, x0 + pad : x0 + pad + side]
    scale = size / side
    tile = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    p0 = (int(round((x - x0) * scale)), int(round((y - y0) * scale)))
    p1 = (int(round((x + w - x0) * scale)) - 1, int(round((y + h - y0) * scale)) - 1)
    cv2.rectangle(tile, p0, p1, (0, 255, 0), 1)
    _text(tile, label, (0, 255, 255))
    return tile


def _text(tile: np.ndarray, text: str, colour: tuple[int, int, int]) -> None:
    cv2.putText(tile, text, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 3)
    cv2.putText(tile, text, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, colour, 1)


def make_sheet(folder: Path, tiles: int = 48, columns: int = 8, size: int = 150, min_context: int = 96) -> np.ndarray:
    """The contact sheet of one sequence folder: ``(rows * size, columns * size, 3)`` uint8 BGR."""
    boxes, absence = read_boxes(folder)
    picks = np.unique(np.linspace(0, len(boxes) - 1, min(tiles, len(boxes))).round().astype(int))
    images = []
    for i in picks:
        frame = cv2.imread(str(folder / f"{i + 1:08d}.jpg"), cv2.IMREAD_COLOR)
        if frame is None:
            raise FileNotFoundError(f"cannot read {folder / f'{i + 1:08d}.jpg'}")
        images.append(tile_for(frame, boxes[i], bool(absence[i]), str(i + 1), size, min_context))
    while len(images) % columns:
        images.append(np.zeros_like(images[0]))
    rows = [np.concatenate(images[r : r + columns], axis=1) for r in range(0, len(images), columns)]
    return np.concatenate(rows, axis=0)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: one sheet per clip of ``list.txt``; 2 with one error line on a missing folder."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("data/real_footage/val"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/real_footage/sheets"))
    parser.add_argument("--tiles", type=int, default=48)
    parser.add_argument("--png", type=Path, default=None, help="also write PNG copies into this folder")
    parser.add_argument("--quality", type=int, default=80, help="JPEG quality")
    args = parser.parse_args(argv)
    list_path = args.root / "list.txt"
    if not list_path.is_file():
        print(f"error: {list_path} not found (run benchmarks/real_footage/annotate.py)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for name in list_path.read_text().split():
        try:
            sheet = make_sheet(args.root / name, tiles=args.tiles)
        except (OSError, ValueError) as exc:
            print(f"error: clip {name}: {exc}", file=sys.stderr)
            return 2
        target = args.out / f"{name}.jpg"
        cv2.imwrite(str(target), sheet, [cv2.IMWRITE_JPEG_QUALITY, args.quality])
        if args.png is not None:
            args.png.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(args.png / f"{name}.png"), sheet)
        print(f"wrote {target} ({target.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
