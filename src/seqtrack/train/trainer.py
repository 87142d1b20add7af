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
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from seqtrack.config import ExperimentConfig, to_dict
from seqtrack.errors import InputError
from seqtrack.io.files import OutputError, os_error_text
from seqtrack.train import distributed
from seqtrack.train.checkpoint import (
    Progress,
    ResumeState,
    RunFolder,
    atomic_save_weights,
    capture_rng,
    load_resume,
    remove_stale_temp_files,
    restore_rng,
    save_resume,
)
from seqtrack.train.checks import check_before_writing
from seqtrack.train.datasets import build_training_dataset
from seqtrack.train.metrics import MetricsLog, truncate_after
from seqtrack.train.optim import build_optimizer, build_scheduler
from seqtrack.train.options import TrainOptions, TrainSummary
from seqtrack.train.resume import folder_decision, resume_conflicts
from seqtrack.train.sampling import EpochBatches
from seqtrack.train.session import Clock, Session, StepSums
from seqtrack.train.step import TrainStep, make_scaler, step_seed


def _worker_init(_: int) -> None:
    # Workers only decode and crop: one thread each, so that N workers do not oversubscribe the CPU.
    torch.set_num_threads(1)
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - OpenCV is a dependency
        pass


class Trainer:
    """Training of one experiment into one run folder (see the module docstring).

    Args:
        config: the experiment (model, train recipe); options: `TrainOptions`.
        dataset: a torch Dataset with ``set_epoch(epoch)`` whose items are dicts of ``templates
            (T, 3, S, S)``, ``search (3, S, S)`` float32 and ``seq_input``/``seq_target (5,)`` int64 (and
            ``history (4 K,)`` int64 for a model with ``temporal_frames`` K > 0); by default built from
            ``config.train.datasets`` under ``options.roots``.
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
        """Start the run folder afresh (None) or load its resume point, as rank 0 decided for every rank."""
        if self.context.is_main:
            remove_stale_temp_files(self.run.path)  # left by killed runs: each SIGKILL may leave one
            decision, message = folder_decision(self.run, self.options.force, self.options.resume)
        else:
            decision, message = "", ""
        decision, message = distributed.broadcast_object((decision, message), self.context)
        if decision == "error":
            raise InputError(message)
        if message:
            self._say(message)
        if decision == "fresh":
            if self.context.is_main:
                try:
                    self.run.path.mkdir(parents=True, exist_ok=True)
                    self.run.clear()
                except OSError as error:
                    raise OutputError(
                        f"could not prepare the run folder {self.run.path}: {os_error_text(error)}"
                    ) from None
                self.run.write_config(self.config)
            distributed.barrier(self.context)
            return None
        state = load_resume(self.run.resume)
        diffs, note = resume_conflicts(state, self.config)
        if note:
            self._say(note)
        if diffs:
            raise InputError(
                f"the run in {self.run.path} was started with another config (differs in: "
                f"{', '.join(diffs)}); pass --force to start over, or choose another --out"
            )
        return state

    def _build_model(self, state: ResumeState | None):
        from seqtrack.model.seqtrack import SeqTrack
        from seqtrack.model.weights import load_encoder_weights, load_mae_encoder, load_weights_into

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
        elif self.options.init_encoder is not None:
            load_encoder_weights(model, self.options.init_encoder)
            self._say(f"encoder initialised from {self.options.init_encoder}")
        model.encoder.body.grad_checkpointing = bool(train.grad_checkpointing)
        return model.to(self.context.device).train()

    def _save_resume(self, progress: Progress) -> None:
        # Every rank must take part (RNG states are gathered); rank 0 writes.
        rng = distributed.gather_objects(capture_rng(), self.context)
        if not self.context.is_main:
            return
        state = ResumeState(
            progress=dataclasses.replace(progress),
            config=to_dict(self.config),
            model=self.model.state_dict(),
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict(),
            scaler=self.scaler.state_dict(),
            rng=rng,
            world_size=self.context.world_size,
            extra={
                "mae": str(self.options.mae) if self.options.mae else "",
                "init": str(self.options.init) if self.options.init else "",
                "init_encoder": str(self.options.init_encoder) if self.options.init_encoder else "",
                "torch": str(torch.__version__),
            },
        )
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
        """`fit` inside an initialised process group: set up (or resume), run the epochs left, summarise."""
        self._set_kernel_modes()
        # Everything that can fail on user input is checked before the run folder is touched.
        check_before_writing(self.config, self.options, self.context)
        dataset = self.dataset
        if dataset is None:
            dataset = build_training_dataset(self.config, self.options.roots, self.config.train.seed)
        state = self._settle_folder()
        session = self._start_session(dataset, state)
        last_checkpoint, epoch_loss = "", float("nan")
        while session.progress.epoch <= self.config.train.epochs:
            epoch_loss, checkpoint = self._run_epoch(session)
            last_checkpoint = checkpoint or last_checkpoint
        return self._finish(session, epoch_loss, last_checkpoint)

    # ---------------------------------------------------------------------------------------- setting up
    def _set_kernel_modes(self) -> None:
        """Deterministic kernels when asked; else cuDNN's autotuner on GPUs (fixed input sizes)."""
        if self.options.deterministic:
            # cuBLAS needs a fixed workspace for deterministic matmuls (read when its handle is created).
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
        elif self.context.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

    def _start_session(self, dataset, state: ResumeState | None) -> Session:
        """Model, optimisation state, training step and metrics log of this call, from ``state`` when resuming.

        The order is that of every run (the model's initial weights come from the seeded global stream).
        """
        progress = self._build_optimisation(state)
        step = self._build_step()
        global_batch, steps_per_epoch = self._batch_layout(progress)
        log = self._open_log(state, progress, global_batch, steps_per_epoch)
        return Session(
            dataset=dataset,
            step=step,
            progress=progress,
            log=log,
            global_batch=global_batch,
            steps_per_epoch=steps_per_epoch,
            resumed_from=progress.global_step,
            clock=Clock(),
            sums=StepSums(self.context.device),
        )

    def _build_optimisation(self, state: ResumeState | None) -> Progress:
        """Model, AdamW, StepLR and GradScaler (restored from ``state`` when resuming); the progress so far."""
        ctx, train = self.context, self.config.train
        self.model = self._build_model(state)
        self.optimizer = build_optimizer(self.model, train)
        self.scheduler = build_scheduler(self.optimizer, train)
        self.scaler = make_scaler(ctx.device, train.amp)
        if state is None:
            # Python/NumPy global streams are not used by training itself; seeded for user code.
            np.random.seed(train.seed + ctx.rank)
            random.seed(train.seed + ctx.rank)
            return Progress()
        self.optimizer.load_state_dict(state.optimizer)
        self.scheduler.load_state_dict(state.scheduler)
        self.scheduler.step_size = train.lr_drop_epoch  # the state dict holds the stored one
        if state.scaler and self.scaler.is_enabled():
            self.scaler.load_state_dict(state.scaler)
        if len(state.rng) == ctx.world_size:
            restore_rng(state.rng[ctx.rank])
        return state.progress

    def _build_step(self) -> TrainStep:
        """One optimiser step of the (DDP-wrapped when distributed) model with the sequence loss."""
        ctx, train = self.context, self.config.train
        net = self.model
        if ctx.distributed:
            from torch.nn.parallel import DistributedDataParallel

            # Every parameter gets a gradient in every SeqTrack variant, so no unused-parameter search.
            # Buffers are not re-broadcast before each forward (official: broadcast_buffers=False); the
            # one sync at construction is harmless because every rank builds the same initial weights.
            device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
            net = DistributedDataParallel(self.model, device_ids=device_ids, forward_sync_buffers=False)
        return TrainStep.from_recipe(net, train, ctx.device, optimizer=self.optimizer, scaler=self.scaler)

    def _batch_layout(self, progress: Progress) -> tuple[int, int]:
        """``(global batch, steps per epoch)``; refuses an epoch shorter than one global batch and a resume
        point that is not on a global-batch boundary (another number of processes)."""
        ctx, train = self.context, self.config.train
        global_batch = train.batch_size * ctx.world_size
        steps_per_epoch = train.samples_per_epoch // global_batch  # >= 1: `check_recipe`
        if progress.samples_in_epoch % global_batch:
            raise InputError(
                f"the resume point is {progress.samples_in_epoch} samples into epoch {progress.epoch}, "
                f"not a multiple of the global batch {global_batch}: resume with the same "
                "number of processes, or from an epoch end"
            )
        return global_batch, steps_per_epoch

    def _open_log(
        self, state: ResumeState | None, progress: Progress, global_batch: int, steps_per_epoch: int
    ) -> MetricsLog:
        """The metrics log (rank 0 writes; cut back to the resume point), with its ``start``/``resume`` line."""
        ctx, train, resuming = self.context, self.config.train, state is not None
        if ctx.is_main and resuming:
            truncate_after(self.run.metrics, progress.global_step)
        log = MetricsLog(
            self.run.metrics,
            enabled=ctx.is_main,
            tensorboard_dir=self.run.tensorboard if self.options.tensorboard else None,
            purge_step=progress.global_step + 1 if resuming else None,
        )
        log.write(
            {
                "kind": "resume" if resuming else "start",
                "step": progress.global_step,
                "epoch": progress.epoch,
                "world_size": ctx.world_size,
                "device": str(ctx.device),
                "global_batch": global_batch,
                "steps_per_epoch": steps_per_epoch,
                "amp": train.amp,
                "torch": str(torch.__version__),
                "time": time.time(),
            }
        )
        self._say(
            f"training {self.config.model.name} on {ctx.world_size} process(es) ({ctx.device}), global batch "
            f"{global_batch}, {steps_per_epoch} steps/epoch, epochs {progress.epoch}..{train.epochs} "
            f"-> {self.run.path}"
        )
        return log

    # ---------------------------------------------------------------------------------------- one epoch
    def _run_epoch(self, session: Session) -> tuple[float, str]:
        """Train the rest of epoch ``progress.epoch``; ``(its mean loss, the weights file saved or "")``."""
        ctx, train, progress = self.context, self.config.train, session.progress
        epoch = progress.epoch
        if hasattr(session.dataset, "set_epoch"):
            session.dataset.set_epoch(epoch)
        start_batch = progress.samples_in_epoch // session.global_batch
        batches = EpochBatches(
            train.samples_per_epoch,
            train.batch_size,
            ctx.rank,
            ctx.world_size,
            train.seed,
            epoch,
            start_batch,
            self.options.shuffle,
        )
        # A private generator: creating the loader must not consume the global torch RNG.
        loader = DataLoader(
            session.dataset,
            batch_sampler=batches,
            num_workers=train.num_workers,
            pin_memory=ctx.device.type == "cuda",
            worker_init_fn=_worker_init,
            generator=torch.Generator().manual_seed(train.seed),
        )
        bar = None
        if ctx.is_main and self.options.progress:
            from tqdm import tqdm

            bar = tqdm(
                total=session.steps_per_epoch,
                initial=start_batch,
                desc=f"epoch {epoch}/{train.epochs}",
                unit="step",
                dynamic_ncols=True,
                disable=None,
                file=sys.stderr,
            )
        epoch_start = time.perf_counter()
        epoch_samples = self._train_steps(session, loader, start_batch, bar)
        if bar is not None:
            bar.close()
        return self._end_epoch(session, epoch_start, epoch_samples)

    def _train_steps(self, session: Session, loader: DataLoader, start_batch: int, bar) -> int:
        """One step per batch of ``loader`` (batch ``start_batch`` first), logging and saving resume points
        on the way; the global samples trained."""
        ctx, train, opts, progress = self.context, self.config.train, self.options, session.progress
        epoch_samples, window_start = 0, time.perf_counter()
        for batch_index, batch in enumerate(loader, start=start_batch):
            torch.manual_seed(step_seed(train.seed, ctx.rank, progress.global_step))
            result = session.step(batch)
            session.sums.add(result.loss, result.iou)
            progress.global_step += 1
            progress.samples_in_epoch += session.global_batch
            progress.samples_seen += session.global_batch
            session.clock.samples += session.global_batch
            epoch_samples += session.global_batch
            if bar is not None:
                bar.update(1)
            if opts.log_every > 0 and progress.global_step % opts.log_every == 0:
                session.sums.fold_into(progress, ctx)
                now = time.perf_counter()
                rate = opts.log_every * session.global_batch / max(now - window_start, 1e-9)
                window_start = now
                record = self._step_record(progress, progress.epoch, batch_index + 1, result.grad_norm, rate)
                session.log.write(record)
                if bar is not None:
                    bar.set_postfix(loss=f"{record['loss']:.4f}", lr=f"{record['lr']:.2e}", sps=f"{rate:.1f}")
            if (
                opts.checkpoint_every_steps > 0
                and progress.global_step % opts.checkpoint_every_steps == 0
                and batch_index + 1 < session.steps_per_epoch
            ):
                self._save_point(session)
        return epoch_samples

    def _end_epoch(self, session: Session, epoch_start: float, epoch_samples: int) -> tuple[float, str]:
        """Epoch line, learning-rate step, weights checkpoint (every ``save_every`` epochs and the last) and
        the resume point at the start of the next epoch; ``(the epoch's mean loss, the weights file or "")``.

        ``epoch_start``: `time.perf_counter` when this session's part of the epoch began.
        """
        ctx, train, progress = self.context, self.config.train, session.progress
        epoch = progress.epoch
        session.sums.fold_into(progress, ctx)
        epoch_time = time.perf_counter() - epoch_start
        epoch_loss = progress.epoch_loss_sum / max(progress.epoch_steps, 1)
        lr = self.optimizer.param_groups[0]["lr"]
        self.scheduler.step()
        session.log.write(
            {
                "kind": "epoch",
                "step": progress.global_step,
                "epoch": epoch,
                "loss": epoch_loss,
                "lr": lr,
                "steps": progress.epoch_steps,
                "seconds": epoch_time,
                "samples_per_s": epoch_samples / max(epoch_time, 1e-9),
                "time": time.time(),
            }
        )
        self._say(
            f"epoch {epoch}/{train.epochs}: loss {epoch_loss:.4f}, lr {lr:.2e}, "
            f"{epoch_samples / max(epoch_time, 1e-9):.1f} samples/s, {epoch_time:.1f} s"
        )
        checkpoint = ""
        if ctx.is_main and (epoch % max(train.save_every, 1) == 0 or epoch == train.epochs):
            checkpoint = str(self.run.checkpoint(epoch))
            atomic_save_weights(self.model, Path(checkpoint))
        progress.epoch += 1
        progress.samples_in_epoch, progress.epoch_loss_sum, progress.epoch_steps = 0, 0.0, 0
        self._save_point(session)
        return epoch_loss, checkpoint

    def _save_point(self, session: Session) -> None:
        """A resume point: fold the step sums in, add this session's time, write ``resume.pt``."""
        session.sums.fold_into(session.progress, self.context)
        session.progress.elapsed += session.clock.lap()
        self._save_resume(session.progress)

    def _finish(self, session: Session, epoch_loss: float, last_checkpoint: str) -> TrainSummary:
        """Close the log, mark the run finished (rank 0) and summarise it."""
        ctx, train, progress = self.context, self.config.train, session.progress
        distributed.barrier(ctx)
        session.log.close()
        existing = self.run.checkpoints()
        summary = TrainSummary(
            epochs=train.epochs,
            steps=progress.global_step,
            final_loss=None if math.isnan(epoch_loss) else epoch_loss,
            samples_per_s=session.clock.rate(),
            elapsed_s=progress.elapsed,
            checkpoint=last_checkpoint or (str(existing[-1]) if existing else ""),
            out=str(self.run.path),
            resumed_from_step=session.resumed_from,
        )
        if ctx.is_main:
            self.run.mark_finished(dataclasses.asdict(summary))
            self._say(
                f"finished: {progress.global_step} steps, last epoch loss {epoch_loss:.4f}, "
                f"{summary.samples_per_s:.1f} samples/s, weights {summary.checkpoint}"
            )
        distributed.barrier(ctx)
        return summary

    def _step_record(self, progress: Progress, epoch: int, batch: int, grad_norm: torch.Tensor, rate: float) -> dict:
        """A ``step`` line from the log window of `progress` (which it then resets)."""
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        steps = max(progress.window_steps, 1)
        record = {
            "kind": "step",
            "step": progress.global_step,
            "epoch": epoch,
            "batch": batch,
            "loss": progress.window_loss_sum / steps,
            "iou": progress.window_iou_sum / steps,
            "lr": lrs[0],
            "lr_encoder": lrs[1] if len(lrs) > 1 else 0.0,
            "grad_norm": float(distributed.mean_over_ranks(grad_norm.float(), self.context)),
            "samples_per_s": rate,
            "time": time.time(),
        }
        progress.window_loss_sum, progress.window_iou_sum, progress.window_steps = 0.0, 0.0, 0
        return record


def train(config: ExperimentConfig, options: TrainOptions, dataset=None) -> TrainSummary:
    """Train ``config`` into ``options.out`` (see `Trainer`); the library entry point of ``seqtrack train``."""
    return Trainer(config, options, dataset).fit()


__all__ = ["train", "Trainer"]
