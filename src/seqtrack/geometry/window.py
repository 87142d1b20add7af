"""The Hann prior of the x/y token steps, one table for every backend (torch-free: the ONNX read-out that
starts without torch uses it too)."""

from __future__ import annotations

import numpy as np


def hann_window(bins: int, power: float = 1.0) -> np.ndarray:
    """``np.hanning(bins) ** power`` (float64, ``(bins,)``): zero at both ends, peak at the centre bins; ones
    for ``power == 0`` (no window). The one table of every backend (torch model, ONNX read-out), computed
    in numpy so that both multiply by the same bits (torch's ``pow`` rounds some entries differently)."""
    if power == 0:
        return np.ones(bins, dtype=np.float64)
    table = np.hanning(bins)
    return table if power == 1 else table**power


__all__ = ["hann_window"]
