"""What one call to `seqtrack.train.trainer.Trainer.fit` trains with, and the bookkeeping it keeps.

A session is one process's part of a run: the run may span several sessions (killed and resumed), and
what must be the same in all of them lives in `Progress` (saved in ``resume.pt``), not here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from seqtrack.train import distributed
from seqtrack.train.checkpoint import Progress
from seqtrack.train.metrics import MetricsLog
from seqtrack.train.step import TrainStep


class Clock:
    """Training time and samples of this process's session (for samples/s and `Progress.elapsed`)."""

    def __init__(self) -> None:
        self.start = self.mark = time.perf_counter()
        self.samples = 0

    def lap(self) -> float:
        """Seconds since the previous lap."""
        now = time.perf_counter()
        seconds, self.mark = now - self.mark, now
        return seconds

    def rate(self) -> float:
        """Global samples per second over the session."""
        return self.samples / max(time.perf_counter() - self.start, 1e-9)


class StepSums:
    """This rank's loss and IoU sums over the steps since they were last folded into `Progress`.

    Folding happens only at steps that are the same for every rank and every run (log points, resume
    points, epoch ends), as a rank mean: the running sums of `Progress` are then bit-identical in a
    resumed run.
    """

    def __init__(self, device: torch.device) -> None:
        self.pending = torch.zeros(3, dtype=torch.float64, device=device)  # loss sum, iou sum, steps

    def add(self, loss: torch.Tensor, iou: torch.Tensor) -> None:
        """Count one step's mean loss and mean IoU (0-d tensors, on the sums' device)."""
        self.pending += torch.stack([loss.double(), iou.double(), self.pending.new_ones(())])

    def fold_into(self, progress: Progress, context: distributed.DistContext) -> None:
        """Add the rank-mean sums to the epoch and log-window sums of ``progress``; start again from zero.
        Every rank must call it at the same step (it averages over ranks)."""
        steps = int(self.pending[2].item())
        if steps == 0:
            return
        loss_sum, iou_sum, _ = distributed.mean_over_ranks(self.pending, context).tolist()
        progress.epoch_loss_sum += loss_sum
        progress.epoch_steps += steps
        progress.window_loss_sum += loss_sum
        progress.window_iou_sum += iou_sum
        progress.window_steps += steps
        self.pending = torch.zeros_like(self.pending)


@dataclass
class Session:
    """The parts of a training session that the trainer's steps share.

    Attributes:
        dataset: the training dataset (items as described in `Trainer`).
        step: one optimiser step (`TrainStep`); progress: where the run is (restored when resuming).
        log: the metrics log; global_batch: samples per step over all ranks; steps_per_epoch: steps.
        resumed_from: the global step this session started at (0 for a fresh run).
        clock: this session's time and samples; sums: the step sums not yet in ``progress``.
    """

    dataset: Any
    step: TrainStep
    progress: Progress
    log: MetricsLog
    global_batch: int
    steps_per_epoch: int
    resumed_from: int
    clock: Clock
    sums: StepSums
