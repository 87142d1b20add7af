"""The training loop: one process or DDP under ``torchrun``, AMP, checkpoints and exact resume.

Reproducibility contract (what makes a killed-and-resumed run equal an uninterrupted one):

* the model is initialised from ``torch.manual_seed(seed)`` (identical on every rank);
* the samples of global batch ``b`` of epoch ``e`` are fixed by ``(seed, e, b, global batch)``
  (`seqtrack.train.sampling`) and every item is a pure function of ``(seed, e, index)`` (`PairDataset`);
* dropout is re-seeded every step from ``(seed, rank, step)`` (`step_seed`);
* ``resume.pt`` holds the weights, AdamW, StepLR and GradScaler states, every rank's RNG states and the
  progress (epoch, samples done in it, step, running loss sums), written atomically by rank 0 at the
  end of every epoch and every ``checkpoint_every_steps`` steps. A restart continues with the next
  batch; ``metrics.jsonl`` is cut back to the resume point.

On CPU this gives bit-identical losses (tested); on GPUs, up to the nondeterminism of some CUDA
kernels unless ``deterministic`` is set.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from seqtrack.config import ExperimentConfig, save_yaml, to_dict
from seqtrack.errors import InputError
from seqtrack.train import distributed
from seqtrack.train.checkpoint import (Progress, ResumeState, RunFolder, atomic_save_weights, capture_rng,
                                       load_resume, restore_rng, save_resume)
from seqtrack.train.datasets import DataRoots, build_training_dataset
from seqtrack.train.loss import SequenceLoss
from seqtrack.train.metrics import MetricsLog, truncate_after
from seqtrack.train.optim import build_optimizer, build_scheduler
from seqtrack.train.sampling import EpochBatches
from seqtrack.train.step import TrainStep, make_scaler, step_seed

# Train settings that may change between a run and its resumption (they do not change what is learnt,
# or only its numerics).
RESUMABLE_CHANGES = frozenset({"epochs", "num_workers", "grad_checkpointing", "save_every", "amp"})


@dataclass
class TrainOptions:
    """How to run (what to learn is the `ExperimentConfig`).

    Attributes:
        out: run folder. roots: where the datasets are (`DataRoots`).
        mae: MAE pre-training file to initialise the encoder from (fresh runs only).
        init: weights file (ours or official) to initialise the whole network from (fresh runs only):
            fine-tuning a trained model with a new recipe. Exclusive with ``mae``.
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


def _worker_init(_: int) -> None:
    # Workers only decode and crop: one thread each, so that N workers do not oversubscribe the CPU.
    torch.set_num_threads(1)
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - OpenCV is a dependency
        pass


def _config_differences(stored: dict, current: dict, prefix: str = "") -> list[str]:
    diffs = []
    for key in sorted(set(stored) | set(current)):
        name = f"{prefix}{key}"
        a, b = stored.get(key), current.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            diffs.extend(_config_differences(a, b, f"{name}."))
        elif a != b and not (prefix == "train." and key in RESUMABLE_CHANGES):
            diffs.append(name)
    return diffs


def _prepare_folder(run: RunFolder, options: TrainOptions) -> tuple[str, str]:
    """Rank 0's decision about the run folder: ``("fresh"|"resume"|"error", message)``."""
    if run.path.exists() and not run.path.is_dir():
        return "error", f"--out {run.path} exists and is not a folder"
    if not run.has_run():
        return "fresh", ""
    if options.force:
        return "fresh", f"--force: discarding the run in {run.path}"
    if run.is_finished():
        return "error", (f"{run.path} holds a finished run ({run.finished}); pass --force to train again from "
                         "scratch there, or choose another --out (to train it for more epochs, delete "
                         f"{run.finished.name} and pass --epochs)")
    if not options.resume:
        return "error", f"{run.path} holds an unfinished run; drop --no-resume to continue it, or pass --force to discard it"
    if not run.resume.is_file():
        return "fresh", f"{run.path} holds no resume point yet ({run.resume.name}); starting over"
    return "resume", f"resuming the run in {run.path}"


class Trainer:
    """Training of one experiment into one run folder (see the module docstring).

    Args:
        config: the experiment (model, train recipe); options: `TrainOptions`.
        dataset: a torch Dataset with ``set_epoch(epoch)`` whose items are dicts of ``templates
            (T, 3, S, S)``, ``search (3, S, S)`` float32 and ``seq_input``/``seq_target (5,)`` int64; by
            default built from ``config.train.datasets`` under ``options.roots``.
    """

    def __init__(self, config: ExperimentConfig, options: TrainOptions, dataset=None) -> None:
        self.config = config
        self.options = options
        self.dataset = dataset
        self.run = RunFolder(Path(options.out))

    # ---------------------------------------------------------------------------------------- helpers
    def _say(self, text: str) -> None:
        if self.context.is_main:
            self.options.print_fn(text)

    def _settle_folder(self) -> ResumeState | None:
        decision, message = _prepare_folder(self.run, self.options) if self.context.is_main else ("", "")
        decision, message = distributed.broadcast_object((decision, message), self.context)
        if decision == "error":
            raise InputError(message)
        if message:
            self._say(message)
        if decision == "fresh":
            if self.context.is_main:
                self.run.path.mkdir(parents=True, exist_ok=True)
                self.run.clear()
                save_yaml(self.config, self.run.config)
            distributed.barrier(self.context)
            return None
        state = load_resume(self.run.resume)
        # The tracker block is not used by training: a run may be resumed whatever it says (a newer
        # version of this package may also have added tracker fields since the run started).
        stored = {k: v for k, v in state.config.items() if k != "tracker"}
        diffs = _config_differences(stored, {k: v for k, v in to_dict(self.config).items() if k != "tracker"})
        if "train.lr_drop_epoch" in diffs:
            # Moving a drop that has not happened yet under either value gives exactly the run that the
            # new config would give from scratch ("train longer before the drop"); anything else would not.
            old_drop, new_drop = state.config["train"]["lr_drop_epoch"], self.config.train.lr_drop_epoch
            if state.progress.epoch <= min(old_drop, new_drop):
                diffs.remove("train.lr_drop_epoch")
                self._say(f"lr drop moved from after epoch {old_drop} to after epoch {new_drop}")
        if diffs:
            raise InputError(f"the run in {self.run.path} was started with another config (differs in: "
                             f"{', '.join(diffs)}); pass --force to start over, or choose another --out")
        return state

    def _build_model(self, state: ResumeState | None):
        from seqtrack.model.seqtrack import SeqTrack
        from seqtrack.model.weights import load_mae_encoder, load_weights_into

        train = self.config.train
        torch.manual_seed(train.seed)  # same initial weights on every rank and in every run
        model = SeqTrack(self.config.model)
        if state is not None:
            model.load_state_dict(state.model, strict=True)
        elif self.options.mae is not None:
            load_mae_encoder(model, self.options.mae)
            self._say(f"encoder initialised from {self.options.mae}")
        elif self.options.init is not None:
            load_weights_into(model, self.options.init)
            self._say(f"network initialised from {self.options.init}")
        model.encoder.body.grad_checkpointing = bool(train.grad_checkpointing)
        return model.to(self.context.device).train()

    def _save_resume(self, progress: Progress) -> None:
        # Every rank must take part (RNG states are gathered); rank 0 writes.
        rng = distributed.gather_objects(capture_rng(), self.context)
        if not self.context.is_main:
            return
        state = ResumeState(progress=dataclasses.replace(progress), config=to_dict(self.config),
                            model=self.model.state_dict(), optimizer=self.optimizer.state_dict(),
                            scheduler=self.scheduler.state_dict(), scaler=self.scaler.state_dict(), rng=rng,
                            world_size=self.context.world_size,
                            extra={"mae": str(self.options.mae) if self.options.mae else "",
                                   "init": str(self.options.init) if self.options.init else "",
                                   "torch": str(torch.__version__)})
        save_resume(state, self.run.resume)

    # ---------------------------------------------------------------------------------------- main
    def fit(self) -> TrainSummary:
        """Train to ``config.train.epochs`` (resuming when there is an unfinished run) and return a summary."""
        self.context = distributed.setup(self.options.device)
        try:
            return self._fit()
        finally:
            distributed.teardown(self.context)

    def _fit(self) -> TrainSummary:
        ctx, train, opts = self.context, self.config.train, self.options
        if opts.deterministic:
            # cuBLAS needs a fixed workspace for deterministic matmuls (read when its handle is created).
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
        elif ctx.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        # Everything that can fail on user input is checked before the run folder is touched.
        if opts.mae is not None and not Path(opts.mae).is_file():
            raise InputError(f"MAE pre-training file not found: {opts.mae}")
        if opts.init is not None and not Path(opts.init).is_file():
            raise InputError(f"--init weights file not found: {opts.init}")
        if opts.init is not None and opts.mae is not None:
            raise InputError("--init and --mae both initialise the encoder; give one of them")
        dataset = self.dataset
        if dataset is None:
            dataset = build_training_dataset(self.config, opts.roots, train.seed)
        state = self._settle_folder()

        model = self._build_model(state)
        self.model = model
        self.optimizer = build_optimizer(model, train)
        self.scheduler = build_scheduler(self.optimizer, train)
        self.scaler = make_scaler(ctx.device, train.amp)
        progress = Progress()
        if state is not None:
            self.optimizer.load_state_dict(state.optimizer)
            self.scheduler.load_state_dict(state.scheduler)
            self.scheduler.step_size = train.lr_drop_epoch  # the state dict holds the stored one
            if state.scaler and self.scaler.is_enabled():
                self.scaler.load_state_dict(state.scaler)
            progress = state.progress
            if len(state.rng) == ctx.world_size:
                restore_rng(state.rng[ctx.rank])
        else:
            # Python/NumPy global streams are not used by training itself; seeded for user code.
            np.random.seed(train.seed + ctx.rank)
            random.seed(train.seed + ctx.rank)

        net = model
        if ctx.distributed:
            from torch.nn.parallel import DistributedDataParallel

            # Every parameter gets a gradient in every SeqTrack variant, so no unused-parameter search.
            # Buffers are not re-broadcast before each forward (official: broadcast_buffers=False); the
            # one sync at construction is harmless because every rank builds the same initial weights.
            net = DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None,
                                          forward_sync_buffers=False)
        criterion = SequenceLoss(self.config.model.bins, train.special_token_weight, train.ce_weight,
                                 train.target_sigma).to(ctx.device)
        step_fn = TrainStep(net, self.optimizer, self.scaler, criterion, train.amp, train.grad_clip_norm, ctx.device,
                            self.config.model.bins, self.config.model.seq_format,
                            center_loss_weight=train.center_loss_weight, center_sigma=train.center_sigma)

        global_batch = train.batch_size * ctx.world_size
        steps_per_epoch = train.samples_per_epoch // global_batch
        if steps_per_epoch < 1:
            raise InputError(f"samples_per_epoch {train.samples_per_epoch} is smaller than the global batch "
                             f"{global_batch} ({train.batch_size} x {ctx.world_size} processes)")
        if progress.samples_in_epoch % global_batch:
            raise InputError(f"the resume point is {progress.samples_in_epoch} samples into epoch {progress.epoch}, "
                             f"not a multiple of the global batch {global_batch}: resume with the same "
                             "number of processes, or from an epoch end")

        resumed_from = progress.global_step
        metrics_enabled = ctx.is_main
        if metrics_enabled and state is not None:
            truncate_after(self.run.metrics, progress.global_step)
        log = MetricsLog(self.run.metrics, enabled=metrics_enabled,
                         tensorboard_dir=self.run.tensorboard if opts.tensorboard else None,
                         purge_step=progress.global_step + 1 if state is not None else None)
        log.write({"kind": "resume" if state is not None else "start", "step": progress.global_step,
                   "epoch": progress.epoch, "world_size": ctx.world_size, "device": str(ctx.device),
                   "global_batch": global_batch, "steps_per_epoch": steps_per_epoch, "amp": train.amp,
                   "torch": str(torch.__version__), "time": time.time()})
        self._say(f"training {self.config.model.name} on {ctx.world_size} process(es) ({ctx.device}), global batch "
                  f"{global_batch}, {steps_per_epoch} steps/epoch, epochs {progress.epoch}..{train.epochs} "
                  f"-> {self.run.path}")

        clock = _Clock()
        pending = torch.zeros(3, dtype=torch.float64, device=ctx.device)  # local loss sum, iou sum, steps
        grad_norm = torch.zeros((), device=ctx.device)
        last_checkpoint, epoch_loss = "", float("nan")

        def flush() -> None:
            # Fold the local sums into the rank-mean running sums of `progress`, at steps that are the
            # same for every rank and every run (log points, resume points, epoch ends): the sums are
            # then bit-identical in a resumed run.
            nonlocal pending
            steps = int(pending[2].item())
            if steps == 0:
                return
            loss_sum, iou_sum, _ = distributed.mean_over_ranks(pending, ctx).tolist()
            progress.epoch_loss_sum += loss_sum
            progress.epoch_steps += steps
            progress.window_loss_sum += loss_sum
            progress.window_iou_sum += iou_sum
            progress.window_steps += steps
            pending = torch.zeros_like(pending)

        def save_point() -> None:
            flush()
            progress.elapsed += clock.lap()
            self._save_resume(progress)

        while progress.epoch <= train.epochs:
            epoch = progress.epoch
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(epoch)
            start_batch = progress.samples_in_epoch // global_batch
            batches = EpochBatches(train.samples_per_epoch, train.batch_size, ctx.rank, ctx.world_size, train.seed,
                                   epoch, start_batch, opts.shuffle)
            # A private generator: creating the loader must not consume the global torch RNG.
            loader = DataLoader(dataset, batch_sampler=batches, num_workers=train.num_workers,
                                pin_memory=ctx.device.type == "cuda", worker_init_fn=_worker_init,
                                generator=torch.Generator().manual_seed(train.seed))
            bar = None
            if ctx.is_main and opts.progress:
                from tqdm import tqdm

                bar = tqdm(total=steps_per_epoch, initial=start_batch, desc=f"epoch {epoch}/{train.epochs}",
                           unit="step", dynamic_ncols=True, disable=None, file=sys.stderr)
            epoch_start, epoch_samples, window_start = time.perf_counter(), 0, time.perf_counter()
            for batch_index, batch in enumerate(loader, start=start_batch):
                torch.manual_seed(step_seed(train.seed, ctx.rank, progress.global_step))
                result = step_fn(batch)
                pending += torch.stack([result.loss.double(), result.iou.double(), pending.new_ones(())])
                grad_norm = result.grad_norm
                progress.global_step += 1
                progress.samples_in_epoch += global_batch
                progress.samples_seen += global_batch
                clock.samples += global_batch
                epoch_samples += global_batch
                if bar is not None:
                    bar.update(1)
                if opts.log_every > 0 and progress.global_step % opts.log_every == 0:
                    flush()
                    now = time.perf_counter()
                    rate = opts.log_every * global_batch / max(now - window_start, 1e-9)
                    window_start = now
                    record = self._step_record(progress, epoch, batch_index + 1, grad_norm, rate)
                    log.write(record)
                    if bar is not None:
                        bar.set_postfix(loss=f"{record['loss']:.4f}", lr=f"{record['lr']:.2e}", sps=f"{rate:.1f}")
                if (opts.checkpoint_every_steps > 0 and progress.global_step % opts.checkpoint_every_steps == 0
                        and batch_index + 1 < steps_per_epoch):
                    save_point()
            if bar is not None:
                bar.close()
            flush()
            epoch_time = time.perf_counter() - epoch_start
            epoch_loss = progress.epoch_loss_sum / max(progress.epoch_steps, 1)
            lr = self.optimizer.param_groups[0]["lr"]
            self.scheduler.step()
            log.write({"kind": "epoch", "step": progress.global_step, "epoch": epoch, "loss": epoch_loss,
                       "lr": lr, "steps": progress.epoch_steps, "seconds": epoch_time,
                       "samples_per_s": epoch_samples / max(epoch_time, 1e-9), "time": time.time()})
            self._say(f"epoch {epoch}/{train.epochs}: loss {epoch_loss:.4f}, lr {lr:.2e}, "
                      f"{epoch_samples / max(epoch_time, 1e-9):.1f} samples/s, {epoch_time:.1f} s")
            if ctx.is_main and (epoch % max(train.save_every, 1) == 0 or epoch == train.epochs):
                last_checkpoint = str(self.run.checkpoint(epoch))
                atomic_save_weights(model, Path(last_checkpoint))
            progress.epoch += 1
            progress.samples_in_epoch, progress.epoch_loss_sum, progress.epoch_steps = 0, 0.0, 0
            save_point()

        distributed.barrier(ctx)
        log.close()
        existing = self.run.checkpoints()
        summary = TrainSummary(epochs=train.epochs, steps=progress.global_step,
                               final_loss=None if math.isnan(epoch_loss) else epoch_loss,
                               samples_per_s=clock.rate(), elapsed_s=progress.elapsed,
                               checkpoint=last_checkpoint or (str(existing[-1]) if existing else ""),
                               out=str(self.run.path), resumed_from_step=resumed_from)
        if ctx.is_main:
            self.run.mark_finished(dataclasses.asdict(summary))
            self._say(f"finished: {progress.global_step} steps, last epoch loss {epoch_loss:.4f}, "
                      f"{summary.samples_per_s:.1f} samples/s, weights {summary.checkpoint}")
        distributed.barrier(ctx)
        return summary

    def _step_record(self, progress: Progress, epoch: int, batch: int, grad_norm: torch.Tensor, rate: float) -> dict:
        """A ``step`` line from the log window of `progress` (which it then resets)."""
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        steps = max(progress.window_steps, 1)
        record = {"kind": "step", "step": progress.global_step, "epoch": epoch, "batch": batch,
                  "loss": progress.window_loss_sum / steps, "iou": progress.window_iou_sum / steps,
                  "lr": lrs[0], "lr_encoder": lrs[1] if len(lrs) > 1 else 0.0,
                  "grad_norm": float(distributed.mean_over_ranks(grad_norm.float(), self.context)),
                  "samples_per_s": rate, "time": time.time()}
        progress.window_loss_sum, progress.window_iou_sum, progress.window_steps = 0.0, 0.0, 0
        return record


class _Clock:
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


def train(config: ExperimentConfig, options: TrainOptions, dataset=None) -> TrainSummary:
    """Train ``config`` into ``options.out`` (see `Trainer`); the library entry point of ``seqtrack train``."""
    return Trainer(config, options, dataset).fit()


__all__ = ["train", "Trainer", "TrainOptions", "TrainSummary", "RESUMABLE_CHANGES"]
