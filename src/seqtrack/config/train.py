"""The training recipe: the official ``TRAIN`` and ``DATA`` blocks (docs/official-behaviour.md §5) and our additions."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, get_args

from seqtrack.config.check import ConfigError

# Mixed precision: "off" (float32), "fp16" (GPUs only, with loss scaling), "bf16" (GPUs and CPUs, no scaling).
AmpMode = Literal["off", "fp16", "bf16"]
AMP_MODES: tuple[AmpMode, ...] = get_args(AmpMode)

# Counts: the smallest value each may take (an epoch count of -1 used to "finish" a run with no weights).
_AT_LEAST = {
    "samples_per_epoch": 1,
    "max_sample_interval": 1,
    "batch_size": 1,
    "epochs": 1,
    "lr_drop_epoch": 1,  # StepLR divides by it
    "save_every": 1,
    "num_workers": 0,
    "seed": 0,  # NumPy's generators refuse negative seeds
}
# Seeds feed NumPy's 32-bit legacy seeding with the rank added: leave room for any number of ranks.
_MAX_SEED = 2**31 - 1
# Real values: (lowest, highest, lowest allowed itself?). NaN and infinities are refused everywhere.
# The ranges are generous: they exist to catch typos and signs, not to second-guess a recipe.
_RANGES: dict[str, tuple[float, float, bool]] = {
    "lr": (0.0, math.inf, False),
    "weight_decay": (0.0, math.inf, True),
    "encoder_lr_multiplier": (-math.inf, math.inf, True),  # <= 0 freezes the encoder (`encoder_frozen`)
    "lr_drop_gamma": (0.0, 1.0, False),
    "grad_clip_norm": (-math.inf, math.inf, True),  # <= 0: no clipping
    "ce_weight": (0.0, math.inf, True),
    "special_token_weight": (0.0, math.inf, True),
    "target_sigma": (0.0, math.inf, True),
    "center_loss_weight": (0.0, math.inf, True),
    "center_sigma": (0.0, math.inf, False),
    "search_center_jitter": (0.0, 16.0, True),
    "template_center_jitter": (0.0, 16.0, True),
    "search_scale_jitter": (0.0, 2.0, True),  # sizes x exp(N(0, 1) x jitter): 2 is already x55 at 2 sigma
    "template_scale_jitter": (0.0, 2.0, True),
    "search_factor": (1.0, 16.0, True),  # crop side / target side, as the tracker's lost_search_factor
    "template_factor": (1.0, 16.0, True),
    "history_jitter": (0.0, 1.0, True),  # std relative to the box size: 1 already moves it by its own size
}


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
    # Only for a model with temporal tokens (model.temporal_frames > 0, Tab. 5): the error given to the
    # training history boxes (std of the centre offset and of the log size, relative to the box size),
    # because at test time the history is the tracker's own predictions, not the ground truth. 0 = exact.
    history_jitter: float = 0.05
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

    def __post_init__(self) -> None:
        # Ranges the field types cannot say. Each error names the field (``train.lr``), so that the YAML,
        # ``--set`` and the official translation can say where the value came from; nothing has been
        # written when it is raised (configs are built before any run folder).
        for name, lowest in _AT_LEAST.items():
            value = getattr(self, name)
            if value < lowest:
                raise ConfigError("", f"train.{name}", f"must be at least {lowest}, got {value}")
        if self.seed > _MAX_SEED:
            raise ConfigError("", "train.seed", f"must be at most {_MAX_SEED}, got {self.seed}")
        for name, (low, high, closed) in _RANGES.items():
            _check_range(name, getattr(self, name), low, high, closed)
        for index, ratio in enumerate(self.dataset_ratios):
            if not math.isfinite(ratio) or ratio < 0:
                raise ConfigError("", f"train.dataset_ratios[{index}]", f"must be a finite number >= 0, got {ratio}")
        if self.dataset_ratios and not any(self.dataset_ratios):
            raise ConfigError("", "train.dataset_ratios", "at least one ratio must be above 0")


def _check_range(name: str, value: float, low: float, high: float, closed: bool) -> None:
    """Refuse a non-finite ``value`` or one outside ``[low, high]`` (``(low, high]`` when not ``closed``)."""
    inside = math.isfinite(value) and (value >= low if closed else value > low) and value <= high
    if inside:
        return
    if not math.isfinite(value):
        detail = f"must be a finite number, got {value}"
    elif math.isinf(high):
        detail = f"must be {'>=' if closed else '>'} {low:g}, got {value}"
    else:
        detail = f"must be in {'[' if closed else '('}{low:g}, {high:g}], got {value}"
    raise ConfigError("", f"train.{name}", detail)
