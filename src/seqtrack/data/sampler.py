"""The official "order" template/search frame sampler (docs/official-behaviour.md §5.1), driven by an explicit RNG.

One draw picks a dataset (probability ∝ ratio), a sequence (retrying, within that dataset, until a
video has more than ``2·(T+1)`` visible frames and at least 20 frames), then ``T+1`` frame ids:

* video: a base frame uniformly among the visible frames, then ``T+1`` ids drawn WITH replacement
  among the visible frames of ``[base − I − g, base + I + g)`` clipped to the sequence (``I`` the max
  interval, ``g`` = 0 and growing by 5 while the window has no visible frame); the ids are sorted
  descending with probability 0.5, else ascending; the first ``T`` are templates, the last the search
  frame (so the search frame is either the latest or the earliest);
* image dataset: the one frame repeated ``T+1`` times.

With ``history_frames`` K > 0 (a model with temporal tokens, Tab. 5 of the paper) a sample also carries the
target's boxes in the K frames before the search frame (`previous_boxes`): a fixed stride of one frame, as
the tracker keeps its last K predictions; image datasets repeat the search box. These take no random draw,
so the stream of draws is the same for every K.

Nothing here touches a global RNG: every random number comes from the ``numpy.random.Generator``
passed in, so a sample is a pure function of its seed.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqtrack.data.base import TrainingDataset
from seqtrack.data.sequence import Sequence
from seqtrack.errors import DatasetError


@dataclass(frozen=True)
class SamplerConfig:
    """Pair-sampler settings (official values as defaults).

    Attributes:
        num_templates: T, template frames per sample (2 for SeqTrack).
        max_interval: half-width of the frame window around the base frame (400 in every yaml).
        interval_growth: window growth when it holds no visible frame (5).
        min_frames: a video needs at least this many frames (20).
        min_visible_factor: ...and strictly more than ``factor·(T+1)`` visible frames (2).
        descending_prob: probability of sorting the ids descending (search frame earliest).
        max_sequence_tries: give up (DatasetError) after this many rejected sequences in a row.
        history_frames: K, previous boxes per sample (`previous_boxes`); 0 = none (`PairSample.history_boxes`
            is None).
    """

    num_templates: int = 2
    max_interval: int = 400
    interval_growth: int = 5
    min_frames: int = 20
    min_visible_factor: int = 2
    descending_prob: float = 0.5
    max_sequence_tries: int = 1000
    history_frames: int = 0


@dataclass
class PairSample:
    """Frames chosen for one training sample (no pixels yet).

    Attributes:
        dataset: dataset name; sequence: the `Sequence` they come from.
        frame_ids: ``(T+1,)`` int64 frame indices, templates first, search last.
        template_frames: T frame paths; search_frame: one path.
        template_boxes: ``(T, 4)`` float64 ``xywh`` pixels; search_box: ``(4,)`` float64 ``xywh`` pixels.
        history_boxes: None, or ``(K, 4)`` float64 ``xywh`` pixels: the target in the K frames before the
            search frame, oldest first (`previous_boxes`).
    """

    dataset: str
    sequence: Sequence
    frame_ids: np.ndarray
    template_frames: list[Path]
    search_frame: Path
    template_boxes: np.ndarray
    search_box: np.ndarray
    history_boxes: np.ndarray | None = None

    @property
    def frames(self) -> list[Path]:
        """All T+1 frame paths, templates first."""
        return [*self.template_frames, self.search_frame]

    @property
    def boxes(self) -> np.ndarray:
        """``(T+1, 4)`` float64 ``xywh`` pixels, templates first."""
        return np.concatenate([self.template_boxes, self.search_box[None]], axis=0)


def choose_dataset(rng: np.random.Generator, ratios: Seq[float]) -> int:
    """Index of a dataset drawn with probability ∝ ``ratios``."""
    p = np.asarray(ratios, dtype=np.float64)
    if p.ndim != 1 or p.size == 0 or (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"dataset ratios must be non-negative with a positive sum, got {list(ratios)}")
    return int(rng.choice(p.size, p=p / p.sum()))


def is_usable_video(visible: np.ndarray, num_ids: int, config: SamplerConfig) -> bool:
    """Official acceptance rule: ``> factor·num_ids`` visible frames and ``>= min_frames`` frames."""
    return int(np.count_nonzero(visible)) > config.min_visible_factor * num_ids and len(visible) >= config.min_frames


def sample_visible_ids(
    rng: np.random.Generator, visible: np.ndarray, num_ids: int, lo: int | None = None, hi: int | None = None
) -> np.ndarray | None:
    """``num_ids`` ids drawn uniformly WITH replacement among visible frames in ``[lo, hi)``.

    ``lo``/``hi`` are clipped to ``[0, len(visible)]``; returns None when the range has no visible frame.
    """
    n = len(visible)
    lo = 0 if lo is None else max(0, lo)
    hi = n if hi is None else min(n, hi)
    candidates = np.flatnonzero(np.asarray(visible[lo:hi], dtype=bool)) + lo
    if candidates.size == 0:
        return None
    return candidates[rng.integers(0, candidates.size, size=num_ids)]


def sample_window_ids(
    rng: np.random.Generator, visible: np.ndarray, base: int, num_ids: int, max_interval: int, growth: int
) -> tuple[np.ndarray | None, int]:
    """Ids around ``base`` in ``[base − max_interval − g, base + max_interval + g)``, growing ``g`` by
    ``growth`` until the window holds a visible frame.

    Returns:
        ``(ids, g)``: ``(num_ids,)`` int64 ids (None only if the sequence has no visible frame at all)
        and the final extra gap ``g``.
    """
    n = len(visible)
    gap = 0
    while True:
        lo, hi = base - max_interval - gap, base + max_interval + gap
        ids = sample_visible_ids(rng, visible, num_ids, lo, hi)
        if ids is not None or (lo <= 0 and hi >= n):
            return ids, gap
        gap += growth


def order_ids(rng: np.random.Generator, ids: np.ndarray, descending_prob: float = 0.5) -> np.ndarray:
    """Sort ids descending with probability ``descending_prob``, else ascending."""
    ids = np.sort(np.asarray(ids, dtype=np.int64))
    return ids[::-1].copy() if rng.random() < descending_prob else ids


def previous_boxes(boxes: np.ndarray, valid: np.ndarray, frame: int, count: int) -> np.ndarray:
    """The target's boxes in the ``count`` frames before ``frame``, oldest first (stride one frame).

    Frames before 0 clamp to frame 0. A frame whose box is not ``valid`` (absent, invisible, no size) takes
    the nearest earlier valid box; when there is none at all up to it, the nearest later valid one up to
    ``frame``, and failing that ``boxes[frame]`` itself.

    Args:
        boxes: ``(N, 4)`` ``xywh`` pixels; valid: ``(N,)`` bool; frame: the search frame id in ``[0, N)``;
        count: K >= 0.
    Returns:
        ``(K, 4)`` float64 ``xywh`` pixels.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool)[: frame + 1]
    good = np.flatnonzero(valid)
    out = np.empty((count, 4), dtype=np.float64)
    for row, wanted in enumerate(np.clip(np.arange(frame - count, frame), 0, None)):
        earlier = good[good <= wanted]
        if earlier.size:
            source = earlier[-1]
        else:
            source = good[0] if good.size else frame  # good[0] > wanted here: the first valid one after
        out[row] = boxes[source]
    return out


def sample_frame_ids(rng: np.random.Generator, visible: np.ndarray, config: SamplerConfig) -> np.ndarray | None:
    """T+1 frame ids of one video, "order" mode (templates first, search last); None if nothing visible."""
    num_ids = config.num_templates + 1
    base = sample_visible_ids(rng, visible, 1)
    if base is None:
        return None
    ids, _ = sample_window_ids(rng, visible, int(base[0]), num_ids, config.max_interval, config.interval_growth)
    if ids is None:
        return None
    return order_ids(rng, ids, config.descending_prob)


class PairSampler:
    """Draws `PairSample` records from several training datasets (docs/official-behaviour.md §5.1, "order" mode).

    Args:
        datasets: the training datasets.
        ratios: relative sampling weights, one per dataset (1:1:1:1 officially).
        config: `SamplerConfig`.
    """

    def __init__(
        self, datasets: Seq[TrainingDataset], ratios: Seq[float] | None = None, config: SamplerConfig = SamplerConfig()
    ):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("PairSampler needs at least one dataset")
        self.ratios = [1.0] * len(self.datasets) if ratios is None else [float(r) for r in ratios]
        if len(self.ratios) != len(self.datasets):
            raise ValueError(f"{len(self.ratios)} ratios for {len(self.datasets)} datasets")
        choose_dataset(np.random.default_rng(0), self.ratios)  # validate once, early
        self.config = config

    def sample(self, rng: np.random.Generator) -> PairSample:
        """One sample: dataset, sequence and frame ids, all drawn from ``rng``."""
        config = self.config
        num_ids = config.num_templates + 1
        dataset = self.datasets[choose_dataset(rng, self.ratios)]
        for _ in range(config.max_sequence_tries):
            sequence = dataset.sequence(int(rng.integers(0, len(dataset))))
            visible = sequence.target_visible()
            if dataset.is_video:
                if not is_usable_video(visible, num_ids, config):
                    continue
                ids = sample_frame_ids(rng, visible, config)
                if ids is None:  # pragma: no cover - usable videos always have visible frames
                    continue
            else:
                # Image datasets are accepted without a visibility check (official, docs/official-behaviour.md §9.7).
                ids = np.zeros(num_ids, dtype=np.int64)
            frames = [sequence.frames[i] for i in ids]
            all_boxes = np.asarray(sequence.boxes, dtype=np.float64)
            boxes = all_boxes[ids]
            history = None
            if config.history_frames > 0:
                if dataset.is_video:
                    history = previous_boxes(all_boxes, visible, int(ids[-1]), config.history_frames)
                else:  # a still image has no past: the search box stands for it
                    history = np.repeat(boxes[-1:], config.history_frames, axis=0)
            return PairSample(
                dataset=dataset.name,
                sequence=sequence,
                frame_ids=ids,
                template_frames=frames[:-1],
                search_frame=frames[-1],
                template_boxes=boxes[:-1],
                search_box=boxes[-1],
                history_boxes=history,
            )
        raise DatasetError(
            f"dataset {dataset.name!r}: no usable sequence in {config.max_sequence_tries} tries (a video needs "
            f"≥ {config.min_frames} frames and > {config.min_visible_factor * num_ids} visible ones)"
        )
