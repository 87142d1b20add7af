"""Which sample indices each rank trains on, batch by batch (a resumable DistributedSampler).

An epoch is a permutation of ``range(samples_per_epoch)`` drawn from ``(seed, epoch)`` only, cut into
``steps = samples_per_epoch // global_batch`` global batches (the remainder is dropped, like the
official ``drop_last``), where ``global_batch = batch_size × world_size``. Global batch ``b`` is the
slice ``order[b·G : (b+1)·G]``; rank ``r`` takes its strided part ``[r::world_size]``. Hence:

* the content of every global batch depends on ``(seed, epoch, G)`` only, not on how many ranks
  share it (2 ranks × 8 see the same 16 samples as 1 rank × 16);
* resuming after ``k`` finished batches starts at batch ``k`` with nothing replayed or skipped.

The dataset items themselves are pure functions of ``(seed, epoch, index)`` (`PairDataset`), so the
permutation only matters for datasets that are not; it is kept for parity with the official shuffle.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

# Tag that keeps the order stream apart from the per-item streams ``default_rng([seed, epoch, index])``.
_ORDER_STREAM = 0x0DE5


def epoch_order(seed: int, epoch: int, num_samples: int, shuffle: bool = True) -> np.ndarray:
    """``(num_samples,)`` int64: the sample indices of ``epoch`` in training order."""
    if not shuffle:
        return np.arange(num_samples, dtype=np.int64)
    rng = np.random.default_rng([int(seed), int(epoch), _ORDER_STREAM, 0])
    return rng.permutation(num_samples).astype(np.int64)


@dataclass
class EpochBatches:
    """Batch sampler (for ``DataLoader(batch_sampler=...)``) of one rank for one epoch.

    Attributes:
        num_samples: samples per epoch; batch_size: per-rank batch; rank, world_size: this process.
        seed, epoch: pick the order; start_batch: first batch to yield (batches already trained).
        shuffle: permute the indices (True) or keep ``0..N-1``.
    """

    num_samples: int
    batch_size: int
    rank: int
    world_size: int
    seed: int
    epoch: int
    start_batch: int = 0
    shuffle: bool = True

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.world_size

    @property
    def steps_per_epoch(self) -> int:
        """Number of global batches in an epoch (incomplete last batch dropped)."""
        return self.num_samples // self.global_batch

    def __len__(self) -> int:
        return max(0, self.steps_per_epoch - self.start_batch)

    def __iter__(self) -> Iterator[list[int]]:
        order = epoch_order(self.seed, self.epoch, self.num_samples, self.shuffle)
        g = self.global_batch
        for b in range(self.start_batch, self.steps_per_epoch):
            yield order[b * g + self.rank : (b + 1) * g : self.world_size].tolist()


__all__ = ["EpochBatches", "epoch_order"]
