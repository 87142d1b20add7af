"""Optimiser, learning-rate schedule and gradient clipping (docs/official-behaviour.md §5.5).

* AdamW, two parameter groups: group 0 = every trainable parameter whose name does not contain
  ``"encoder"`` (decoder, bottleneck, vocabulary head, memory position table) at ``lr``; group 1 = the
  names containing ``"encoder"`` at ``lr × encoder_lr_multiplier``. Weight decay on ALL parameters
  (biases, norms and embeddings included), as officially.
* A multiplier ≤ 0 (or ``freeze_encoder``) freezes the encoder: its parameters stop requiring
  gradients and group 1 is left out.
* StepLR(step_size = ``lr_drop_epoch``, gamma), stepped once after every epoch. With 1-based epochs
  the lr during epoch ``e`` is ``lr · gamma ** ((e - 1) // lr_drop_epoch)``: epochs 1..400 full,
  401..500 × 0.1.
* Gradient clipping on the total L2 norm of all gradients.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from seqtrack.config import TrainConfig


def encoder_frozen(config: TrainConfig) -> bool:
    """True when the encoder does not train (``freeze_encoder`` or a multiplier ≤ 0)."""
    return config.freeze_encoder or config.encoder_lr_multiplier <= 0


def parameter_groups(model: nn.Module, config: TrainConfig) -> list[dict]:
    """The AdamW parameter groups (see module docstring); freezes the encoder when asked.

    Returns:
        ``[{"params", "lr", "weight_decay", "name"}, ...]``: ``"other"`` first, then ``"encoder"``
        (absent when the encoder is frozen).
    """
    frozen = encoder_frozen(config)
    other, encoder = [], []
    for name, param in model.named_parameters():
        if "encoder" in name:
            if frozen:
                param.requires_grad_(False)
                continue
            if param.requires_grad:
                encoder.append(param)
        elif param.requires_grad:
            other.append(param)
    groups = [{"params": other, "lr": config.lr, "weight_decay": config.weight_decay, "name": "other"}]
    if not frozen:
        groups.append(
            {
                "params": encoder,
                "lr": config.lr * config.encoder_lr_multiplier,
                "weight_decay": config.weight_decay,
                "name": "encoder",
            }
        )
    return groups


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW (betas 0.9/0.999, eps 1e-8: the torch defaults, as officially) over `parameter_groups`."""
    return torch.optim.AdamW(parameter_groups(model, config), lr=config.lr, weight_decay=config.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.StepLR:
    """StepLR(step_size = ``lr_drop_epoch``, gamma = ``lr_drop_gamma``); call ``.step()`` after each epoch."""
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.lr_drop_epoch, gamma=config.lr_drop_gamma)


def lr_at_epoch(config: TrainConfig, epoch: int, encoder: bool = False) -> float:
    """Closed form of the schedule: the lr during 1-based ``epoch`` (for docs and checks)."""
    base = config.lr * (config.encoder_lr_multiplier if encoder else 1.0)
    return base * config.lr_drop_gamma ** ((epoch - 1) // config.lr_drop_epoch)


def clip_gradients(parameters: Iterable[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Clip the total L2 norm of the gradients to ``max_norm`` (≤ 0: no clipping); returns the norm
    before clipping (a ``()`` tensor, left on the device so that no synchronisation happens here)."""
    params = [p for p in parameters if p.grad is not None]
    if max_norm <= 0:
        if not params:
            return torch.zeros(())
        return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params]))
    return torch.nn.utils.clip_grad_norm_(params, max_norm)


__all__ = ["parameter_groups", "build_optimizer", "build_scheduler", "lr_at_epoch", "clip_gradients", "encoder_frozen"]
