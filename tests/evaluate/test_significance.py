"""Paired bootstrap of two trackers' per-sequence scores (`seqtrack report --paired`)."""

from __future__ import annotations

import numpy as np
import pytest

from seqtrack.errors import InputError
from seqtrack.evaluate.significance import paired_bootstrap


def test_a_constant_gap_has_a_zero_width_interval():
    a = np.array([10.0, 50.0, 90.0, 30.0])
    d = paired_bootstrap(a, a + 5.0)
    assert (d.difference, d.low, d.high, d.share_b_better) == pytest.approx((5.0, 5.0, 5.0, 1.0))
    assert (d.mean_a, d.mean_b, d.n_sequences) == pytest.approx((45.0, 50.0, 4))


def test_interval_covers_the_true_gap_and_shrinks_with_more_sequences():
    rng = np.random.default_rng(1)
    widths = []
    for n in (30, 480):
        a = rng.uniform(0, 100, n)
        b = a + 2.0 + rng.normal(0, 20, n)  # true gap 2, per-sequence spread 20 (as on our sets)
        d = paired_bootstrap(a, b, resamples=4000)
        widths.append(d.high - d.low)
        assert d.low < d.difference < d.high
        # the percentile interval is close to the normal one, +-1.96 standard errors
        assert d.high - d.low == pytest.approx(2 * 1.96 * np.std(b - a) / np.sqrt(n), rel=0.15)
    assert widths[1] < widths[0] / 3  # 16x the sequences: a quarter of the width


def test_same_inputs_same_interval_and_order_matters():
    a, b = [1.0, 5.0, 2.0, 8.0, 3.0], [2.0, 4.0, 6.0, 8.0, 1.0]
    assert paired_bootstrap(a, b, seed=3) == paired_bootstrap(a, b, seed=3)
    d, r = paired_bootstrap(a, b), paired_bootstrap(b, a)
    assert d.difference == pytest.approx(-r.difference) and d.low == pytest.approx(-r.high)


@pytest.mark.parametrize(
    "a,b,kwargs,message",
    [
        ([1.0, 2.0], [1.0], {}, "equal"),
        ([], [], {}, "non-empty"),
        ([1.0, np.nan], [1.0, 2.0], {}, "finite"),
        ([1.0], [2.0], {"confidence": 1.0}, "confidence"),
        ([1.0], [2.0], {"resamples": 0}, "resamples"),
    ],
)
def test_bad_inputs(a, b, kwargs, message):
    with pytest.raises(InputError, match=message):
        paired_bootstrap(a, b, **kwargs)
