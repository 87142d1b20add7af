"""`seqtrack.integrations.vot_protocol`: the VOT supervised protocol, accuracy, robustness and EAO.

Scripted trackers whose overlap on each frame is chosen (1, 0.5 or 0 = a failure) give runs whose
measures are worked out by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import pytest

from seqtrack.errors import InputError
from seqtrack.geometry.boxes import box_iou
from seqtrack.integrations.vot_protocol import (
    VotRun,
    accuracy,
    eao_curve,
    expected_average_overlap,
    pixel_overlap,
    run_supervised,
    run_unsupervised,
    segments,
    summarize,
    valid_mask,
)

BOX = np.array([10.0, 10.0, 10.0, 10.0])
HALF = np.array([10.0, 10.0, 10.0, 5.0])  # IoU with BOX: 50 / 100 = 0.5
AWAY = np.array([50.0, 50.0, 10.0, 10.0])  # IoU with BOX: 0, a failure


class Scripted:
    """Frames are their indices; ``track`` answers ``AWAY`` on ``fail_on`` frames, ``HALF`` on even
    frames, ``BOX`` on odd ones. Records every ``init`` call."""

    def __init__(self, fail_on: tuple[int, ...] = ()) -> None:
        self.fail_on = set(fail_on)
        self.inits: list[tuple[int, list[float]]] = []

    def init(self, frame: int, box: np.ndarray) -> None:
        self.inits.append((frame, box.tolist()))

    def track(self, frame: int) -> np.ndarray:
        if frame in self.fail_on:
            return AWAY
        return HALF if frame % 2 == 0 else BOX


def constant_gt(n: int) -> np.ndarray:
    return np.tile(BOX, (n, 1))


def test_a_failure_reinitialises_five_frames_later():
    tracker = Scripted(fail_on=(3,))
    run = run_supervised(tracker, list(range(12)), constant_gt(12))
    assert run.inits == (0, 8) and run.failures == (3,)
    assert tracker.inits == [(0, BOX.tolist()), (8, BOX.tolist())]  # on the ground truth, frame 8
    # frames 1, 2, 3 then 9, 10, 11 are tracked; 4-7 are not, 0 and 8 are initialisations
    np.testing.assert_array_equal(run.overlaps[[1, 2, 3, 9, 10, 11]], [1.0, 0.5, 0.0, 1.0, 0.5, 1.0])
    assert np.isnan(run.overlaps[[0, 4, 5, 6, 7, 8]]).all()
    assert np.isnan(run.boxes[4:8]).all() and (run.boxes[8] == BOX).all()


def test_accuracy_robustness_and_eao_by_hand():
    run = run_supervised(Scripted(fail_on=(3,)), list(range(12)), constant_gt(12))
    # burn-in 2: frames 0-1 and 8-9 out, frame 3 is the failure: frames 2 (0.5), 10 (0.5), 11 (1)
    assert valid_mask(run, burn_in=2).nonzero()[0].tolist() == [2, 10, 11]
    assert accuracy(run, burn_in=2) == pytest.approx(2 / 3)
    # burn-in 10 (the default): frames 8-17 are burn-in, 0-9 too: no valid frame is left, which the
    # toolkit's per-sequence rule scores 0 and pooling frames leaves undefined
    assert accuracy(run) == 0.0 and np.isnan(accuracy(run, weighting="frames"))
    # segments: [1, 0.5, 0] failed, [1, 0.5, 1] reached the end
    (first, failed_first), (second, failed_second) = segments(run)
    assert first.tolist() == [1.0, 0.5, 0.0] and failed_first
    assert second.tolist() == [1.0, 0.5, 1.0] and not failed_second
    # Phi(1) = 1; Phi(2) = 0.75; Phi(3) = (0.5 + 2.5/3) / 2; Phi(4) = 1.5/4 and Phi(5) = 1.5/5: only the
    # failed segment (zeros after its failure) says anything about lengths past the second's 3 frames.
    expected = [1.0, 0.75, (0.5 + 2.5 / 3) / 2, 0.375, 0.3]
    curve = eao_curve(run, high=5)
    assert np.isnan(curve[0])
    np.testing.assert_allclose(curve[1:], expected)
    assert expected_average_overlap(run, low=1, high=5) == pytest.approx(np.mean(expected))
    assert expected_average_overlap(run, low=4, high=5) == pytest.approx(0.3375)
    summary = summarize([run], burn_in=2, low=1, high=5)
    assert summary.failures == 1 and summary.failures_per_100 == pytest.approx(100 / 12)
    assert summary.accuracy == pytest.approx(2 / 3) and summary.eao == pytest.approx(np.mean(expected))
    assert (summary.n_frames, summary.n_sequences) == (12, 1)


def test_without_failures_eao_is_undefined_past_the_sequence():
    run = run_supervised(Scripted(), list(range(8)), constant_gt(8))
    assert run.failures == () and run.inits == (0,)
    # overlaps of frames 1..7: 1, .5, 1, .5, 1, .5, 1 -> Phi(7) = 5.5 / 7; nothing is known about Ns = 8
    curve = eao_curve(run, high=9)
    assert curve[7] == pytest.approx(5.5 / 7) and np.isnan(curve[8:]).all()
    assert np.isnan(expected_average_overlap(run, low=8, high=9))
    assert expected_average_overlap(run, low=7, high=9) == pytest.approx(5.5 / 7)


def test_eao_pools_sequences_and_accuracy_pools_frames():
    failing = run_supervised(Scripted(fail_on=(1,)), list(range(3)), constant_gt(3))
    # fails on frame 1, re-initialisation at 6 is past the end: one segment [0], failed
    assert failing.inits == (0,) and failing.failures == (1,)
    good = run_supervised(Scripted(), list(range(3)), constant_gt(3))  # segment [1, 0.5]
    # Phi(1) = (0 + 1) / 2, Phi(2) = (0 + 0.75) / 2, Phi(3) = 0 (only the failed one reaches 3)
    np.testing.assert_allclose(eao_curve([failing, good], high=3)[1:], [0.5, 0.375, 0.0])
    # pooled: frames 1, 2 of `good` only; per sequence (the toolkit): `failing` has none, so 0, and both
    # sequences are 3 frames long: (0 * 3 + 0.75 * 3) / 6
    assert accuracy([failing, good], burn_in=1, weighting="frames") == pytest.approx(0.75)
    assert accuracy([failing, good], burn_in=1) == pytest.approx(0.375)
    assert np.isnan(accuracy([failing], burn_in=1, weighting="frames")) and np.isnan(accuracy([]))
    assert summarize([failing, good], burn_in=1, low=1, high=3).failures_per_100 == pytest.approx(100 / 6)


def test_unknown_ground_truth_is_neither_a_failure_nor_a_restart_point():
    gt = constant_gt(14)
    gt[2] = np.nan  # unknown: the AWAY answer there is no failure
    gt[8] = [0, 0, 0, 0]  # empty: the re-initialisation after the failure on 3 waits for frame 9
    tracker = Scripted(fail_on=(2, 3))
    run = run_supervised(tracker, list(range(14)), gt)
    assert run.failures == (3,) and run.inits == (0, 9)
    assert np.isnan(run.overlaps[2]) and tracker.inits[1][0] == 9
    assert not valid_mask(run, burn_in=0)[2]


def test_unsupervised_runs_through_failures():
    run = run_unsupervised(Scripted(fail_on=(3,)), list(range(12)), constant_gt(12))
    assert run.inits == (0,) and run.failures == ()
    assert run.overlaps[3] == 0.0 and np.isfinite(run.overlaps[1:]).all()
    # frames 1..11: 1, .5, 0, .5, 1, .5, 1, .5, 1, .5, 1 -> 7.5 / 11
    assert accuracy(run, burn_in=1) == pytest.approx(7.5 / 11)


def test_nan_predictions_fail_and_image_bounds_apply():
    class Lost(Scripted):
        def track(self, frame: int) -> np.ndarray:
            return np.full(4, np.nan) if frame == 2 else BOX

    assert run_supervised(Lost(), list(range(4)), constant_gt(4)).failures == (2,)

    class Outside(Scripted):
        def track(self, frame: int) -> np.ndarray:
            return np.array([-10.0, 10.0, 20.0, 10.0])  # half of it left of the image

    gt = constant_gt(2) - [10, 0, 0, 0]  # [0, 10, 10, 10]
    assert run_supervised(Outside(), [0, 1], gt).overlaps[1] == pytest.approx(0.5)
    assert run_supervised(Outside(), [0, 1], gt, image_wh=(64, 64)).overlaps[1] == pytest.approx(1.0)


def test_results_with_a_box_attribute_and_bad_inputs():
    class WithResult(Scripted):
        def track(self, frame: int):
            return type("Result", (), {"box": BOX})()

    assert run_supervised(WithResult(), [0, 1, 2], constant_gt(3)).overlaps[1:].tolist() == [1.0, 1.0]
    with pytest.raises(InputError, match="3 frames but 2"):
        run_supervised(Scripted(), [0, 1, 2], constant_gt(2))
    with pytest.raises(InputError, match=r"shape \(3,\)"):
        run_supervised(Scripted(), [0, 1, 2], np.zeros(3))
    with pytest.raises(InputError, match="low <= high"):
        expected_average_overlap(VotRun(np.zeros((1, 4)), np.zeros(1), (0,), ()), low=5, high=4)

    class Short(Scripted):
        def track(self, frame: int) -> np.ndarray:
            return np.zeros(3)

    with pytest.raises(InputError, match="shape"):
        run_supervised(Short(), [0, 1], constant_gt(2))


def test_accuracy_weighs_sequences_by_length_and_can_count_init_frames_as_zero():
    short = run_unsupervised(Scripted(), list(range(3)), constant_gt(3))  # frames 1, 2: 1, 0.5
    long = run_unsupervised(Scripted(), list(range(1, 7)), constant_gt(6))  # frames 2..6: .5, 1, .5, 1, .5
    assert accuracy(short, burn_in=1) == pytest.approx(0.75) and accuracy(long, burn_in=1) == pytest.approx(0.7)
    assert accuracy([short, long], burn_in=1) == pytest.approx((0.75 * 3 + 0.7 * 6) / 9)
    assert accuracy([short, long], burn_in=1, weighting="frames") == pytest.approx((1.5 + 3.5) / 7)
    # burn-in 0: the toolkit counts the initialisation frame as a 0 (init_frames="zero"); we leave it out
    assert accuracy(short, burn_in=0) == pytest.approx(0.75)
    assert accuracy(short, burn_in=0, init_frames="zero") == pytest.approx(1.5 / 3)
    assert accuracy(short, burn_in=1, init_frames="zero") == pytest.approx(0.75)  # only burn-in 0 differs
    with pytest.raises(InputError, match="weighting"):
        accuracy(short, weighting="pooled")
    with pytest.raises(InputError, match="init_frames"):
        accuracy(short, init_frames="one")


def test_pixel_overlap_rounds_boxes_to_whole_pixels_like_the_toolkit():
    # x 10.4 -> 10, w 9.6 -> 10: the same 10 x 10 pixels as BOX, where the exact IoU is below 1
    nudged = np.array([10.4, 10.0, 9.6, 10.0])
    assert pixel_overlap(nudged, BOX) == 1.0
    assert box_iou(nudged, BOX) < 1.0
    assert pixel_overlap([10.5, 10, 10, 10], BOX) == 1.0  # 10.5 rounds half to even: 10
    assert pixel_overlap([11.5, 10, 10, 10], BOX) == pytest.approx(80 / 120)  # 11.5 -> 12: columns 12..21
    # inside a 15 x 64 image only columns 10..14 are counted: 50 pixels each, all shared
    assert pixel_overlap([10, 10, 20, 10], BOX, (15, 64)) == 1.0
    assert pixel_overlap([10, 10, 20, 10], BOX) == pytest.approx(0.5)
    # the toolkit's edge cases: a union one pixel wide is 1 (its "two empty regions"); outside the image, 0
    assert pixel_overlap([5, 5, 1, 4], [5, 5, 1, 8]) == 1.0
    assert pixel_overlap([100, 100, 5, 5], [103, 100, 5, 5], (64, 64)) == 0.0
    assert pixel_overlap([0, 0, 0, 0], BOX) == 0.0  # an empty prediction covers no pixel


def test_continuous_overlap_is_the_exact_iou():
    class Nudged(Scripted):
        def track(self, frame: int) -> np.ndarray:
            return np.array([10.4, 10.0, 9.6, 10.0])

    pixels = run_unsupervised(Nudged(), [0, 1], constant_gt(2))
    exact = run_unsupervised(Nudged(), [0, 1], constant_gt(2), overlap="continuous")
    assert pixels.overlaps[1] == 1.0 and exact.overlaps[1] == pytest.approx(96 / 100)
    with pytest.raises(InputError, match="overlap"):
        run_unsupervised(Nudged(), [0, 1], constant_gt(2), overlap="area")
