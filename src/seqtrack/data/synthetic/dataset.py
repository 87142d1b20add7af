"""Synthetic datasets on disk, in the GOT-10k layout, so that `seqtrack.data.got10k` reads them.

Layout: ``list.txt`` (sequence names, written last), ``<seq>/00000001.jpg ...``, ``groundtruth.txt``
(``x,y,w,h`` a line, pixel edges; written last in its folder, so it marks a complete sequence),
``absence.label``, ``cover.label`` and ``meta_info.ini``.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2

from seqtrack.data.got10k import Got10kTrain
from seqtrack.data.synthetic.sequence import SyntheticSequence, generate_sequence, sequence_name
from seqtrack.data.synthetic.settings import SyntheticConfig
from seqtrack.errors import DatasetError


def write_sequence(sequence: SyntheticSequence, folder: Path, jpeg_quality: int = 90) -> None:
    """Write one sequence in the GOT-10k layout; ``groundtruth.txt`` is written last (completion mark)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
    for i, frame in enumerate(sequence.frames, start=1):
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), params)
        if not ok:  # pragma: no cover - OpenCV always encodes uint8 RGB
            raise DatasetError(f"could not encode frame {i} of {folder}")
        (folder / f"{i:08d}.jpg").write_bytes(data.tobytes())
    (folder / "absence.label").write_text("".join(f"{v}\n" for v in sequence.absence))
    (folder / "cover.label").write_text("".join(f"{v}\n" for v in sequence.cover))
    (folder / "meta_info.ini").write_text("[METAINFO]\n" + "".join(f"{k}: {v}\n" for k, v in sequence.meta.items()))
    tmp = folder / "groundtruth.txt.tmp"
    tmp.write_text("".join(",".join(f"{v:.4f}" for v in box) + "\n" for box in sequence.boxes))
    os.replace(tmp, folder / "groundtruth.txt")


def _is_complete(folder: Path, num_frames: int) -> bool:
    """Whether a sequence folder was finished: its ground truth (written last) and its last frame exist."""
    return (folder / "groundtruth.txt").is_file() and (folder / f"{num_frames:08d}.jpg").is_file()


def _write_one(args: tuple) -> str:
    """Generate and write one sequence unless it is complete on disk; its name.

    One tuple argument ``(root, index, num_frames, size, split, seed, config)``: the job a worker process
    receives from ``Pool.imap`` (a module-level function, so that it pickles by reference).
    """
    root, index, num_frames, size, split, seed, config = args
    name = sequence_name(split, index)
    folder = Path(root) / name
    if not _is_complete(folder, num_frames):
        sequence = generate_sequence(index, num_frames, size, split, seed, config)
        write_sequence(sequence, folder, config.jpeg_quality)
    return name


def write_dataset(
    root: Path,
    num_sequences: int,
    frames_per_sequence: int,
    size: tuple[int, int] = (240, 320),
    split: str = "train",
    seed: int = 0,
    config: SyntheticConfig | None = None,
    workers: int = 1,
    progress: bool = False,
) -> list[str]:
    """Write ``num_sequences`` sequences into ``root`` in the GOT-10k layout and return their names.

    Resumable: complete sequences already on disk (same name, ground truth and last frame present)
    are kept. ``list.txt`` is written last. ``size`` is ``(H, W)``. ``workers > 1`` uses processes.
    Read it back with ``Got10kTrain(root, split=None)`` or `synthetic_dataset`.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    config = config or SyntheticConfig()
    jobs = [
        (str(root), i, int(frames_per_sequence), tuple(size), split, int(seed), config) for i in range(num_sequences)
    ]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=num_sequences, desc=f"synthetic {split}", unit="seq")
    names = []
    if workers > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for name in pool.imap(_write_one, jobs):
                names.append(name)
                if bar:
                    bar.update()
    else:
        for job in jobs:
            names.append(_write_one(job))
            if bar:
                bar.update()
    if bar:
        bar.close()
    (root / "list.txt").write_text("".join(f"{name}\n" for name in names))
    return names


def synthetic_dataset(root: Path) -> Got10kTrain:
    """A written synthetic dataset as a training dataset (GOT-10k reader, every line of ``list.txt``)."""
    dataset = Got10kTrain(root, split=None)
    dataset.name = "synthetic"
    return dataset
