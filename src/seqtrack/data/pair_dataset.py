"""`torch.utils.data.Dataset` of processed training samples, reproducible whatever the workers/ranks.

Item ``i`` of epoch ``e`` is drawn from its own generator ``numpy.random.default_rng([seed, e, i])``:
the sample depends only on (seed, epoch, index), never on which worker or rank computes it, nor on
the order of access. The loader's index therefore just names a sample (docs/official-behaviour.md §5.1: the official
sampler ignores it and draws from a global RNG, which is not reproducible).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence as Seq
from functools import partial
from pathlib import Path

import numpy as np
import torch.utils.data

from seqtrack.data.base import TrainingDataset
from seqtrack.data.processing import ProcessingConfig, TrainingSample, process_pair
from seqtrack.data.sampler import PairSample, PairSampler, SamplerConfig
from seqtrack.errors import DatasetError
from seqtrack.io.images import read_rgb


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of sample ``index`` in ``epoch`` (independent streams through SeedSequence)."""
    return np.random.default_rng([int(seed), int(epoch), int(index)])


def load_frames(sample: PairSample, loader: Callable[[Path], np.ndarray]) -> list[np.ndarray]:
    """Read the T+1 frames of a sample, each distinct file once (image datasets repeat one file)."""
    cache: dict[Path, np.ndarray] = {}
    frames = []
    for path in sample.frames:
        if path not in cache:
            cache[path] = loader(path)
        frames.append(cache[path])
    return frames


class PairDataset(torch.utils.data.Dataset):
    """Processed template/search samples from several training datasets.

    Args:
        datasets: training datasets; ratios: sampling weights (default uniform).
        processing: `ProcessingConfig`; sampler: `SamplerConfig` (its ``history_frames`` K > 0 adds the
            ``history (4 K,)`` int64 and ``history_boxes (K, 4)`` float32 keys to every item).
        samples_per_epoch: ``len(self)`` (60,000 officially).
        seed: base seed; the item RNG is ``default_rng([seed, epoch, index])``.
        loader: ``path -> (H, W, 3) uint8 RGB`` (default `read_rgb`, raising `DatasetError`).
        max_resamples: how many invalid draws (empty crop) are tolerated before raising.

    Call `set_epoch` before each epoch. With ``persistent_workers=True`` the workers hold copies made
    at start-up, so the new epoch would not reach them: use non-persistent workers, or give indices
    that already include the epoch (e.g. ``epoch * samples_per_epoch + i``) and keep ``epoch`` at 0.
    """

    def __init__(
        self,
        datasets: Seq[TrainingDataset],
        ratios: Seq[float] | None = None,
        processing: ProcessingConfig = ProcessingConfig(),
        samples_per_epoch: int = 60000,
        seed: int = 0,
        sampler: SamplerConfig = SamplerConfig(),
        loader: Callable[[Path], np.ndarray] = partial(read_rgb, error=DatasetError),
        max_resamples: int = 100,
    ):
        self.sampler = PairSampler(datasets, ratios, sampler)
        self.processing = processing
        self.samples_per_epoch = int(samples_per_epoch)
        self.seed = int(seed)
        self.epoch = 0
        self.loader = loader
        self.max_resamples = max_resamples

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose samples ``__getitem__`` returns."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.samples_per_epoch

    def __getitem__(self, index: int) -> TrainingSample:
        """Sample ``index`` of the current epoch (see `TrainingSample` for keys and shapes)."""
        rng = sample_rng(self.seed, self.epoch, index)
        for _ in range(self.max_resamples):
            pair = self.sampler.sample(rng)
            frames = load_frames(pair, self.loader)
            sample = process_pair(frames, pair.boxes, self.processing, rng, history=pair.history_boxes)
            if sample is not None:
                return sample
        raise DatasetError(
            f"{self.max_resamples} invalid samples in a row for item {index} (every jittered box gave an empty crop)"
        )
