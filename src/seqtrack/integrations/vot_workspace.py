"""A VOT toolkit workspace written offline: sequences, ``config.yaml``, a local stack and ``trackers.ini``.

``vot initialize`` downloads a challenge's dataset; this module writes instead a workspace the toolkit
runs without network, from generated sequences (`generated_sequences`) or from a benchmark read by
`seqtrack.evaluate.benchmarks` (`benchmark_sequences`)::

    workspace/
      config.yaml          registry ./trackers.ini, stack ./stack.yaml
      stack.yaml           experiments "unsupervised" (runs) and "supervised" (declared, see below)
      trackers.ini         one TraX tracker running `seqtrack.integrations.vot` (`write_trackers_ini`)
      sequences/list.txt   one sequence name a line
      sequences/<name>/    color/00000001.jpg ..., groundtruth.txt (x,y,w,h a line), sequence (metadata)

Then, with a venv holding vot-toolkit 0.9.0 and vot-trax::

    vot evaluate --workspace W --experiments unsupervised seqtrack
    vot analysis --workspace W --experiments unsupervised --format json seqtrack

The ``supervised`` experiment (re-initialisation after each failure, `vot_protocol.run_supervised`) is
declared so that the stack describes the whole short-term protocol, but vot-toolkit 0.9.0 cannot run it
with any single-target tracker (a defect of that version); use `vot_protocol.run_supervised` for it.

Ground truth that is unknown (a NaN or a non-positive size: a target out of the frame) is written as
``nan,nan,nan,nan``, which the toolkit reads as an unknown state: neither it nor `vot_protocol` counts
those frames.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from seqtrack.errors import InputError
from seqtrack.integrations.vot import write_trackers_ini
from seqtrack.integrations.vot_protocol import BURN_IN, EAO_HIGH, EAO_LOW, SKIP

#: The experiment the toolkit (0.9.0) runs with a single-target tracker, and the one it cannot.
UNSUPERVISED = "unsupervised"
SUPERVISED = "supervised"
#: Size of generated frames ``(H, W)``: small, so the toolkit's runs take seconds on a CPU.
GENERATED_SIZE = (96, 128)
#: JPEG quality of frames encoded here (frames that already are JPEG files are copied unchanged).
JPEG_QUALITY = 95


@dataclass(frozen=True)
class VotSequence:
    """One sequence to write: ``frames`` are RGB ``(H, W, 3)`` uint8 arrays or image files, ``boxes``
    the ``(N, 4)`` ``xywh`` ground truth (rows with NaN or a non-positive size are unknown)."""

    name: str
    frames: Sequence[Any]
    boxes: np.ndarray


def generated_sequences(
    count: int, frames: int, seed: int = 0, size: tuple[int, int] = GENERATED_SIZE
) -> list[VotSequence]:
    """``count`` sequences of ``frames`` frames from `seqtrack.data.synthetic` (its ``test`` split, whose
    photographs are not in the training split), a pure function of the arguments. Needs the
    ``synthetic`` extra (scikit-image)."""
    if count < 1 or frames < 2:
        raise InputError(f"a workspace needs at least 1 sequence of 2 frames, got {count} of {frames}")
    from seqtrack.data.synthetic import generate_sequence

    made = []
    for index in range(count):
        sequence = generate_sequence(index, num_frames=frames, size=size, split="test", seed=seed)
        made.append(VotSequence(sequence.name, sequence.frames, sequence.boxes))
    return made


def benchmark_sequences(sequences: Iterable[Any]) -> list[VotSequence]:
    """Benchmark sequences (`seqtrack.data.sequence.Sequence`: frame paths, ``boxes``) to write; a
    ground truth shorter than the video (GOT-10k test keeps only the first box) is padded as unknown."""
    made = []
    for sequence in sequences:
        boxes = np.full((len(sequence.frames), 4), np.nan)
        given = np.asarray(sequence.boxes, dtype=np.float64)[: len(boxes)]
        boxes[: len(given)] = given
        made.append(VotSequence(sequence.name, list(sequence.frames), boxes))
    return made


def ground_truth_text(boxes: np.ndarray) -> str:
    """``groundtruth.txt``: ``x,y,w,h`` a line, ``nan,nan,nan,nan`` where the box is unknown."""
    lines = []
    for box in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
        known = np.isfinite(box).all() and box[2] > 0 and box[3] > 0
        lines.append(",".join(f"{v:.4f}" for v in box) if known else "nan,nan,nan,nan")
    return "\n".join(lines) + "\n"


def _write_frames(folder: Path, frames: Sequence[Any]) -> str:
    """Write the frames as ``folder/%08d.<ext>``; returns the extension. JPEG files are copied as they
    are (the tracker then sees the benchmark's own pixels); anything else is encoded as JPEG."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = all(isinstance(f, (str, Path)) and Path(f).suffix.lower() in (".jpg", ".jpeg") for f in frames)
    for i, frame in enumerate(frames, start=1):
        target = folder / f"{i:08d}.jpg"
        if copy:
            shutil.copyfile(frame, target)
            continue
        if isinstance(frame, (str, Path)):
            bgr = cv2.imread(str(frame), cv2.IMREAD_COLOR)
            if bgr is None:
                raise InputError(f"cannot read the frame {frame}")
        else:
            bgr = cv2.cvtColor(np.asarray(frame, dtype=np.uint8), cv2.COLOR_RGB2BGR)
        if not cv2.imwrite(str(target), bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise OSError(f"cannot write {target}")
    return "jpg"


def write_sequence(sequences_dir: Path, sequence: VotSequence) -> Path:
    """Write one sequence in the toolkit's layout under ``sequences_dir``; returns its folder."""
    if not sequence.name or "/" in sequence.name or sequence.name.startswith("."):
        raise InputError(f"a VOT sequence name must be a plain folder name, got {sequence.name!r}")
    if len(sequence.frames) != len(sequence.boxes):
        raise InputError(f"sequence {sequence.name}: {len(sequence.frames)} frames but {len(sequence.boxes)} boxes")
    folder = Path(sequences_dir) / sequence.name
    ext = _write_frames(folder / "color", sequence.frames)
    (folder / "groundtruth.txt").write_text(ground_truth_text(sequence.boxes), encoding="utf-8")
    # The toolkit's metadata file: where the colour channel's frames are; size comes from the images.
    metadata = f"channels.color=color/%08d.{ext}\nformat=default\nfps=30\nname={sequence.name}\n"
    (folder / "sequence").write_text(metadata, encoding="utf-8")
    return folder


def stack_text(burn_in: int = BURN_IN, skip: int = SKIP, low: int = EAO_LOW, high: int = EAO_HIGH) -> str:
    """The local stack: the unsupervised experiment with the toolkit's accuracy (burn-in ``burn_in``,
    which `vot_protocol.accuracy` matches with the same value), and the supervised one declared."""
    if burn_in < 1:
        # With a burn-in of 0, toolkit 0.9.0 counts each initialisation frame as an overlap of 0.
        raise InputError(f"the stack's burn-in must be at least 1 frame, got {burn_in}")
    return (
        "title: seqtrack local short-term stack (offline)\n"
        "experiments:\n"
        f"  {UNSUPERVISED}:\n"
        "    type: unsupervised\n"
        "    repetitions: 1\n"
        "    analyses:\n"
        "      - type: average_accuracy\n"
        "        name: accuracy\n"
        f"        burnin: {burn_in}\n"
        "  # Declared only: vot-toolkit 0.9.0 cannot run a single-target tracker in a supervised\n"
        "  # experiment. Run `vot evaluate --experiments unsupervised`; seqtrack.integrations.vot_protocol\n"
        "  # implements this one.\n"
        f"  {SUPERVISED}:\n"
        "    type: supervised\n"
        "    repetitions: 1\n"
        f"    skip_initialize: {skip}\n"
        "    analyses:\n"
        "      - type: supervised_average_ar\n"
        f"        burnin: {burn_in}\n"
        "      - type: supervised_eao_score\n"
        f"        low: {low}\n"
        f"        high: {high}\n"
    )


def write_workspace(
    workspace: str | Path,
    weights: str | Path,
    sequences: Iterable[VotSequence],
    *,
    python: str | Path = sys.executable,
    burn_in: int = BURN_IN,
    **options: Any,
) -> Path:
    """Write a complete workspace in ``workspace`` (created; existing sequences of the same names are
    overwritten, results are left alone). ``python`` is the interpreter the toolkit starts the tracker
    with (one where seqtrack and vot-trax are installed); ``options`` go to `write_trackers_ini` (e.g.
    ``threads=1``). Returns the workspace folder."""
    root = Path(workspace)
    sequences = list(sequences)
    if not sequences:
        raise InputError("a VOT workspace needs at least one sequence")
    names = [s.name for s in sequences]
    if len(set(names)) != len(names):
        raise InputError(f"sequence names repeat: {', '.join(sorted(n for n in set(names) if names.count(n) > 1))}")
    stack = stack_text(burn_in)  # checked before anything is written
    for sequence in sequences:
        write_sequence(root / "sequences", sequence)
    (root / "sequences" / "list.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    (root / "stack.yaml").write_text(stack, encoding="utf-8")
    (root / "config.yaml").write_text("registry:\n- ./trackers.ini\nstack: ./stack.yaml\n", encoding="utf-8")
    write_trackers_ini(root, weights, python, **options)
    return root
