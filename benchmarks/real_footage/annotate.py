"""Box the real-footage clips by segmentation and write them in the GOT-10k layout (issue 23).

.venv/bin/python benchmarks/real_footage/annotate.py [--raw data/real_footage/raw] [--out data/real_footage/val]

For each `clips.Clip`: decode frames ``[start, stop)`` of its source, box the target in each frame with
its `clips.Recipe` (an HSV colour mask, morphology, connected components; never a tracker, so no
tracker's bias enters the ground truth) and write ``<clip>/00000001.jpg ...``, ``groundtruth.txt``
(``x,y,w,h`` pixels, written last), ``absence.label`` (1 where the recipe was unreliable or the frame
was marked absent by hand; the box is then ``0,0,0,0``), ``cover.label`` (8 or 0) and ``meta_info.ini``,
then ``list.txt``. No temporal smoothing: each box is the segmentation of its own frame.
``seqtrack eval got10k_val --root data/real_footage/val`` reads the result.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from clips import CLIPS, SOURCES, Clip, Recipe


class AnnotationError(Exception):
    """A clip cannot be annotated (missing source, unreliable first frame); one-line message."""


@dataclass(frozen=True)
class FrameBox:
    """The recipe's verdict on one frame: ``box`` (``xywh`` pixels) or None with ``reason``; ``area`` pixels."""

    box: tuple[int, int, int, int] | None
    area: int = 0
    reason: str = ""


def colour_mask(frame_bgr: np.ndarray, recipe: Recipe) -> np.ndarray:
    """``(H, W)`` uint8 mask (0/255) of ``frame_bgr`` (``(H, W, 3)`` uint8 BGR) after ranges, ROI and morphology."""
    hsv = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2HSV)
    mask = np.zeros(hsv.shape[:2], np.uint8)
    for rng in recipe.ranges:
        mask |= cv2.inRange(hsv, np.array(rng.low, np.uint8), np.array(rng.high, np.uint8))
    for rng in recipe.exclude:
        mask &= ~cv2.inRange(hsv, np.array(rng.low, np.uint8), np.array(rng.high, np.uint8))
    if recipe.roi is not None:
        x, y, w, h = recipe.roi
        keep = np.zeros_like(mask)
        keep[max(y, 0) : y + h, max(x, 0) : x + w] = 255
        mask &= keep
    if recipe.open_px > 1:
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _kernel(recipe.open_px))
    if recipe.close_px > 1:
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _kernel(recipe.close_px))
    return mask


def _kernel(size: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def _holes(component: np.ndarray, min_area: int) -> int:
    """Number of holes of at least ``min_area`` pixels in a 0/1 component mask (``(H, W)`` uint8)."""
    inverse = (component == 0).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(inverse, connectivity=4)
    border = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])))
    return sum(1 for i in range(1, count) if i not in border and stats[i, cv2.CC_STAT_AREA] >= min_area)


def _touches(stat: np.ndarray, width: int, height: int) -> bool:
    """Whether a component's box (``stat[:4]`` = ``xywh``) reaches the frame's edge."""
    x, y, w, h = stat[:4]
    return x <= 0 or y <= 0 or x + w >= width or y + h >= height


def _gap(a: np.ndarray, b: np.ndarray) -> float:
    """Chebyshev gap in pixels between two ``xywh`` boxes (0 when they touch or overlap)."""
    dx = max(a[0] - (b[0] + b[2]), b[0] - (a[0] + a[2]), 0)
    dy = max(a[1] - (b[1] + b[3]), b[1] - (a[1] + a[3]), 0)
    return float(max(dx, dy))


def segment(frame_bgr: np.ndarray, recipe: Recipe) -> FrameBox:
    """Box the target of one frame (``(H, W, 3)`` uint8 BGR) by ``recipe``; ``box`` is ``xywh`` pixels.

    The box is the tight box of the chosen component's pixels (plus merged neighbours), so a box edge
    lies on the outermost mask pixel: ``w = x_max - x_min + 1``. See `clips.Recipe` for the rules.
    """
    mask = colour_mask(frame_bgr, recipe)
    count, labels, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8), connectivity=8)
    height, width = mask.shape
    order = [
        i
        for i in np.argsort(-stats[1:, cv2.CC_STAT_AREA]) + 1
        if stats[i, cv2.CC_STAT_AREA] >= recipe.min_area
        and not (recipe.drop_border and _touches(stats[i], width, height))
    ]
    if not order:
        return FrameBox(None, 0, "no component")
    chosen = None
    for i in order:
        if recipe.min_holes <= 0:
            chosen = i
            break
        x, y, w, h = stats[i, :4]
        if _holes((labels[y : y + h, x : x + w] == i).astype(np.uint8), recipe.hole_min_area) >= recipe.min_holes:
            chosen = i
            break
    if chosen is None:
        return FrameBox(None, 0, f"no component with {recipe.min_holes} holes")
    members = [chosen]
    box = stats[chosen, :4].copy()
    changed = recipe.merge_px > 0
    while changed:  # grow the group until no remaining candidate lies within merge_px of its box
        changed = False
        for i in order:
            if i not in members and _gap(box, stats[i, :4]) <= recipe.merge_px:
                members.append(i)
                x0, y0 = min(box[0], stats[i, 0]), min(box[1], stats[i, 1])
                x1 = max(box[0] + box[2], stats[i, 0] + stats[i, 2])
                y1 = max(box[1] + box[3], stats[i, 1] + stats[i, 3])
                box = np.array([x0, y0, x1 - x0, y1 - y0])
                changed = True
    area = int(sum(stats[i, cv2.CC_STAT_AREA] for i in members))
    if recipe.max_area is not None and area > recipe.max_area:
        return FrameBox(None, area, f"area {area} > max_area {recipe.max_area}")
    if recipe.max_aspect is not None and max(box[2] / box[3], box[3] / box[2]) > recipe.max_aspect:
        return FrameBox(None, area, f"aspect {box[2]}x{box[3]} beyond {recipe.max_aspect}")
    rivals = [int(stats[i, cv2.CC_STAT_AREA]) for i in order if i not in members]
    if rivals and max(rivals) >= recipe.ambiguity * area:
        return FrameBox(None, area, f"ambiguous: another component of {max(rivals)} px")
    return FrameBox(tuple(int(v) for v in box), area)


def annotate_frames(frames: Iterator[np.ndarray], recipe: Recipe, absent: set[int]) -> Iterator[tuple]:
    """``(frame, FrameBox)`` per frame; frames whose index (0-based in ``frames``) is in ``absent``, or whose
    box area jumps by more than ``recipe.max_area_jump`` from the last reliable frame, become absent."""
    last_area = None
    for index, frame in enumerate(frames):
        if index in absent:
            yield frame, FrameBox(None, 0, "marked absent by hand")
            continue
        found = segment(frame, recipe)
        if found.box is not None and last_area is not None:
            ratio = max(found.area, 1) / max(last_area, 1)
            if ratio > recipe.max_area_jump or ratio < 1 / recipe.max_area_jump:
                found = FrameBox(None, found.area, f"area jump x{ratio:.2f}")
        if found.box is not None:
            last_area = found.area
        yield frame, found


def read_frames(path: Path, start: int, stop: int) -> Iterator[np.ndarray]:
    """BGR ``(H, W, 3)`` uint8 frames ``[start, stop)`` of a video file or of a folder of images (sorted)."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file())
        if stop > len(files):
            raise AnnotationError(f"{path} has {len(files)} images, the clip needs {stop}")
        for file in files[start:stop]:
            image = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if image is None:
                raise AnnotationError(f"cannot read image {file}")
            yield image
        return
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise AnnotationError(f"cannot open video {path} (run benchmarks/real_footage/fetch.py)")
    index = 0
    try:
        while index < stop:
            ok, frame = capture.read()
            if not ok:
                raise AnnotationError(f"{path} has {index} frames, the clip needs {stop}")
            if index >= start:
                yield frame
            index += 1
    finally:
        capture.release()


def write_clip(clip: Clip, raw: Path, out: Path, jpeg_quality: int = 95) -> dict:
    """Annotate one clip into ``out/<clip.name>/`` (GOT-10k layout); a summary dict (frames, absent, reasons)."""
    source = SOURCES[clip.source]
    path = raw / source.raw_name
    if not path.exists():
        raise AnnotationError(f"missing source {path} for clip {clip.name} (run benchmarks/real_footage/fetch.py)")
    absent = {i - clip.start for a, b in clip.absent for i in range(a, b)}
    folder = out / clip.name
    folder.mkdir(parents=True, exist_ok=True)
    for stale in [folder / "groundtruth.txt", *folder.glob("*.jpg")]:  # an earlier, longer version of the clip
        stale.unlink(missing_ok=True)
    boxes, flags, reasons, shape = [], [], {}, None
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
    frames = read_frames(path, clip.start, clip.stop)
    for i, (frame, found) in enumerate(annotate_frames(frames, clip.recipe, absent), start=1):
        if i == 1 and found.box is None:
            raise AnnotationError(f"clip {clip.name}: first frame {clip.start} is not reliable ({found.reason})")
        shape = frame.shape
        ok, data = cv2.imencode(".jpg", frame, params)
        if not ok:  # pragma: no cover - OpenCV encodes any uint8 BGR image
            raise AnnotationError(f"cannot encode frame {clip.start + i - 1} of {clip.name}")
        (folder / f"{i:08d}.jpg").write_bytes(data.tobytes())
        boxes.append(found.box or (0, 0, 0, 0))
        flags.append(0 if found.box is not None else 1)
        if found.box is None:
            reasons[clip.start + i - 1] = found.reason
    write_labels(folder, boxes, flags, clip, shape)
    return {"frames": len(boxes), "absent": sum(flags), "reasons": reasons, "size": (shape[1], shape[0])}


def write_labels(folder: Path, boxes: list, absence: list[int], clip: Clip, shape: tuple) -> None:
    """Write the label files of one sequence folder; ``groundtruth.txt`` last (it marks a finished clip).

    ``boxes``: ``N`` ``xywh`` pixel boxes (``0,0,0,0`` when absent); ``absence``: ``N`` flags (1 = absent);
    ``shape``: a frame's ``(H, W, 3)``.
    """
    (folder / "absence.label").write_text("".join(f"{a}\n" for a in absence))
    (folder / "cover.label").write_text("".join(f"{0 if a else 8}\n" for a in absence))
    meta = {
        "object_class": clip.target,
        "source": f"{SOURCES[clip.source].package}:/{SOURCES[clip.source].member}",
        "frames": f"{clip.start}-{clip.stop - 1}",
        "resolution": f"({shape[1]}, {shape[0]})",
    }
    (folder / "meta_info.ini").write_text("[METAINFO]\n" + "".join(f"{k}: {v}\n" for k, v in meta.items()))
    tmp = folder / "groundtruth.txt.tmp"
    tmp.write_text("".join(",".join(str(v) for v in box) + "\n" for box in boxes))
    os.replace(tmp, folder / "groundtruth.txt")


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: annotate every clip (or ``--only NAME ...``), write ``list.txt``; 2 on error."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw", type=Path, default=Path("data/real_footage/raw"))
    parser.add_argument("--out", type=Path, default=Path("data/real_footage/val"))
    parser.add_argument("--only", nargs="*", default=None, help="clip names (default: all)")
    parser.add_argument("--verbose", action="store_true", help="print each absent frame and why")
    args = parser.parse_args(argv)
    known = {c.name: c for c in CLIPS}
    try:
        for name in args.only or list(known):
            if name not in known:
                raise AnnotationError(f"unknown clip {name!r} (known: {', '.join(known)})")
            summary = write_clip(known[name], args.raw, args.out)
            print(f"{name}: {summary['frames']} frames, {summary['absent']} absent, {summary['size']}")
            if args.verbose:
                for index, reason in summary["reasons"].items():
                    print(f"  frame {index}: {reason}")
    except AnnotationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    # list.txt names every finished clip (groundtruth.txt is written last), so --only can update one
    done = [c.name for c in CLIPS if (args.out / c.name / "groundtruth.txt").is_file()]
    (args.out / "list.txt").write_text("".join(f"{name}\n" for name in done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
