"""Metric functions against hand-computed values, in the fixed and the pytracking-compatible modes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seqtrack.evaluate.metrics import (
    PYTRACKING_SUCCESS_THRESHOLDS,
    SUCCESS_THRESHOLDS,
    ResultsError,
    SequenceCurves,
    attribute_summaries,
    center_error,
    centers,
    got10k_sequence_ious,
    got10k_summary,
    iou_clipped,
    iou_inclusive,
    precision_curve,
    prepare_predictions,
    sequence_curves,
    sequence_errors,
    success_curve,
    summarize,
)

NAN4 = [np.nan] * 4


def test_iou_inclusive_pixel_convention():
    pred = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], float)
    gt = np.array([[0, 0, 10, 10], [5, 5, 10, 10], [10, 0, 10, 10], [9, 0, 10, 10], [50, 50, 5, 5]], float)
    # overlap of 5x5 px: 25 / (100 + 100 - 25); edge-adjacent boxes share no pixel; a 1-px column
    # shares 10 px: 10 / 190
    np.testing.assert_allclose(iou_inclusive(pred, gt), [1.0, 25 / 175, 0.0, 10 / 190, 0.0])


def test_centers_and_center_errors():
    np.testing.assert_allclose(centers(np.array([[0, 0, 10, 20]])), [[4.5, 9.5]])
    pred, gt = np.array([[3, 4, 10, 10]], float), np.array([[0, 0, 10, 10]], float)
    assert center_error(pred, gt)[0] == pytest.approx(5.0)
    # normalised: both centres divided by the GT size (10, 10) -> distance 0.5
    assert center_error(pred, gt, normalized=True)[0] == pytest.approx(0.5)


def test_prepare_predictions_rules():
    gt = np.array([[1, 1, 5, 5], [1, 1, 5, 5], NAN4, [1, 1, 5, 5], [1, 1, 5, 5]], float)
    pred = np.array([[9, 9, 9, 9], [2, 2, 4, 4], [3, 3, 0, 4], [4, 4, 0, 0], [5, 5, 6, 0]], float)
    out = prepare_predictions(pred, gt, strict_length=False)
    np.testing.assert_array_equal(out[0], gt[0])  # first prediction = first GT
    np.testing.assert_array_equal(out[2], [3, 3, 0, 4])  # GT is NaN there: not replaced
    np.testing.assert_array_equal(out[3], [3, 3, 0, 4])  # takes the previous (itself unreplaced) row
    np.testing.assert_array_equal(out[4], [3, 3, 0, 4])  # chains
    # length: truncate / zero-pad / strict
    assert prepare_predictions(np.ones((7, 4)), gt, strict_length=True).shape == (5, 4)
    padded = prepare_predictions(np.ones((3, 4)), gt, strict_length=False)
    np.testing.assert_array_equal(padded[3:], 0.0)
    with pytest.raises(ResultsError, match="3 predictions for 5"):
        prepare_predictions(np.ones((3, 4)), gt, strict_length=True, name="s")
    with pytest.raises(ResultsError, match="NaN or negative"):
        prepare_predictions(np.array([[1, 1, 1, 1], [1, np.nan, 1, 1]]), gt[:2], strict_length=False)
    with pytest.raises(ResultsError):
        prepare_predictions(np.array([[1, 1, 1, 1], [1, 1, -1, 1]]), gt[:2], strict_length=False)


# A 5-frame sequence worked out by hand (see each row):
GT5 = np.array([[10, 10, 20, 20], [10, 10, 20, 20], [10, 10, 0, 0], NAN4, [10, 10, 20, 20]], float)
PRED5 = np.array(
    [
        [0, 0, 1, 1],  # replaced by the GT: IoU 1, errors 0
        [15, 10, 20, 20],  # IoU 15*20 / (800 - 300) = 0.6; centre error 5; normalised 0.25
        [10, 10, 20, 20],  # zero-size GT: invalid
        [12, 10, 20, 20],  # NaN GT: invalid
        [10, 10, 0, 5],  # zero width: takes row 3 -> IoU 18*20 / (800 - 360) = 9/11; error 2; norm 0.1
    ],
    float,
)


def _scores(dataset="otb", compat=False, gt=GT5, pred=PRED5, visible=None):
    errors = sequence_errors(pred, gt, visible, dataset=dataset, pytracking_compat=compat)
    return errors, summarize([sequence_curves(errors, pytracking_compat=compat)], pytracking_compat=compat)


def test_sequence_errors_fixed_mode():
    errors, summary = _scores()
    np.testing.assert_allclose(errors.overlap, [1.0, 0.6, -1.0, -1.0, 9 / 11])
    np.testing.assert_allclose(errors.center, [0.0, 5.0, np.inf, np.inf, 2.0])
    np.testing.assert_allclose(errors.center_norm, [0.0, 0.25, np.inf, np.inf, 0.1])
    np.testing.assert_array_equal(errors.valid, [True, True, False, False, True])
    # success: 3/5 frames for t < 0.6 (12 thresholds), 2/5 for 0.6..0.8 (5), 1/5 for 0.85..0.95 (3), 0 at 1
    assert summary.auc == pytest.approx((12 * 0.6 + 5 * 0.4 + 3 * 0.2) / 21 * 100)
    assert summary.op50 == pytest.approx(60.0)
    assert summary.op75 == pytest.approx(40.0)
    assert summary.precision == pytest.approx(60.0)  # 0, 5, 2 px <= 20; invalid frames fail
    assert summary.norm_precision == pytest.approx(40.0)  # 0 and 0.1 <= 0.2


def test_sequence_errors_pytracking_compat_mode():
    errors, summary = _scores(compat=True)
    np.testing.assert_allclose(errors.center, [0.0, 5.0, np.inf, np.inf, 2.0])
    np.testing.assert_allclose(errors.center_norm, [0.0, 0.25, -1.0, -1.0, 0.1])
    assert summary.auc == pytest.approx((12 * 0.6 + 5 * 0.4 + 3 * 0.2) / 21 * 100)
    assert summary.op50 == pytest.approx(60.0)
    assert math.isnan(summary.op75)  # defect (b): looked up by float equality, never found
    assert summary.precision == pytest.approx(60.0)
    assert summary.norm_precision == pytest.approx(80.0)  # defect (a): the 2 invalid frames succeed


def test_uav_compat_counts_invalid_frames_in_precision():
    _, fixed = _scores(dataset="uav")
    _, compat = _scores(dataset="uav", compat=True)
    assert fixed.precision == pytest.approx(60.0)
    assert compat.precision == pytest.approx(100.0)
    assert compat.norm_precision == pytest.approx(80.0)


def test_lasot_not_visible_frames():
    gt = np.array([[10, 10, 20, 20]] * 3 + [[10, 10, 0, 0]], float)
    pred = np.array([[10, 10, 20, 20], [10, 10, 20, 20], [15, 10, 20, 20], [10, 10, 20, 20]], float)
    visible = np.array([True, False, True, True])
    errors, fixed = _scores("lasot", False, gt, pred, visible)
    np.testing.assert_allclose(errors.overlap, [1.0, -1.0, 0.6, -1.0])  # perfect but invisible: invalid
    assert fixed.norm_precision == pytest.approx(25.0)
    assert fixed.precision == pytest.approx(50.0)
    errors, compat = _scores("lasot", True, gt, pred, visible)
    # not-visible frame overridden to +inf; the zero-size (visible) GT frame keeps -1
    np.testing.assert_allclose(errors.center_norm, [0.0, np.inf, 0.25, -1.0])
    assert compat.norm_precision == pytest.approx(50.0)
    assert compat.precision == pytest.approx(50.0)
    _, ext = _scores("lasot_ext", True, gt, pred, visible)  # no override for the extension subset
    assert ext.norm_precision == pytest.approx(75.0)


def test_threshold_grids():
    assert len(SUCCESS_THRESHOLDS) == len(PYTRACKING_SUCCESS_THRESHOLDS) == 21
    assert SUCCESS_THRESHOLDS[15] == 0.75
    assert PYTRACKING_SUCCESS_THRESHOLDS[15] == 0.7500000000000001
    assert PYTRACKING_SUCCESS_THRESHOLDS[10] == 0.5


def test_curves_strictness_and_denominator():
    overlaps = np.array([0.5, 0.5000001, -1.0, 1.0])
    curve = success_curve(overlaps, np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(curve, [3 / 4, 2 / 4, 0.0])  # strictly greater; invalid frame in denominator
    np.testing.assert_allclose(precision_curve(np.array([20.0, 20.5, np.inf]), np.array([20.0])), [1 / 3])


def test_perfect_tracker_auc_is_20_over_21():
    gt = np.array([[10, 10, 20, 20]] * 4, float)
    _, summary = _scores(gt=gt, pred=gt)
    assert summary.auc == pytest.approx(100 * 20 / 21)


def test_summarize_weights_sequences_equally():
    long = SequenceCurves(np.ones(21), np.ones(51), np.ones(51), n_frames=1000)
    short = SequenceCurves(np.zeros(21), np.zeros(51), np.zeros(51), n_frames=2)
    summary = summarize([long, short])
    assert summary.auc == pytest.approx(50.0)
    assert summary.precision == pytest.approx(50.0)
    assert summary.n_sequences == 2


def test_attribute_summaries():
    a = SequenceCurves(np.ones(21), np.ones(51), np.ones(51), 3)
    b = SequenceCurves(np.zeros(21), np.zeros(51), np.zeros(51), 3)
    out = attribute_summaries({"a": a, "b": b}, {"a": {"occ": True, "fm": False}, "b": {"occ": True, "fm": True}})
    assert sorted(out) == ["fm", "occ"]
    assert out["occ"].auc == pytest.approx(50.0) and out["occ"].n_sequences == 2
    assert out["fm"].auc == pytest.approx(0.0)


def test_got10k_ious_clip_skip_first_and_absent_frames():
    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [90, 90, 10, 10]], float)
    pred = np.array([[5, 5, 5, 5], [-10, 0, 20, 10], [5, 0, 10, 10], [95, 95, 10, 10]], float)
    cover = np.array([8, 8, 0, 8])
    ious = got10k_sequence_ious(pred, gt, cover, (100, 100))
    # frame 0 dropped; frame 1: x clipped to 0, the width kept (the toolkit's rule) -> (0, 0, 20, 10):
    # 100 / 200; frame 2 absent; frame 3 clipped to (95, 95, 5, 5): 25 / 100 (exclusive corners)
    np.testing.assert_allclose(ious, [0.5, 0.25], atol=1e-12)
    np.testing.assert_allclose(iou_clipped(pred[2:3], gt[2:3]), [50 / 150])
    summary = got10k_summary([ious, np.array([0.8, 0.6])])
    assert summary.ao == pytest.approx((0.5 + 0.25 + 0.8 + 0.6) / 4 * 100)
    assert summary.sr50 == pytest.approx(50.0)  # 0.5 is not > 0.5
    assert summary.sr75 == pytest.approx(25.0)
    with pytest.raises(ResultsError):
        got10k_sequence_ious(pred[:3], gt, cover, None)
