"""A small generated benchmark in every supported on-disk layout (tests, demos, smoke runs).

Each sequence is a short video (default 12 frames of 96 x 128 px) whose background is one of the
sample photographs shipped inside scikit-image (astronaut, coffee, chelsea...) and whose target is a
textured patch cut from another sample image, moving at constant velocity. Nothing is downloaded.

    >>> root = write_benchmark("lasot", tmp_path / "lasot")
    >>> get_benchmark("lasot", root).sequences()

Each writer returns the folder to pass as ``--root`` and puts in a few layout-specific details worth
testing: occlusion / out-of-view flags and, on request, the 14 attribute files (LaSOT), absent frames
(GOT-10k val), a NaN annotation row and attribute files (UAV123), comma / whitespace / tab separators
and a two-target sequence (OTB), rectangle / polygon / mask regions (VOT).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from seqtrack.errors import InputError, require_extra
from seqtrack.evaluate.benchmarks.lasot import ATTRIBUTES as LASOT_ATTRIBUTES

_BACKGROUNDS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")
_TARGETS = ("chelsea", "astronaut", "coffee")


@dataclass(frozen=True)
class FixtureSpec:
    """Size of the generated benchmark: ``n_sequences`` videos of ``n_frames`` frames, ``height`` x
    ``width`` pixels."""

    n_sequences: int = 3
    n_frames: int = 12
    height: int = 96
    width: int = 128

    def __post_init__(self) -> None:
        for name in ("n_sequences", "n_frames", "height", "width"):
            if getattr(self, name) < 1:
                raise InputError(f"FixtureSpec.{name} must be at least 1, got {getattr(self, name)}")


def _sample_image(name: str) -> np.ndarray:
    data = require_extra("skimage.data", "synthetic", "the generated benchmark fixtures")  # images in the wheel

    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3]).astype(np.uint8)


def ground_truth(index: int, spec: FixtureSpec) -> np.ndarray:
    """``(n_frames, 4)`` float64 integer-valued ``xywh`` boxes of sequence ``index``: constant velocity,
    slowly growing until it fills the image in a long video, always inside the image."""
    frames = np.arange(spec.n_frames, dtype=np.float64)
    # The growth stops at the frame's size: a box wider than the image has no place in it (a 200-frame
    # video at 96 px high used to give negative positions and a crash while pasting the target).
    w = np.minimum(np.round(24 + 4 * index + 0.5 * frames), spec.width)
    h = np.minimum(np.round(20 + 3 * index + 0.4 * frames), spec.height)
    x = np.round(8 + 6 * index + (3 + index) * frames)
    y = np.round(10 + 4 * index + (2 - index) * frames)
    x = np.clip(x, 0, spec.width - w)
    y = np.clip(y, 0, spec.height - h)
    return np.stack([x, y, w, h], axis=1)


def render_frames(index: int, boxes: np.ndarray, spec: FixtureSpec) -> list[np.ndarray]:
    """RGB ``(height, width, 3)`` uint8 frames with the target patch pasted at ``boxes`` (xywh)."""
    background = cv2.resize(
        _sample_image(_BACKGROUNDS[index % len(_BACKGROUNDS)]), (spec.width, spec.height), interpolation=cv2.INTER_AREA
    )
    target = _sample_image(_TARGETS[index % len(_TARGETS)])
    frames = []
    for x, y, w, h in boxes.astype(int):
        frame = background.copy()
        if w > 0 and h > 0:
            frame[y : y + h, x : x + w] = cv2.resize(target, (w, h), interpolation=cv2.INTER_AREA)
        frames.append(frame)
    return frames


def _write_image(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write {path}")


def _boxes_text(boxes: np.ndarray, sep: str = ",") -> str:
    return "".join(sep.join("nan" if np.isnan(v) else str(int(v)) for v in row) + "\n" for row in boxes)


def _video(index: int, spec: FixtureSpec) -> tuple[np.ndarray, list[np.ndarray]]:
    boxes = ground_truth(index, spec)
    return boxes, render_frames(index, boxes, spec)


def _write_frames(folder: Path, frames: list[np.ndarray], pattern: str, start: int = 1) -> None:
    for i, frame in enumerate(frames):
        _write_image(folder / (pattern % (i + start)), frame)


# --- one writer per layout ------------------------------------------------------------------------


def write_lasot(
    root: Path,
    spec: FixtureSpec = FixtureSpec(),
    classes: tuple[str, ...] = ("airplane", "bicycle"),
    attributes: bool = False,
) -> Path:
    """LaSOT layout with ``testing_set.txt``; sequence 0 has fully occluded frames, sequence 1
    out-of-view frames (frames 4-5 and 7 respectively, 0-based).

    ``attributes=True`` also writes LaSOT's 14-flag attribute files (``att/<seq>.txt``, see
    `_lasot_attribute_flags`): with two sequences or more every attribute has at least one sequence.
    """
    names = []
    for i in range(spec.n_sequences):
        cls = classes[i % len(classes)]
        name = f"{cls}-{i // len(classes) + 1}"
        names.append(name)
        seq_dir = root / cls / name
        boxes, frames = _video(i, spec)
        _write_frames(seq_dir / "img", frames, "%08d.jpg")
        (seq_dir / "groundtruth.txt").write_text(_boxes_text(boxes))
        occlusion = np.zeros(spec.n_frames, dtype=int)
        out_of_view = np.zeros(spec.n_frames, dtype=int)
        if i == 0:
            occlusion[4:6] = 1
        if i == 1 and spec.n_frames > 7:
            out_of_view[7] = 1
        (seq_dir / "full_occlusion.txt").write_text(",".join(map(str, occlusion)) + "\n")
        (seq_dir / "out_of_view.txt").write_text(",".join(map(str, out_of_view)) + "\n")
        (seq_dir / "nlp.txt").write_text(f"a moving {cls}\n")
        if attributes:
            flags = _lasot_attribute_flags(i, bool(occlusion.any()), bool(out_of_view.any()))
            (root / "att").mkdir(exist_ok=True)
            (root / "att" / f"{name}.txt").write_text(",".join(map(str, flags)) + "\n")
    (root / "testing_set.txt").write_text("\n".join(names) + "\n")
    return root


def _lasot_attribute_flags(index: int, full_occlusion: bool, out_of_view: bool) -> list[int]:
    """The 14 LaSOT flags of sequence ``index``: alternating, so that sequences 0 and 1 together have
    every attribute and each attribute's subset differs from the whole set; full occlusion and
    out-of-view agree with the sequence's per-frame flag files, as in the real dataset."""
    flags = [(index + k) % 2 for k in range(len(LASOT_ATTRIBUTES))]
    flags[LASOT_ATTRIBUTES.index("full_occlusion")] = int(full_occlusion)
    flags[LASOT_ATTRIBUTES.index("out_of_view")] = int(out_of_view)
    return flags


def write_lasot_ext(root: Path, spec: FixtureSpec = FixtureSpec()) -> Path:
    """LaSOT extension-subset layout (same as LaSOT, other classes, no list file)."""
    write_lasot(root, spec, classes=("atv", "badminton"))
    (root / "testing_set.txt").unlink()
    return root


def _write_got10k_split(root: Path, split: str, spec: FixtureSpec, full_gt: bool) -> Path:
    split_dir = root / split
    names = [f"GOT-10k_{split.capitalize()}_{i + 1:06d}" for i in range(spec.n_sequences)]
    for i, name in enumerate(names):
        seq_dir = split_dir / name
        boxes, frames = _video(i, spec)
        _write_frames(seq_dir, frames, "%08d.jpg")
        (seq_dir / "groundtruth.txt").write_text(_boxes_text(boxes if full_gt else boxes[:1]))
        if full_gt:
            absence = np.zeros(spec.n_frames, dtype=int)
            cover = np.full(spec.n_frames, 8, dtype=int)
            if i == 1 and spec.n_frames > 8:  # target absent in two frames, partly covered in one
                absence[5:7], cover[5:7] = 1, 0
                cover[8] = 3
            (seq_dir / "absence.label").write_text("".join(f"{v}\n" for v in absence))
            (seq_dir / "cover.label").write_text("".join(f"{v}\n" for v in cover))
            (seq_dir / "cut_by_image.label").write_text("".join("0\n" for _ in range(spec.n_frames)))
            (seq_dir / "meta_info.ini").write_text(
                "[METAINFO]\nurl: https://example.invalid/video\nbegin: 00:00:00\nend: 00:00:01\n"
                f"anno_fps: 10Hz\nobject_class: cat\nmotion_class: walking\nmajor_class: animal\n"
                f"root_class: object\nmotion_adverb: slowly\nresolution: ({spec.width}, {spec.height})\n"
            )
    (split_dir / "list.txt").write_text("\n".join(names) + "\n")
    return root


def write_got10k_val(root: Path, spec: FixtureSpec = FixtureSpec()) -> Path:
    """GOT-10k ``val/`` layout with full ground truth, labels and ``meta_info.ini``; returns ``root``
    (the folder holding ``val/``)."""
    return _write_got10k_split(root, "val", spec, full_gt=True)


def write_got10k_test(root: Path, spec: FixtureSpec = FixtureSpec()) -> Path:
    """GOT-10k ``test/`` layout: first-frame ground truth only."""
    return _write_got10k_split(root, "test", spec, full_gt=False)


def write_trackingnet(root: Path, spec: FixtureSpec = FixtureSpec()) -> Path:
    """TrackingNet ``TEST/anno`` (first frame) and ``TEST/frames/<seq>/<i>.jpg`` (0-based)."""
    for i in range(spec.n_sequences):
        name = f"vid{i:03d}_{'abcdefghij'[i % 10]}"
        boxes, frames = _video(i, spec)
        _write_frames(root / "TEST" / "frames" / name, frames, "%d.jpg", start=0)
        (root / "TEST" / "anno").mkdir(parents=True, exist_ok=True)
        (root / "TEST" / "anno" / f"{name}.txt").write_text(_boxes_text(boxes[:1]))
    return root


def write_tnl2k(root: Path, spec: FixtureSpec = FixtureSpec()) -> Path:
    """TNL2K: ``<seq>/imgs/*.jpg`` (lexicographic names), ``groundtruth.txt``, ``language.txt``."""
    for i in range(spec.n_sequences):
        name = f"Seq{i}_tnl"
        boxes, frames = _video(i, spec)
        _write_frames(root / name / "imgs", frames, "%05d.jpg")
        (root / name / "groundtruth.txt").write_text(_boxes_text(boxes))
        (root / name / "language.txt").write_text(f"the object number {i}\n")
    return root


def write_uav(root: Path, spec: FixtureSpec = FixtureSpec()) -> Path:
    """UAV123 layout (entries not in the real table: read as whole videos); sequence 0 has a NaN
    annotation row (frame 6) and every sequence an attribute file."""
    for i in range(spec.n_sequences):
        name = f"fixture{i}"
        boxes, frames = _video(i, spec)
        _write_frames(root / "data_seq" / "UAV123" / name, frames, "%06d.jpg")
        anno = boxes.copy()
        if i == 0 and spec.n_frames > 2:
            anno[min(6, spec.n_frames - 1)] = np.nan
        (root / "anno" / "UAV123" / "att").mkdir(parents=True, exist_ok=True)
        (root / "anno" / "UAV123" / f"{name}.txt").write_text(_boxes_text(anno))
        flags = [(i + k) % 2 for k in range(12)]
        (root / "anno" / "UAV123" / "att" / f"{name}.txt").write_text(",".join(map(str, flags)) + "\n")
    return root


def write_nfs(root: Path, spec: FixtureSpec = FixtureSpec()) -> Path:
    """NfS-30: ``<seq>/30/<seq>/%05d.jpg`` and ``<seq>/30/<seq>_pytracking.txt``."""
    for i in range(spec.n_sequences):
        name = f"nfs_fixture_{i}"
        boxes, frames = _video(i, spec)
        _write_frames(root / name / "30" / name, frames, "%05d.jpg")
        (root / name / "30" / f"{name}_pytracking.txt").write_text(_boxes_text(boxes))
    return root


def write_otb(root: Path, spec: FixtureSpec = FixtureSpec()) -> Path:
    """OTB: ``<seq>/img/%04d.jpg`` + ``groundtruth_rect.txt`` with comma, whitespace or tab separators;
    the last sequence has two targets (``groundtruth_rect.1.txt`` / ``.2.txt``)."""
    separators = (",", " ", "\t")
    for i in range(spec.n_sequences):
        name = f"Fixture{i}"
        boxes, frames = _video(i, spec)
        _write_frames(root / name / "img", frames, "%04d.jpg")
        if i == spec.n_sequences - 1:
            (root / name / "groundtruth_rect.1.txt").write_text(_boxes_text(boxes))
            (root / name / "groundtruth_rect.2.txt").write_text(_boxes_text(boxes + [2, 2, 0, 0]))
        else:
            (root / name / "groundtruth_rect.txt").write_text(_boxes_text(boxes, separators[i % 3]))
    return root


def _mask_region(box: np.ndarray) -> str:
    x, y, w, h = (int(v) for v in box)
    # a mask whose foreground is the box minus its first row: bounding box = (x, y + 1, w, h - 1)
    runs = [w, w * (h - 1)]
    return "m" + ",".join(map(str, [x, y, w, h, *runs]))


def write_vot(root: Path, spec: FixtureSpec = FixtureSpec()) -> Path:
    """VOT sequences folder: ``list.txt``, ``<seq>/color/%08d.jpg``; ground truth as rectangles
    (sequence 0), 8-value polygons (1) and run-length masks (2)."""
    names = []
    for i in range(spec.n_sequences):
        name = f"vot_fixture{i}"
        names.append(name)
        boxes, frames = _video(i, spec)
        _write_frames(root / name / "color", frames, "%08d.jpg")
        kind = i % 3
        lines = []
        for x, y, w, h in boxes:
            if kind == 0:
                lines.append(f"{x:.2f},{y:.2f},{w:.2f},{h:.2f}")
            elif kind == 1:
                corners = [x, y, x + w, y, x + w, y + h, x, y + h]
                lines.append(",".join(f"{v:.2f}" for v in corners))
            else:
                lines.append(_mask_region(np.array([x, y, w, h])))
        (root / name / "groundtruth.txt").write_text("\n".join(lines) + "\n")
    (root / "list.txt").write_text("\n".join(names) + "\n")
    return root


#: benchmark name -> writer(root, spec) returning the ``--root`` folder
WRITERS: dict[str, Callable[[Path, FixtureSpec], Path]] = {
    "lasot": write_lasot,
    "lasot_ext": write_lasot_ext,
    "got10k_test": write_got10k_test,
    "got10k_val": write_got10k_val,
    "trackingnet": write_trackingnet,
    "tnl2k": write_tnl2k,
    "uav": write_uav,
    "nfs": write_nfs,
    "otb": write_otb,
    "vot": write_vot,
}


def write_benchmark(name: str, root: Path, spec: FixtureSpec = FixtureSpec()) -> Path:
    """Write the generated benchmark ``name`` under ``root`` and return the folder to use as ``--root``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    return WRITERS[name](root, spec)


def write_all(root: Path, spec: FixtureSpec = FixtureSpec()) -> dict[str, Path]:
    """Every layout, each in ``root/<benchmark>``; returns benchmark name -> ``--root`` folder."""
    return {name: write_benchmark(name, Path(root) / name, spec) for name in WRITERS}
