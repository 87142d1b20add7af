"""One optimisation step: forward under autocast, weighted CE, backward, unscale, clip, AdamW step.

Shared by the trainer and ``benchmarks/train_speed.py`` so that the benchmark times what training runs.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from seqtrack.config import AMP_MODES, TrainConfig
from seqtrack.errors import InputError
from seqtrack.train.loss import SequenceLoss, center_loss, token_iou
from seqtrack.train.optim import build_optimizer, clip_gradients


def autocast_context(device: torch.device, amp: str):
    """The autocast context of an AMP mode: fp16 only on GPUs, bf16 on GPUs and CPUs, off → no-op."""
    if amp not in AMP_MODES:
        raise InputError(f"unknown AMP mode {amp!r}; expected one of {', '.join(AMP_MODES)}")
    if amp == "off":
        return contextlib.nullcontext()
    if amp == "fp16" and device.type != "cuda":
        raise InputError("--amp fp16 needs a CUDA device (use --amp bf16 on CPU)")
    return torch.autocast(device_type=device.type, dtype=torch.float16 if amp == "fp16" else torch.bfloat16)


def make_scaler(device: torch.device, amp: str) -> torch.amp.GradScaler:
    """A GradScaler, enabled only for fp16 (bf16 has float32's range and needs no loss scaling)."""
    return torch.amp.GradScaler(device.type, enabled=(amp == "fp16"))


def step_seed(seed: int, rank: int, step: int) -> int:
    """Seed of the stochastic layers (dropout) for optimiser step ``step`` on ``rank``.

    Re-seeding every step from (seed, rank, step) makes dropout a pure function of the step, so a
    resumed run draws the same masks as an uninterrupted one whatever else touched the RNG.
    """
    state = np.random.SeedSequence([int(seed), int(rank), int(step), 0x5EED]).generate_state(2, np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


@dataclass
class StepResult:
    """Per-step numbers, left on the device (reading them forces a synchronisation).

    Attributes: loss ``()`` float32, iou ``()`` mean status IoU, grad_norm ``()`` before clipping,
    logits ``(B, L, bins + 2)`` the teacher-forced decoder output the loss was computed from (detached;
    ``L`` = 5 autoregressive, 4 bidirectional).
    """

    loss: torch.Tensor
    iou: torch.Tensor
    grad_norm: torch.Tensor
    logits: torch.Tensor


class TrainStep:
    """Callable ``step(batch) -> StepResult`` for a model (plain or DDP-wrapped).

    Args:
        model: `SeqTrack` or ``DistributedDataParallel(SeqTrack)`` in train mode.
        optimizer: the AdamW; scaler: `make_scaler` output.
        criterion: `SequenceLoss` (on the device); amp: ``off`` / ``fp16`` / ``bf16``.
        grad_clip_norm: max total L2 norm (≤ 0: no clipping); device: where batches go.
        bins, seq_format: for the status IoU (and the centre loss).
        center_loss_weight, center_sigma: the auxiliary centre loss (`center_loss`); used exactly when
            the model has a centre head (weight 0 still runs the head, so DDP sees every parameter used).
        dropout: False runs the forward in eval mode (dropout off) and restores the mode afterwards; for
            deterministic checks such as the official training-step golden file, which was made that way.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        criterion: SequenceLoss,
        amp: str,
        grad_clip_norm: float,
        device: torch.device,
        bins: int,
        seq_format: str,
        center_loss_weight: float = 0.0,
        center_sigma: float = 0.75,
        dropout: bool = True,
    ) -> None:
        self.model, self.optimizer, self.scaler, self.criterion = model, optimizer, scaler, criterion
        self.dropout = dropout
        self.amp, self.grad_clip_norm, self.device = amp, grad_clip_norm, device
        self.bins, self.seq_format = bins, seq_format
        self.center_loss_weight, self.center_sigma = center_loss_weight, center_sigma
        inner = model.module if hasattr(model, "module") else model
        self.with_center = bool(getattr(getattr(inner, "config", None), "center_head", False))
        self.history_frames = int(getattr(getattr(inner, "config", None), "temporal_frames", 0))
        if center_loss_weight > 0 and not self.with_center:
            raise InputError("center_loss_weight > 0 needs a model with a centre head (model.center_head: true)")
        autocast_context(device, amp)  # validate the mode early
        self.params = [p for group in optimizer.param_groups for p in group["params"]]

    @classmethod
    def from_recipe(
        cls,
        model: nn.Module,
        train: TrainConfig,
        device: torch.device,
        optimizer: torch.optim.Optimizer | None = None,
        scaler: torch.amp.GradScaler | None = None,
        dropout: bool = True,
    ) -> TrainStep:
        """The step a `TrainConfig` describes: its loss weights, clip norm, AMP mode and (unless given,
        e.g. restored from a checkpoint) its AdamW with the encoder group (`build_optimizer`) and scaler.

        Args:
            model: `SeqTrack` or ``DistributedDataParallel(SeqTrack)``, already on ``device``.
        """
        inner = model.module if hasattr(model, "module") else model
        bins, seq_format = inner.config.bins, inner.config.seq_format
        criterion = SequenceLoss(bins, train.special_token_weight, train.ce_weight, train.target_sigma).to(device)
        return cls(
            model,
            optimizer if optimizer is not None else build_optimizer(inner, train),
            scaler if scaler is not None else make_scaler(device, train.amp),
            criterion,
            train.amp,
            train.grad_clip_norm,
            device,
            bins,
            seq_format,
            center_loss_weight=train.center_loss_weight,
            center_sigma=train.center_sigma,
            dropout=dropout,
        )

    def check_batch(self, batch: dict) -> None:
        """Refuse a batch without the ``history (B, 4 K)`` key for a model with temporal tokens (a custom
        dataset that does not make it), naming what is missing, before the model is run."""
        if self.history_frames > 0 and "history" not in batch:
            raise InputError(
                f"model.temporal_frames is {self.history_frames} but the training batch has no 'history' key "
                f"(the built-in datasets add it; a custom dataset must give history (4 x {self.history_frames},) "
                "int64 tokens per item)"
            )

    def to_device(self, batch: dict) -> dict:
        """Move the tensors the model needs: ``templates (B, T, 3, S, S)``, ``search (B, 3, S, S)``,
        ``seq_input``/``seq_target (B, 5)``, and ``history (B, 4 K)`` int64 when the batch has it."""
        keys = ("templates", "search", "seq_input", "seq_target", "history")
        return {k: batch[k].to(self.device, non_blocking=True) for k in keys if k in batch}

    def _forward(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Teacher-forced logits ``(B, L, V)`` (``L`` = 5 autoregressive, 4 bidirectional) and, with a centre
        head, its scores ``(B, g * g)``."""
        training = self.model.training
        if not self.dropout:
            self.model.eval()
        # Only a temporal model takes (and requires) the history: the default call stays as it was.
        extra = {"history": batch["history"]} if "history" in batch else {}
        try:
            with autocast_context(self.device, self.amp):
                if self.with_center:
                    return self.model(
                        batch["templates"], batch["search"], batch["seq_input"], return_center=True, **extra
                    )
                return self.model(batch["templates"], batch["search"], batch["seq_input"], **extra), None
        finally:
            self.model.train(training)

    def __call__(self, batch: dict) -> StepResult:
        self.check_batch(batch)
        batch = self.to_device(batch)
        logits, center = self._forward(batch)
        # Bidirectional decoding predicts the four coordinates only (no END position): the targets are
        # cut to the logits' length; the autoregressive slice is the whole target.
        targets = batch["seq_target"][:, : logits.shape[1]]
        loss = self.criterion(logits, targets)  # float32 whatever the autocast dtype
        if self.with_center:
            loss = loss + self.center_loss_weight * center_loss(
                center, batch["seq_target"], self.bins, self.seq_format, self.center_sigma
            )
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)  # clip the true gradients, not the scaled ones
        grad_norm = clip_gradients(self.params, self.grad_clip_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        iou = token_iou(logits.detach().float(), targets, self.bins, self.seq_format).mean()
        return StepResult(loss=loss.detach(), iou=iou, grad_norm=grad_norm.detach(), logits=logits.detach())


__all__ = ["TrainStep", "StepResult", "autocast_context", "make_scaler", "step_seed", "AMP_MODES"]
