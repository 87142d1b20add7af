"""Test-double trackers for the evaluation tests (importable as ``eval_doubles:<Name>`` when this
folder is on PYTHONPATH). All follow the runner's protocol: ``init(frame, box_xywh)``,
``track(frame) -> result`` with ``.box`` (xywh pixels) and ``.score``."""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Result:
    box: np.ndarray
    score: float


class StillTracker:
    """Reports the init box on every frame (deterministic, metrics easy to predict).

    Options: ``delay`` seconds slept per tracked frame (to make runs killable mid-way);
    ``fail_on_x``: raise in ``init`` when the init box's x equals this value (one failing sequence).
    """

    def __init__(self, delay: float = 0.0, fail_on_x: float | None = None):
        self.delay = float(delay)
        self.fail_on_x = fail_on_x
        self.box = np.zeros(4)

    def init(self, frame, box_xywh):
        if self.fail_on_x is not None and float(box_xywh[0]) == float(self.fail_on_x):
            raise RuntimeError("deliberate failure for the test")
        self.box = np.asarray(box_xywh, dtype=np.float64).copy()

    def track(self, frame):
        if self.delay:
            time.sleep(self.delay)
        return Result(self.box.copy(), 1.0)


class TemplateTracker:
    """Exhaustive normalised cross-correlation on the first-frame template (float sub-pixel offset so
    result files hold non-integer values). ``delay`` seconds slept per tracked frame."""

    def __init__(self, delay: float = 0.0):
        self.delay = float(delay)

    def init(self, frame, box_xywh):
        x, y, w, h = (int(round(v)) for v in box_xywh)
        self.template = cv2.cvtColor(frame[y : y + h, x : x + w], cv2.COLOR_RGB2GRAY)
        self.size = np.array([w, h], dtype=np.float64)

    def track(self, frame):
        if self.delay:
            time.sleep(self.delay)
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        scores = cv2.matchTemplate(gray, self.template, cv2.TM_CCOEFF_NORMED)
        _, best, _, (x, y) = cv2.minMaxLoc(scores)
        return Result(np.array([x + 0.25, y + 0.5, *self.size]), float(best))


def make_still(weights=None, updates=None, delay=0.0):
    """Factory function form (exercises keyword filtering: accepts weights/updates/delay only)."""
    tracker = StillTracker(delay=delay)
    tracker.updates = updates
    return tracker


class DriftTracker:
    """Moves the init box by ``(vx, vy)`` pixels a frame and grows it by ``growth`` (boxes leave the
    image after a while: exercises clipping in the GOT-10k IoU)."""

    def __init__(self, vx: float = 7.3, vy: float = -2.1, growth: float = 0.6):
        self.velocity = np.array([vx, vy, growth, growth])

    def init(self, frame, box_xywh):
        self.box = np.asarray(box_xywh, dtype=np.float64).copy()

    def track(self, frame):
        self.box = self.box + self.velocity
        return Result(self.box.copy(), 0.5)
