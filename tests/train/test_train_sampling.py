"""Per-rank batches: disjoint, rank-count independent global batches, exact skip on resume."""

from __future__ import annotations

import numpy as np

from seqtrack.train.sampling import EpochBatches, epoch_order
from seqtrack.train.step import step_seed


def test_global_batch_is_independent_of_ranks():
    single = list(EpochBatches(100, 8, 0, 1, seed=3, epoch=5))
    ranks = [list(EpochBatches(100, 4, r, 2, seed=3, epoch=5)) for r in range(2)]
    assert len(single) == len(ranks[0]) == len(ranks[1]) == 12  # 100 // 8, remainder dropped
    for b, batch in enumerate(single):
        parts = [ranks[0][b], ranks[1][b]]
        assert not set(parts[0]) & set(parts[1])  # disjoint
        assert sorted(parts[0] + parts[1]) == sorted(batch)  # same global batch
        assert parts[0] == batch[0::2] and parts[1] == batch[1::2]  # strided slices
    every = [i for batch in single for i in batch]
    assert len(set(every)) == len(every) == 96


def test_order_depends_on_seed_and_epoch_only():
    a = epoch_order(0, 1, 50)
    assert np.array_equal(a, epoch_order(0, 1, 50))
    assert not np.array_equal(a, epoch_order(0, 2, 50)) and not np.array_equal(a, epoch_order(1, 1, 50))
    assert sorted(a.tolist()) == list(range(50))
    assert epoch_order(0, 1, 5, shuffle=False).tolist() == [0, 1, 2, 3, 4]


def test_resume_skips_exactly_the_batches_done():
    full = list(EpochBatches(40, 2, 1, 2, seed=0, epoch=3))
    rest = EpochBatches(40, 2, 1, 2, seed=0, epoch=3, start_batch=4)
    assert len(rest) == len(full) - 4
    assert list(rest) == full[4:]


def test_step_seed():
    assert step_seed(0, 0, 5) == step_seed(0, 0, 5)
    seeds = {step_seed(s, r, k) for s in range(2) for r in range(2) for k in range(50)}
    assert len(seeds) == 200
    assert all(0 <= s < 2**63 for s in seeds)
