"""How a training run is run (`TrainOptions`: devices, folders, resume, logging; what is learned is the
`ExperimentConfig`) and what it reports when it ends (`TrainSummary`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from seqtrack.train.datasets import DataRoots


@dataclass
class TrainOptions:
    """How to run (what to learn is the `ExperimentConfig`).

    Attributes:
        out: run folder. roots: where the datasets are (`DataRoots`).
        mae: MAE pre-training file to initialise the encoder from (fresh runs only).
        init: weights file (ours or official) to initialise the whole network from (fresh runs only):
            fine-tuning a trained model with a new recipe. Exclusive with ``mae``.
        init_encoder: weights file (ours or official) to initialise only the encoder from (fresh runs
            only): a pre-trained encoder under a new decoder, as in the ablations. Exclusive with the two above.
        force: discard a run already in ``out`` (finished or not) and start over.
        resume: continue an unfinished run found in ``out`` (default); False refuses one without ``force``.
        device: ``auto`` / ``cpu`` / ``cuda``.
        checkpoint_every_steps: extra mid-epoch resume points every K optimiser steps (0: epoch ends only).
        log_every: a ``step`` line in ``metrics.jsonl`` every N steps (mean loss over them).
        progress: tqdm bar on rank 0 (hidden anyway when stderr is not a terminal).
        tensorboard: also write TensorBoard events when TensorBoard is installed.
        deterministic: ask torch for deterministic kernels (GPU reproducibility; slower).
        shuffle: permute each epoch's sample indices (official parity; items are random anyway).
        print_fn: where rank 0's human-readable lines go.
    """

    out: Path
    roots: DataRoots = field(default_factory=DataRoots)
    mae: Path | None = None
    init: Path | None = None
    init_encoder: Path | None = None
    force: bool = False
    resume: bool = True
    device: str = "auto"
    checkpoint_every_steps: int = 500
    log_every: int = 10
    progress: bool = True
    tensorboard: bool = True
    deterministic: bool = False
    shuffle: bool = True
    print_fn: Callable[[str], None] = print


@dataclass
class TrainSummary:
    """What a finished (or ended) call to `train` reports.

    Attributes: epochs and steps done, last epoch's mean loss, mean throughput (global samples/s over
    this process's training time), seconds spent (all sessions), the last weights checkpoint, the run folder.
    """

    epochs: int
    steps: int
    final_loss: float | None
    samples_per_s: float
    elapsed_s: float
    checkpoint: str
    out: str
    resumed_from_step: int = 0


__all__ = ["TrainOptions", "TrainSummary"]
