"""The SeqTrack training loss (docs/official-behaviour.md §5.4): class-weighted cross-entropy over the token vocabulary.

Every class ``0 .. bins-1`` (a coordinate) weighs 1.0; END (``bins``) and START (``bins + 1``) weigh
``special_token_weight`` (0.01). The reduction is PyTorch's weighted mean,
``Σ_i w[y_i] · CE_i / Σ_i w[y_i]`` over all ``B · 5`` targets, then scaled by ``ce_weight``.
Because every target sequence is ``[t1..t4, END]`` the denominator is the same for every sample
(``4 + 0.01``), so the mean over ranks of per-rank losses equals the loss of the whole global batch
(what makes DDP match a single process with the bigger batch).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from seqtrack.geometry.tokens import end_token, start_token, vocab_size


def class_weights(bins: int, special_token_weight: float = 0.01) -> torch.Tensor:
    """``(bins + 2,)`` float32 weights: 1 for coordinates, ``special_token_weight`` for END and START."""
    weights = torch.ones(vocab_size(bins), dtype=torch.float32)
    weights[end_token(bins)] = special_token_weight
    weights[start_token(bins)] = special_token_weight
    return weights


class SequenceLoss(nn.Module):
    """Weighted cross-entropy of teacher-forced logits against the target sequence.

    Args:
        bins: coordinate bins (vocabulary = ``bins + 2``).
        special_token_weight: class weight of END and START (0.01 officially).
        ce_weight: factor on the whole loss (1.0 officially).
        target_sigma: 0 → one-hot targets (official). > 0 → a coordinate target ``y`` becomes the
            distribution ``q_c ∝ exp(-(c - y)² / 2σ²)`` over the coordinate bins (σ in bins) and the
            loss is the weighted soft cross-entropy ``Σ_i w[y_i] · (-Σ_c q_ic log p_ic) / Σ_i w[y_i]``;
            END / START targets stay one-hot.
    """

    def __init__(
        self, bins: int, special_token_weight: float = 0.01, ce_weight: float = 1.0, target_sigma: float = 0.0
    ) -> None:
        super().__init__()
        if target_sigma < 0:
            raise ValueError(f"target_sigma must be >= 0, got {target_sigma}")
        self.bins = bins
        self.ce_weight = ce_weight
        self.target_sigma = float(target_sigma)
        # A buffer so that it follows the module to the training device; not part of any checkpoint.
        self.register_buffer("weight", class_weights(bins, special_token_weight), persistent=False)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Scalar loss.

        Args:
            logits: ``(B, L, bins + 2)`` (any float dtype; computed in float32 for AMP safety).
            targets: ``(B, L)`` int64 class ids, ``[t1..t4, END]``.
        Returns:
            ``()`` float32 loss.
        """
        flat = logits.reshape(-1, logits.shape[-1]).float()
        labels = targets.reshape(-1)
        if self.target_sigma == 0:
            return self.ce_weight * F.cross_entropy(flat, labels, weight=self.weight)
        soft = soft_targets(labels, self.bins, self.target_sigma, flat.shape[-1])  # (N, V)
        per_target = -(soft * F.log_softmax(flat, dim=-1)).sum(dim=-1)  # (N,)
        weights = self.weight[labels]
        return self.ce_weight * (weights * per_target).sum() / weights.sum()


def center_loss(
    center: torch.Tensor, targets: torch.Tensor, bins: int, seq_format: str = "xywh", sigma: float = 0.75
) -> torch.Tensor:
    """Auxiliary loss of the centre head: soft cross-entropy over the search-token grid.

    The target is a Gaussian (std ``sigma`` tokens) around the true box centre, so the token holding
    the centre and its neighbours share the mass by distance.

    Args:
        center: ``(B, g * g)`` scores, row-major over the ``g x g`` search-token grid.
        targets: ``(B, L >= 4)`` int64 coordinate tokens in ``seq_format`` (crop-normalised box).
    Returns:
        ``()`` float32 mean loss.
    """
    from seqtrack.geometry.tokens import tokens_to_box

    grid = math.isqrt(center.shape[-1])
    box = tokens_to_box(targets[:, :4], bins, seq_format).float()  # (B, 4) cxcywh in [0, 1]
    centres = (torch.arange(grid, device=center.device, dtype=torch.float32) + 0.5) / grid  # (g,)
    dy = (centres[None, :] - box[:, 1:2]) * grid  # (B, g), in tokens
    dx = (centres[None, :] - box[:, 0:1]) * grid
    log_q = -0.5 * ((dy[:, :, None] / sigma) ** 2 + (dx[:, None, :] / sigma) ** 2)  # (B, g, g)
    q = torch.softmax(log_q.flatten(1), dim=-1)
    return -(q * F.log_softmax(center.float(), dim=-1)).sum(dim=-1).mean()


def soft_targets(labels: torch.Tensor, bins: int, sigma: float, vocab: int) -> torch.Tensor:
    """``(N, vocab)`` target distributions: a Gaussian over bins ``0..bins-1`` (std ``sigma`` bins,
    renormalised after truncation at the ends) for coordinate labels, one-hot for special tokens."""
    classes = torch.arange(vocab, device=labels.device, dtype=torch.float32)
    is_coord = labels < bins  # (N,)
    distance = classes[None, :] - labels[:, None].float()  # (N, V)
    gauss = torch.exp(-0.5 * (distance / sigma) ** 2) * (classes < bins)[None, :]
    gauss = gauss / gauss.sum(dim=-1, keepdim=True)
    one_hot = F.one_hot(labels, vocab).float()
    return torch.where(is_coord[:, None], gauss, one_hot)


def token_iou(logits: torch.Tensor, targets: torch.Tensor, bins: int, seq_format: str = "xywh") -> torch.Tensor:
    """IoU between the arg-max coordinate tokens and the target tokens (a status number, no gradient).

    Unlike the official status IoU (docs/official-behaviour.md §9.6), the tokens are read in their real format.

    Args:
        logits: ``(B, L >= 4, bins + 2)``; targets: ``(B, L >= 4)`` int64.
    Returns:
        ``(B,)`` float32 IoU of the boxes in crop units.
    """
    from seqtrack.geometry.tokens import tokens_to_box

    with torch.no_grad():
        predicted = logits[:, :4, :bins].argmax(dim=-1)
        a = tokens_to_box(predicted, bins, seq_format)
        b = tokens_to_box(targets[:, :4], bins, seq_format)
        a_lo, a_hi = a[:, :2] - a[:, 2:] / 2, a[:, :2] + a[:, 2:] / 2
        b_lo, b_hi = b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2
        inter = (torch.minimum(a_hi, b_hi) - torch.maximum(a_lo, b_lo)).clamp(min=0).prod(dim=-1)
        union = a[:, 2:].prod(dim=-1) + b[:, 2:].prod(dim=-1) - inter
        return inter / union.clamp(min=1e-12)


__all__ = ["SequenceLoss", "center_loss", "class_weights", "soft_targets", "token_iou"]
