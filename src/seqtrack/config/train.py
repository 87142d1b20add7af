"""The training recipe: the official ``TRAIN`` and ``DATA`` blocks (docs/official-behaviour.md §5) and our additions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

# Mixed precision: "off" (float32), "fp16" (GPUs only, with loss scaling), "bf16" (GPUs and CPUs, no scaling).
AmpMode = Literal["off", "fp16", "bf16"]
AMP_MODES: tuple[AmpMode, ...] = get_args(AmpMode)


@dataclass
class TrainConfig:
    """Training recipe (official ``TRAIN`` + ``DATA`` blocks, docs/official-behaviour.md §5)."""

    datasets: list[str] = field(default_factory=lambda: ["LASOT", "GOT10K_vottrain", "COCO17", "TRACKINGNET"])
    dataset_ratios: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0, 1.0])
    samples_per_epoch: int = 60000
    max_sample_interval: int = 400
    # A plain string, not a Literal: official files may name other modes; building the datasets refuses
    # all but "order", the released one (`seqtrack.train.datasets`).
    sampler_mode: str = "order"
    search_center_jitter: float = 3.5
    search_scale_jitter: float = 0.5
    template_center_jitter: float = 0.0
    template_scale_jitter: float = 0.0
    search_factor: float = 4.0
    template_factor: float = 4.0
    batch_size: int = 16
    epochs: int = 500
    lr: float = 1e-4
    encoder_lr_multiplier: float = 0.1
    weight_decay: float = 1e-4
    lr_drop_epoch: int = 400
    lr_drop_gamma: float = 0.1
    grad_clip_norm: float = 0.1
    ce_weight: float = 1.0
    special_token_weight: float = 0.01
    # > 0: each coordinate target becomes a Gaussian over the bins (std in bins) instead of one-hot, so a
    # near miss costs less than a far one. 0 = the official hard targets. Used by the demo model.
    target_sigma: float = 0.0
    # Weight of the auxiliary centre loss (needs model.center_head; see ModelConfig). 0 = official loss only.
    center_loss_weight: float = 0.0
    center_sigma: float = 0.75  # std of its Gaussian target, in search tokens
    freeze_encoder: bool = False
    num_workers: int = 8
    amp: AmpMode = "off"
    grad_checkpointing: bool = False
    seed: int = 0
    save_every: int = 10
