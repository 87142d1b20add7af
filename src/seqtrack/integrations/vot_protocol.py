"""The VOT short-term protocols (supervised with re-initialisation, and unsupervised) and their measures.

Our own implementation of the rules of the VOT short-term bounding-box challenges (VOT2015-2019 style),
as pure functions over a tracker with ``init(frame, box)`` / ``track(frame)`` and ``xywh`` boxes
(top-left pixels), so that it runs and is tested without the VOT toolkit:

- **supervised run** (`run_supervised`): the tracker starts on frame 0; a *failure* is a frame whose
  predicted box has zero overlap with the ground truth; ``skip`` frames (default 5) after a failure the
  tracker is re-initialised on the ground truth, and the frames in between are not tracked.
- **accuracy** (`accuracy`): mean overlap over the valid frames: tracked, not a failure, and not in the
  ``burn_in`` frames (default 10) that start at each (re-)initialisation (the initialisation frame is the
  first of them, as in the VOT toolkit); per sequence, then averaged with each sequence weighted by its
  length, as the toolkit's ``average_accuracy`` (``weighting="frames"`` pools the valid frames instead).
- **robustness** (`VotSummary.failures`, ``failures_per_100``): number of failures, and per 100 frames.
- **EAO** (`expected_average_overlap`): every (re-)initialisation starts a *segment* that runs to its
  failure or to the end of the sequence. For a length ``Ns`` a segment's average overlap is the mean of
  its first ``Ns`` overlaps, a failed segment being padded with zeros after the failure; a segment that
  ends with the sequence and is shorter than ``Ns`` says nothing about ``Ns`` and is left out. The curve
  ``Phi(Ns)`` is the mean over the segments kept; EAO is its mean over ``low <= Ns <= high``.

Overlap is, by default, the VOT toolkit's (``overlap="pixels"``, `pixel_overlap`): both boxes rounded to
whole pixels and compared pixel by pixel, inside the image when its size is known; ``overlap="continuous"``
is `seqtrack.geometry.boxes.box_iou` on the real-valued boxes (cut to the image likewise). The two differ
by up to a few hundredths per frame on small boxes. A ground-truth row with a NaN or a non-positive size
is *unknown*: never a failure, never counted, and no re-initialisation on it.

Agreement with vot-toolkit 0.9.0 (its ``vot/analysis/accuracy.py`` and ``vot/region/raster.py``): the
accuracies agree to rounding for ``burn_in >= 1``. With ``burnin: 0`` the toolkit counts each
initialisation frame as an overlap of 0 (its trajectory holds a placeholder there, which overlaps
nothing, and a zero burn-in masks no frame); ``accuracy(..., init_frames="zero")`` reproduces that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from seqtrack.errors import InputError
from seqtrack.geometry.boxes import box_iou

#: VOT conventions: re-initialise 5 frames after a failure, ignore 10 frames after each initialisation.
SKIP = 5
BURN_IN = 10
#: Default EAO interval of sequence lengths (the bbox short-term challenge interval we were asked to use).
EAO_LOW = 115
EAO_HIGH = 755

#: How one frame's overlap is measured: the toolkit's pixel count, or the exact area of real boxes.
OverlapRule = Literal["pixels", "continuous"]
#: How `accuracy` averages: per sequence weighted by length (the toolkit), or over all valid frames.
Weighting = Literal["sequences", "frames"]


class BoxTracker(Protocol):
    """What the protocols drive: `seqtrack.tracking.tracker.Tracker` is one.

    ``track`` returns an ``xywh`` box, or an object with a ``box`` attribute (a ``TrackResult``).
    ``init`` must start afresh each time it is called (re-initialisation reuses the same tracker).
    """

    def init(self, frame: np.ndarray, box: np.ndarray) -> Any: ...

    def track(self, frame: np.ndarray) -> Any: ...


@dataclass(frozen=True)
class VotRun:
    """One tracker's pass over one sequence.

    Attributes:
        boxes: ``(N, 4)`` float64 ``xywh`` predictions; the ground truth on (re-)initialisation frames, NaN
            on frames not tracked (between a failure and the re-initialisation).
        overlaps: ``(N,)`` float64 overlap with the ground truth on tracked frames (0 on failures); NaN on
            initialisation frames, frames not tracked and frames of unknown ground truth.
        inits: frames of the initialisation and of every re-initialisation, increasing.
        failures: frames of the failures, increasing (always empty for an unsupervised run).
    """

    boxes: np.ndarray
    overlaps: np.ndarray
    inits: tuple[int, ...]
    failures: tuple[int, ...]

    @property
    def n_frames(self) -> int:
        """Length of the sequence."""
        return len(self.overlaps)


@dataclass(frozen=True)
class VotSummary:
    """Measures of runs over a dataset (`summarize`). ``accuracy`` and ``eao`` are NaN when undefined."""

    accuracy: float
    failures: int
    failures_per_100: float
    eao: float
    n_frames: int
    n_sequences: int


def _box_of(result: Any) -> np.ndarray:
    """The ``(4,)`` float64 box a tracker returned: an array-like, or an object with ``box``."""
    box = np.asarray(getattr(result, "box", result), dtype=np.float64).reshape(-1)
    if box.shape != (4,):
        raise InputError(f"a tracker returned a box of shape {box.shape}; expected 4 values x, y, w, h")
    return box


def _known(gt: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: ground-truth rows that are a real box (finite, positive width and height)."""
    return np.isfinite(gt).all(axis=1) & (gt[:, 2] > 0) & (gt[:, 3] > 0)


def _check_inputs(frames: Sequence[Any], gt: Any) -> np.ndarray:
    gt = np.asarray(gt, dtype=np.float64)
    if gt.ndim != 2 or gt.shape[1] != 4:
        raise InputError(f"ground truth must be (N, 4) xywh boxes, got shape {gt.shape}")
    if len(frames) != len(gt):
        raise InputError(f"{len(frames)} frames but {len(gt)} ground-truth boxes")
    return gt


def _overlap(
    box: np.ndarray, gt_box: np.ndarray, image_wh: tuple[float, float] | None, rule: OverlapRule = "pixels"
) -> float:
    """Overlap of one prediction with its ground truth; a non-finite prediction (a tracker that lost the
    target and said so with NaN) overlaps nothing, so it is a failure rather than an unknown frame."""
    if not np.isfinite(box).all():
        return 0.0
    if rule == "pixels":
        return pixel_overlap(box, gt_box, image_wh)
    if rule != "continuous":
        raise InputError(f"overlap must be 'pixels' or 'continuous', got {rule!r}")
    if image_wh is not None:
        box, gt_box = _bounded(box, image_wh), _bounded(gt_box, image_wh)
    return float(box_iou(box, gt_box))


def _pixel_extent(box: np.ndarray) -> tuple[int, int, int, int]:
    """First and last pixel column and row an ``xywh`` box covers under the toolkit's rule: x, y, w and
    h are each rounded (half to even, as NumPy), then the box covers columns x .. x + w - 1."""
    x, y, w, h = (int(v) for v in np.round(box))
    return x, y, x + w - 1, y + h - 1


def _pixels_in(extent: tuple[int, int, int, int], window: tuple[int, int, int, int]) -> int:
    """Number of pixels of an inclusive ``(left, top, right, bottom)`` extent inside ``window``."""
    columns = min(extent[2], window[2]) - max(extent[0], window[0]) + 1
    rows = min(extent[3], window[3]) - max(extent[1], window[1]) + 1
    return max(columns, 0) * max(rows, 0)


def pixel_overlap(box: Any, gt_box: Any, image_wh: tuple[float, float] | None = None) -> float:
    """The VOT toolkit's overlap of two ``xywh`` rectangles: intersection over union of the pixels they
    cover (`_pixel_extent`), counted inside the image ``(0 .. W-1, 0 .. H-1)`` when its size is given.

    Computed by counting, not by drawing masks, with the toolkit's two edge cases: when the boxes
    together span at most one pixel column or row the overlap is 1 (its rule for two empty regions), and
    when that span lies outside the image it is 0. Without an image size, boxes reaching left of or above
    the image are counted whole (the toolkit's unbounded rasterisation drops part of them; only its
    default, bounded, measure is matched).
    """
    a = _pixel_extent(np.asarray(box, dtype=np.float64))
    b = _pixel_extent(np.asarray(gt_box, dtype=np.float64))
    window = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
    if window[0] >= window[2] or window[1] >= window[3]:
        return 1.0
    if image_wh is not None:
        right, bottom = int(image_wh[0]) - 1, int(image_wh[1]) - 1
        window = (max(window[0], 0), max(window[1], 0), min(window[2], right), min(window[3], bottom))
        if window[0] >= window[2] or window[1] >= window[3]:
            return 0.0
    common = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    intersection = _pixels_in(common, window)
    union = _pixels_in(a, window) + _pixels_in(b, window) - intersection
    return intersection / union if union > 0 else 0.0


def _bounded(box: np.ndarray, image_wh: tuple[float, float]) -> np.ndarray:
    """The part of an ``xywh`` box inside the image: both corners clamped, as the VOT toolkit bounds
    regions (`clip_to_image` keeps the width of a box that starts left of the image: GOT-10k's rule)."""
    limits = np.array([image_wh[0], image_wh[1]], dtype=np.float64)
    top_left = np.clip(box[:2], 0.0, limits)
    bottom_right = np.clip(box[:2] + box[2:], 0.0, limits)
    return np.concatenate([top_left, bottom_right - top_left])


def _next_known(known: np.ndarray, start: int) -> int | None:
    """The first frame at or after ``start`` whose ground truth is known; None past the end."""
    later = np.flatnonzero(known[start:])
    return start + int(later[0]) if len(later) else None


def run_supervised(
    tracker: BoxTracker,
    frames: Sequence[Any],
    gt: Any,
    *,
    skip: int = SKIP,
    image_wh: tuple[float, float] | None = None,
    reinitialize: bool = True,
    overlap: OverlapRule = "pixels",
) -> VotRun:
    """Run ``tracker`` over one sequence under the VOT supervised protocol.

    Args:
        tracker: a `BoxTracker`; ``init`` is called again on each re-initialisation.
        frames: indexable frames (only the frames tracked are read, so a lazy loader saves decoding).
        gt: ``(N, 4)`` ``xywh`` ground truth; rows with NaN or a non-positive size are unknown.
        skip: frames between a failure and the re-initialisation (VOT: 5).
        image_wh: image size; when given, overlaps are measured on boxes cut to the image.
        reinitialize: False runs the unsupervised protocol (`run_unsupervised`): no failure is declared.
        overlap: ``"pixels"`` (the toolkit's, `pixel_overlap`) or ``"continuous"`` (exact IoU).

    Returns:
        The `VotRun`. The tracker is first initialised on the first frame of known ground truth.
    """
    gt = _check_inputs(frames, gt)
    if skip < 1:
        raise InputError(f"skip must be at least 1 frame, got {skip}")
    n = len(gt)
    known = _known(gt)
    boxes = np.full((n, 4), np.nan)
    overlaps = np.full(n, np.nan)
    inits: list[int] = []
    failures: list[int] = []
    start = _next_known(known, 0)
    while start is not None:
        tracker.init(frames[start], gt[start].copy())
        inits.append(start)
        boxes[start] = gt[start]
        restart = None
        for i in range(start + 1, n):
            boxes[i] = _box_of(tracker.track(frames[i]))
            if not known[i]:
                continue
            overlaps[i] = _overlap(boxes[i], gt[i], image_wh, overlap)
            if reinitialize and overlaps[i] <= 0.0:
                failures.append(i)
                restart = i + skip
                break
        start = _next_known(known, restart) if restart is not None and restart < n else None
    return VotRun(boxes=boxes, overlaps=overlaps, inits=tuple(inits), failures=tuple(failures))


def run_unsupervised(
    tracker: BoxTracker,
    frames: Sequence[Any],
    gt: Any,
    *,
    image_wh: tuple[float, float] | None = None,
    overlap: OverlapRule = "pixels",
) -> VotRun:
    """Run ``tracker`` once from the first frame to the last, never re-initialised (VOT unsupervised)."""
    return run_supervised(tracker, frames, gt, image_wh=image_wh, reinitialize=False, overlap=overlap)


def valid_mask(run: VotRun, burn_in: int = BURN_IN) -> np.ndarray:
    """``(N,)`` bool: the frames accuracy counts (measured, not a failure, past each burn-in)."""
    valid = np.isfinite(run.overlaps)
    valid[list(run.failures)] = False
    for start in run.inits:
        valid[start : start + burn_in] = False
    return valid


def _counted(run: VotRun, burn_in: int, init_frames: str) -> np.ndarray:
    """The overlaps `accuracy` averages for one run (see its ``init_frames``)."""
    if init_frames not in ("skip", "zero"):
        raise InputError(f"init_frames must be 'skip' or 'zero', got {init_frames!r}")
    values = run.overlaps[valid_mask(run, burn_in)]
    if init_frames == "zero" and burn_in == 0:
        values = np.concatenate([values, np.zeros(len(run.inits))])
    return values


def accuracy(
    runs: VotRun | Sequence[VotRun],
    burn_in: int = BURN_IN,
    *,
    weighting: Weighting = "sequences",
    init_frames: Literal["skip", "zero"] = "skip",
) -> float:
    """Mean overlap over the valid frames (`valid_mask`) of one run or of ``runs``; NaN if undefined.

    Args:
        runs: one run or one run per sequence.
        burn_in: frames ignored from each (re-)initialisation on, the initialisation frame included.
        weighting: ``"sequences"`` (the VOT toolkit's ``average_accuracy``): each sequence's mean overlap,
            0 for a sequence without a valid frame, averaged with weights the sequence lengths.
            ``"frames"``: every valid frame of every run pooled (a sequence without one counts for
            nothing; NaN when no run has one).
        init_frames: ``"skip"`` leaves initialisation frames out whatever ``burn_in``; ``"zero"`` counts
            them as an overlap of 0 when ``burn_in`` is 0, as vot-toolkit 0.9.0 does (a defect, kept
            only to reproduce its numbers).
    """
    runs = [runs] if isinstance(runs, VotRun) else list(runs)
    counted = [_counted(run, burn_in, init_frames) for run in runs]
    if weighting == "frames":
        values = np.concatenate(counted + [np.empty(0)])
        return float(values.mean()) if len(values) else float("nan")
    if weighting != "sequences":
        raise InputError(f"weighting must be 'sequences' or 'frames', got {weighting!r}")
    lengths = np.array([run.n_frames for run in runs], dtype=np.float64)
    means = np.array([values.mean() if len(values) else 0.0 for values in counted])
    return float((means * lengths).sum() / lengths.sum()) if lengths.sum() > 0 else float("nan")


def segments(run: VotRun) -> list[tuple[np.ndarray, bool]]:
    """``(overlaps, failed)`` per (re-)initialisation: the overlaps of the frames tracked after it, up to
    and including its failure (``failed`` True) or the end of the sequence (NaN where the ground truth
    is unknown). A segment with no frame after its initialisation is left out."""
    found = []
    failures = sorted(run.failures)
    for start in run.inits:
        failure = next((f for f in failures if f > start), None)
        end = failure + 1 if failure is not None else run.n_frames
        if end > start + 1:
            found.append((run.overlaps[start + 1 : end], failure is not None))
    return found


def eao_curve(runs: VotRun | Sequence[VotRun], high: int = EAO_HIGH) -> np.ndarray:
    """``(high + 1,)`` expected average overlap ``Phi(Ns)`` for ``Ns = 0 .. high`` (index 0 is NaN).

    ``Phi(Ns)`` averages, over the segments of ``runs`` (`segments`) that either failed or are at least
    ``Ns`` frames long, the mean of their first ``Ns`` overlaps (zeros after a failure; unknown frames
    are skipped in the mean). NaN where no segment qualifies.
    """
    runs = [runs] if isinstance(runs, VotRun) else list(runs)
    if high < 1:
        raise InputError(f"the EAO curve needs a length of at least 1 frame, got {high}")
    total = np.zeros(high + 1)
    count = np.zeros(high + 1)
    for run in runs:
        for values, failed in segments(run):
            padded = np.full(high, 0.0 if failed else np.nan)
            # An unknown frame before the failure stays NaN: out of the mean, not a zero.
            padded[: min(len(values), high)] = values[:high]
            measured = np.isfinite(padded)
            # Mean of the first Ns measured overlaps, for every Ns at once.
            with np.errstate(invalid="ignore", divide="ignore"):
                means = np.cumsum(np.where(measured, padded, 0.0)) / np.cumsum(measured)
            lengths = np.arange(1, high + 1)
            active = np.ones(high, dtype=bool) if failed else lengths <= len(values)
            active &= np.isfinite(means)
            total[1:][active] += means[active]
            count[1:][active] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        curve = total / count
    curve[0] = np.nan
    return curve


def expected_average_overlap(runs: VotRun | Sequence[VotRun], low: int = EAO_LOW, high: int = EAO_HIGH) -> float:
    """EAO: the mean of `eao_curve` over ``low <= Ns <= high`` (lengths with no segment left out); NaN if
    no length of the interval has one. ``low`` and ``high`` are the dataset's typical sequence lengths
    (VOT derives them from its length distribution; defaults `EAO_LOW`, `EAO_HIGH`)."""
    if not 1 <= low <= high:
        raise InputError(f"the EAO interval must satisfy 1 <= low <= high, got [{low}, {high}]")
    window = eao_curve(runs, high)[low : high + 1]
    window = window[np.isfinite(window)]
    return float(window.mean()) if len(window) else float("nan")


def summarize(
    runs: Sequence[VotRun],
    *,
    burn_in: int = BURN_IN,
    low: int = EAO_LOW,
    high: int = EAO_HIGH,
    weighting: Weighting = "sequences",
) -> VotSummary:
    """Accuracy (`accuracy` with ``weighting``), robustness and EAO of supervised ``runs`` (one per
    sequence)."""
    runs = list(runs)
    n_frames = sum(run.n_frames for run in runs)
    failures = sum(len(run.failures) for run in runs)
    return VotSummary(
        accuracy=accuracy(runs, burn_in, weighting=weighting),
        failures=failures,
        failures_per_100=100.0 * failures / n_frames if n_frames else float("nan"),
        eao=expected_average_overlap(runs, low, high),
        n_frames=n_frames,
        n_sequences=len(runs),
    )
