"""One-pass-evaluation metrics (success / precision / normalised precision, GOT-10k AO and SR).

Pure numpy functions over ``xywh`` boxes (top-left x, y, width, height in pixels, float64).

Two conventions live here:

* **pytracking** (LaSOT, LaSOT-ext, TrackingNet-style local scoring, TNL2K, UAV123, NfS, OTB, VOT
  short-term boxes): inclusive-pixel IoU, per-sequence curves with *all* frames in the denominator,
  each sequence weighing the same. See `sequence_errors` for the frame rules.
* **GOT-10k toolkit** (GOT-10k val, and what the GOT-10k server reports): exclusive-corner IoU of boxes
  clipped to the image, the first frame and every frame with ``cover == 0`` left out, all remaining
  frames of all sequences pooled. See `got10k_sequence_ious`.

pytracking has two known defects (docs/official-behaviour.md §9 items 8 and 9). They are *fixed by default*; pass
``pytracking_compat=True`` to reproduce the numbers pytracking (and the official SeqTrack toolkit)
prints:

(a) invalid frames (GT with zero or NaN size, or a not-visible target) get a normalised centre error of
    ``-1`` — i.e. they count as *successes* at every threshold of the normalised-precision curve —
    except on LaSOT whose not-visible frames are overridden to ``+inf``; on UAV123 the same happens to
    the plain centre error (precision). Fixed mode: every invalid frame has both centre errors ``+inf``
    (a failure), like its overlap of ``-1``.
(b) OP75 is looked up by float equality in a threshold grid built by a float ``arange`` whose 16th value
    is ``0.7500000000000001``, so it is always empty (reported here as NaN). Fixed mode: the grid is
    exactly ``k / 20`` and OP75 = success at 0.75.

All percentages returned by the summaries are in ``[0, 100]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field

import numpy as np

from seqtrack.errors import InputError
from seqtrack.geometry.boxes import box_iou

# --- threshold grids ------------------------------------------------------------------------------

#: 21 IoU thresholds 0, 0.05, ..., 1.0, exact (``k / 20``): 0.75 really is 0.75.
SUCCESS_THRESHOLDS = np.arange(21, dtype=np.float64) / 20.0
#: pytracking's grid, the values of ``torch.arange(0.0, 1.05, 0.05, dtype=torch.float64)`` written out
#: (NumPy's arange rounds differently): index 15 is 0.7500000000000001, hence defect (b).
PYTRACKING_SUCCESS_THRESHOLDS = np.array(
    [
        0.0,
        0.05,
        0.1,
        0.15000000000000002,
        0.2,
        0.25,
        0.30000000000000004,
        0.35000000000000003,
        0.4,
        0.45,
        0.5,
        0.55,
        0.6000000000000001,
        0.6500000000000001,
        0.7000000000000001,
        0.7500000000000001,
        0.8,
        0.8500000000000001,
        0.9,
        0.9500000000000001,
        1.0,
    ],
    dtype=np.float64,
)
#: centre-error thresholds in pixels, 0..50; precision is read at 20 px.
PRECISION_THRESHOLDS = np.arange(51, dtype=np.float64)
#: normalised centre-error thresholds 0, 0.01, ..., 0.50; normalised precision is read at 0.20.
NORM_PRECISION_THRESHOLDS = np.arange(51, dtype=np.float64) / 100.0
#: GOT-10k toolkit success-curve grid (101 values).
GOT10K_THRESHOLDS = np.linspace(0.0, 1.0, 101)

PRECISION_AT_PX = 20
NORM_PRECISION_AT = 0.20


class ResultsError(InputError):
    """A result file is unusable (NaN or negative predicted sizes, too few lines...)."""


# --- geometry -------------------------------------------------------------------------------------


def iou_inclusive(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU with pytracking's inclusive-pixel convention.

    Args:
        pred, gt: ``(N, 4)`` float ``xywh`` boxes (top-left pixels).

    Returns:
        ``(N,)`` float64. Intersection side = ``min(x + w - 1) - max(x) + 1`` clamped at 0; union =
        ``w1*h1 + w2*h2 - intersection``. Rows with a zero union give NaN (callers mark them invalid).
    """
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    top_left = np.maximum(pred[:, :2], gt[:, :2])
    bottom_right = np.minimum(pred[:, :2] + pred[:, 2:] - 1.0, gt[:, :2] + gt[:, 2:] - 1.0)
    sides = np.clip(bottom_right - top_left + 1.0, 0.0, None)
    intersection = sides[:, 0] * sides[:, 1]
    union = pred[:, 2] * pred[:, 3] + gt[:, 2] * gt[:, 3] - intersection
    with np.errstate(divide="ignore", invalid="ignore"):
        return intersection / union


def centers(boxes: np.ndarray) -> np.ndarray:
    """``(N, 2)`` centres of ``(N, 4)`` ``xywh`` boxes, pixel-inclusive: ``x + (w - 1) / 2``."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return boxes[:, :2] + (boxes[:, 2:] - 1.0) / 2.0


def center_error(pred: np.ndarray, gt: np.ndarray, normalized: bool = False) -> np.ndarray:
    """``(N,)`` Euclidean distance between box centres (``xywh`` inputs, ``(N, 4)`` each).

    With ``normalized=True`` both centres are first divided elementwise by the GT ``(w, h)``
    (pytracking's normalised precision); zero-size GT gives inf/NaN (callers mark those invalid).
    """
    pred_c, gt_c = centers(pred), centers(gt)
    if normalized:
        scale = np.asarray(gt, dtype=np.float64).reshape(-1, 4)[:, 2:]
        with np.errstate(divide="ignore", invalid="ignore"):
            pred_c, gt_c = pred_c / scale, gt_c / scale
    with np.errstate(invalid="ignore"):
        return np.sqrt(((pred_c - gt_c) ** 2).sum(axis=1))


# --- pytracking per-sequence errors ---------------------------------------------------------------


@dataclass(frozen=True)
class SequenceErrors:
    """Per-frame errors of one sequence, all ``(N,)`` float64 (N = number of GT frames).

    ``overlap`` is -1 on invalid frames; ``center`` and ``center_norm`` are +inf on invalid frames
    (or -1 where ``pytracking_compat`` reproduces defect (a)); ``valid`` is the frame mask.
    """

    overlap: np.ndarray
    center: np.ndarray
    center_norm: np.ndarray
    valid: np.ndarray


def prepare_predictions(pred: np.ndarray, gt: np.ndarray, *, strict_length: bool, name: str = "") -> np.ndarray:
    """Bring raw predictions into the shape pytracking scores (returns a new ``(N, 4)`` array).

    Rules, in pytracking's order:
      1. NaN anywhere or a negative width/height -> `ResultsError`.
      2. A frame (after the first) whose predicted w or h is 0 takes the previous (already fixed)
         prediction, unless that frame's GT has a NaN.
      3. Length: longer predictions are truncated; shorter ones raise when ``strict_length`` (LaSOT
         family) and are zero-padded otherwise.
      4. The first prediction is replaced by the first GT box.

    Args:
        pred: ``(M, 4)`` ``xywh`` predictions as read from the result file.
        gt: ``(N, 4)`` ``xywh`` ground truth (NaN rows allowed).
        strict_length: raise on too few predictions instead of padding.
        name: sequence name, used in error messages.
    """
    pred = np.array(pred, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    label = f" in sequence {name!r}" if name else ""
    if np.isnan(pred).any() or (pred[:, 2:] < 0).any():
        raise ResultsError(f"invalid predictions{label}: NaN or negative width/height")
    gt_has_nan = np.isnan(gt).any(axis=1)
    for i in range(1, min(len(pred), len(gt))):
        # sequential on purpose: a run of zero-size frames all inherit the last non-zero box
        if (pred[i, 2:] == 0).any() and not gt_has_nan[i]:
            pred[i] = pred[i - 1]
    if len(pred) > len(gt):
        pred = pred[: len(gt)]
    elif len(pred) < len(gt):
        if strict_length:
            raise ResultsError(f"{len(pred)} predictions for {len(gt)} ground-truth frames{label}")
        pred = np.concatenate([pred, np.zeros((len(gt) - len(pred), 4))], axis=0)
    if len(gt):
        pred[0] = gt[0]
    return pred


def sequence_errors(
    pred: np.ndarray,
    gt: np.ndarray,
    visible: np.ndarray | None = None,
    *,
    dataset: str = "",
    strict_length: bool = False,
    pytracking_compat: bool = False,
    name: str = "",
) -> SequenceErrors:
    """Per-frame overlap and centre errors of one sequence, pytracking conventions.

    Args:
        pred: ``(M, 4)`` ``xywh`` predictions (first row = init box, as written by trackers).
        gt: ``(N, 4)`` ``xywh`` ground truth; NaN rows are invalid frames (pytracking would refuse
            NaN GT outside UAV123; we treat it as "no annotation").
        visible: optional ``(N,)`` bool target visibility (LaSOT: not fully occluded and not out of
            view). A frame is *valid* when the GT is finite, w > 0, h > 0 and (if given) visible.
        dataset: benchmark name; only matters with ``pytracking_compat`` (``"lasot"`` and ``"uav"``
            have special cases there).
        strict_length: see `prepare_predictions` (True for the LaSOT family).
        pytracking_compat: reproduce defect (a) (see module docstring); default False fixes it.
        name: sequence name for error messages.
    """
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    pred = prepare_predictions(pred, gt, strict_length=strict_length, name=name)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(gt).all(axis=1) & (gt[:, 2] > 0) & (gt[:, 3] > 0)
    target_visible = None
    if visible is not None:
        target_visible = np.asarray(visible, dtype=bool).reshape(-1)
        if len(target_visible) != len(gt):
            raise ResultsError(f"visibility has {len(target_visible)} flags for {len(gt)} frames ({name})")
        valid &= target_visible

    overlap = iou_inclusive(pred, gt)
    center = center_error(pred, gt)
    center_norm = center_error(pred, gt, normalized=True)
    overlap[~valid] = -1.0
    if pytracking_compat:
        center[~valid] = -1.0 if dataset == "uav" else np.inf
        center_norm[~valid] = -1.0
        if dataset == "lasot" and target_visible is not None:
            center[~target_visible] = np.inf
            center_norm[~target_visible] = np.inf
    else:
        center[~valid] = np.inf
        center_norm[~valid] = np.inf
    if np.isnan(overlap).any():  # a valid frame cannot have a zero union after prepare_predictions
        raise ResultsError(f"NaN overlap in sequence {name!r}")
    return SequenceErrors(overlap=overlap, center=center, center_norm=center_norm, valid=valid)


# --- curves and summaries -------------------------------------------------------------------------


def success_curve(overlap: np.ndarray, thresholds: np.ndarray = SUCCESS_THRESHOLDS) -> np.ndarray:
    """``(T,)`` fraction of frames whose overlap is strictly greater than each threshold.

    The denominator is every frame of the sequence (invalid frames carry overlap -1, never a success).
    """
    overlap = np.asarray(overlap, dtype=np.float64).reshape(-1)
    if overlap.size == 0:
        return np.zeros(len(thresholds))
    return (overlap[:, None] > thresholds[None, :]).sum(axis=0) / overlap.size


def precision_curve(errors: np.ndarray, thresholds: np.ndarray = PRECISION_THRESHOLDS) -> np.ndarray:
    """``(T,)`` fraction of frames whose centre error is at most each threshold (all frames counted)."""
    errors = np.asarray(errors, dtype=np.float64).reshape(-1)
    if errors.size == 0:
        return np.zeros(len(thresholds))
    return (errors[:, None] <= thresholds[None, :]).sum(axis=0) / errors.size


@dataclass(frozen=True)
class SequenceCurves:
    """The three curves of one sequence (fractions in [0, 1]).

    ``success`` is ``(21,)`` over `SUCCESS_THRESHOLDS` (or the pytracking grid in compat mode),
    ``precision`` ``(51,)`` over `PRECISION_THRESHOLDS`, ``norm_precision`` ``(51,)`` over
    `NORM_PRECISION_THRESHOLDS`; ``n_frames`` is the denominator used.
    """

    success: np.ndarray
    precision: np.ndarray
    norm_precision: np.ndarray
    n_frames: int


def success_thresholds(pytracking_compat: bool = False) -> np.ndarray:
    """The 21-value IoU grid of the chosen mode (see defect (b))."""
    return PYTRACKING_SUCCESS_THRESHOLDS if pytracking_compat else SUCCESS_THRESHOLDS


def sequence_curves(errors: SequenceErrors, *, pytracking_compat: bool = False) -> SequenceCurves:
    """Success, precision and normalised-precision curves of one sequence from its `SequenceErrors`."""
    return SequenceCurves(
        success=success_curve(errors.overlap, success_thresholds(pytracking_compat)),
        precision=precision_curve(errors.center, PRECISION_THRESHOLDS),
        norm_precision=precision_curve(errors.center_norm, NORM_PRECISION_THRESHOLDS),
        n_frames=int(errors.overlap.size),
    )


@dataclass(frozen=True)
class Summary:
    """Benchmark-level scores (percent) and the sequence-averaged curves (fractions).

    ``op75`` is NaN in pytracking-compat mode (defect (b)).
    """

    auc: float
    op50: float
    op75: float
    precision: float
    norm_precision: float
    n_sequences: int
    success_curve: np.ndarray = field(repr=False)
    precision_curve: np.ndarray = field(repr=False)
    norm_precision_curve: np.ndarray = field(repr=False)

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly dict (NaN becomes None)."""
        return {
            "auc": _json_float(self.auc),
            "precision": _json_float(self.precision),
            "norm_precision": _json_float(self.norm_precision),
            "op50": _json_float(self.op50),
            "op75": _json_float(self.op75),
            "n_sequences": self.n_sequences,
            "success_curve": [float(v) for v in self.success_curve],
            "precision_curve": [float(v) for v in self.precision_curve],
            "norm_precision_curve": [float(v) for v in self.norm_precision_curve],
        }


def _json_float(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _lookup(curve: np.ndarray, thresholds: np.ndarray, value: float) -> float:
    # exact float equality on purpose: this is how pytracking reads OP50/OP75, and with the exact
    # grid it finds the intended index; an empty lookup is the reproduced defect (b)
    hits = np.flatnonzero(thresholds == value)
    return float(curve[hits[0]] * 100.0) if hits.size else float("nan")


def summarize(curves: Seq[SequenceCurves], *, pytracking_compat: bool = False) -> Summary:
    """Average per-sequence curves (each sequence weighs the same) into benchmark scores.

    AUC = mean of the averaged success curve over its 21 thresholds (so at most 100 * 20/21 when
    every IoU is 1: the threshold 1.0 is never exceeded), OP50/OP75 = success at 0.5/0.75,
    precision at 20 px, normalised precision at 0.20; all in percent.
    """
    if not curves:
        nan = float("nan")
        return Summary(nan, nan, nan, nan, nan, 0, np.zeros(21), np.zeros(51), np.zeros(51))
    thresholds = success_thresholds(pytracking_compat)
    success = np.mean([c.success for c in curves], axis=0)
    precision = np.mean([c.precision for c in curves], axis=0)
    norm_precision = np.mean([c.norm_precision for c in curves], axis=0)
    return Summary(
        auc=float(success.mean() * 100.0),
        op50=_lookup(success, thresholds, 0.5),
        op75=_lookup(success, thresholds, 0.75),
        precision=float(precision[PRECISION_AT_PX] * 100.0),
        norm_precision=float(norm_precision[int(round(NORM_PRECISION_AT * 100))] * 100.0),
        n_sequences=len(curves),
        success_curve=success,
        precision_curve=precision,
        norm_precision_curve=norm_precision,
    )


def attribute_summaries(
    curves: Mapping[str, SequenceCurves],
    attributes: Mapping[str, Mapping[str, bool]],
    *,
    pytracking_compat: bool = False,
) -> dict[str, Summary]:
    """Per-attribute scores: `summarize` over the sequences that have each attribute.

    Args:
        curves: sequence name -> its curves.
        attributes: sequence name -> {attribute name: flag}; sequences missing here have none.

    Returns:
        attribute name -> `Summary` (attributes that no scored sequence has are left out), sorted by name.
    """
    names = sorted({a for flags in attributes.values() for a, on in flags.items() if on})
    out: dict[str, Summary] = {}
    for attr in names:
        selected = [c for seq, c in curves.items() if attributes.get(seq, {}).get(attr)]
        if selected:
            out[attr] = summarize(selected, pytracking_compat=pytracking_compat)
    return out


# --- GOT-10k toolkit conventions ------------------------------------------------------------------


def iou_clipped(pred: np.ndarray, gt: np.ndarray, image_wh: tuple[float, float] | None = None) -> np.ndarray:
    """IoU with the GOT-10k toolkit convention (`seqtrack.geometry.boxes.box_iou`) of ``(N, 4)`` ``xywh``
    rows, both first clipped to the image ``(W, H)`` when given (GOT-10k ``meta_info.ini`` "resolution")."""
    return box_iou(np.reshape(pred, (-1, 4)), np.reshape(gt, (-1, 4)), image_wh)


def got10k_sequence_ious(
    pred: np.ndarray,
    gt: np.ndarray,
    cover: np.ndarray | None,
    image_wh: tuple[float, float] | None,
    *,
    name: str = "",
) -> np.ndarray:
    """IoUs the GOT-10k toolkit scores for one sequence (one run).

    The first frame is dropped (it is the init box), then every frame whose ``cover`` label is 0
    (target absent). Predictions must have exactly one row per GT frame.

    Args:
        pred, gt: ``(N, 4)`` ``xywh``.
        cover: ``(N,)`` GOT-10k cover labels (0..8) or None (all frames kept).
        image_wh: image ``(W, H)`` for clipping, or None.

    Returns:
        ``(K,)`` IoUs, K <= N - 1.
    """
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    if pred.shape != gt.shape:
        raise ResultsError(f"{len(pred)} predictions for {len(gt)} ground-truth frames in sequence {name!r}")
    ious = iou_clipped(pred[1:], gt[1:], image_wh)
    if cover is not None:
        cover = np.asarray(cover).reshape(-1)
        if len(cover) != len(gt):
            raise ResultsError(f"{len(cover)} cover labels for {len(gt)} frames in sequence {name!r}")
        ious = ious[cover[1:] > 0]
    return ious


@dataclass(frozen=True)
class Got10kSummary:
    """GOT-10k scores in percent: AO (mean IoU), SR0.5 and SR0.75 (fraction of IoUs > threshold),
    over all scored frames pooled (the toolkit's overall convention), and the ``(101,)`` success curve."""

    ao: float
    sr50: float
    sr75: float
    n_frames: int
    success_curve: np.ndarray = field(repr=False)

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly dict."""
        return {
            "ao": _json_float(self.ao),
            "sr50": _json_float(self.sr50),
            "sr75": _json_float(self.sr75),
            "n_frames": self.n_frames,
            "success_curve": [float(v) for v in self.success_curve],
        }


def got10k_summary(ious: Seq[np.ndarray]) -> Got10kSummary:
    """Pool per-sequence IoU arrays (from `got10k_sequence_ious`) into AO / SR0.5 / SR0.75 (percent)."""
    pooled = np.concatenate([np.asarray(i, dtype=np.float64).reshape(-1) for i in ious]) if ious else np.zeros(0)
    if pooled.size == 0:
        nan = float("nan")
        return Got10kSummary(nan, nan, nan, 0, np.zeros(len(GOT10K_THRESHOLDS)))
    return Got10kSummary(
        ao=float(pooled.mean() * 100.0),
        sr50=float((pooled > 0.5).mean() * 100.0),
        sr75=float((pooled > 0.75).mean() * 100.0),
        n_frames=int(pooled.size),
        success_curve=(pooled[:, None] > GOT10K_THRESHOLDS[None, :]).mean(axis=0),
    )
