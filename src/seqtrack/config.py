"""Typed configurations: model, tracker (inference) and training, with named presets and YAML I/O.

Presets ``b256``, ``b384``, ``l256``, ``l384`` are the official SeqTrack networks (spec §0, §1);
``t128`` and ``s128`` are small CPU variants of our design (ViT-Tiny / ViT-Small encoders at 128 px)
for real-time CPU tracking and CPU training.

`read_official_yaml` turns an official experiment file (``experiments/seqtrack/seqtrack_b256.yaml``:
``MODEL`` / ``DATA`` / ``TRAIN`` / ``TEST`` blocks) into the same `ExperimentConfig`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seqtrack.errors import InputError

FEATURE_TYPES = ("x", "xz", "token")
# Token orders (official names): "xywh" = (cx, cy, w, h), "whxy" = (w, h, cx, cy), "corner" = (x1, y1, x2, y2).
SEQ_FORMATS: tuple[str, ...] = ("xywh", "whxy", "corner")
AMP_MODES: tuple[str, ...] = ("off", "fp16", "bf16")


ENCODER_STEMS = ("patch", "conv")


@dataclass
class EncoderConfig:
    """Plain ViT encoder (joint attention over search + template tokens)."""

    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    patch_size: int = 16
    # "patch": one strided conv (official). "conv": a stack of 3x3 stride-2 convs (BatchNorm, ReLU) then a
    # 1x1 projection, the "early convolutions" stem: far faster to train from scratch, ~20 % more FLOPs at
    # ViT-Tiny width. Not in any official checkpoint; used by the demo model.
    stem: str = "patch"
    qkv_bias: bool = True
    norm_eps: float = 1e-6
    drop_path: float = 0.0


@dataclass
class DecoderConfig:
    """DETR-style causal transformer decoder (post-norm by default, as released)."""

    hidden_dim: int = 256
    num_heads: int = 8
    num_layers: int = 2
    dim_feedforward: int = 1024
    dropout: float = 0.1
    pre_norm: bool = False
    norm_eps: float = 1e-5


@dataclass
class ModelConfig:
    """Everything that fixes the network's shape.

    ``feature_type`` chooses the decoder memory: ``"x"`` search tokens only (released models), ``"xz"``
    all encoder tokens (search then templates), ``"token"`` the mean of all tokens (one memory token).
    ``seq_format`` is the token order: ``"xywh"`` = (cx, cy, w, h) (official name), ``"whxy"``, ``"corner"``.
    """

    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    template_size: int = 256
    search_size: int = 256
    num_templates: int = 2
    feature_type: str = "x"
    bins: int = 4000
    seq_format: str = "xywh"
    name: str = "custom"
    # Crop context the network was trained with (crop side / sqrt(box area)); the tracker uses these
    # unless its own config says otherwise. Set from the train block when training (4.0 officially).
    template_factor: float = 4.0
    search_factor: float = 4.0
    # Training-only auxiliary head (not in the paper or the official code): one linear score per search
    # token, trained (train.center_loss_weight) to point at the token holding the target centre. Dense
    # supervision that teaches a from-scratch encoder to mark the target for the decoder to read; the
    # tracker never runs it. False = no extra parameters (official state dict).
    center_head: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.encoder, dict):
            self.encoder = EncoderConfig(**self.encoder)
        if isinstance(self.decoder, dict):
            self.decoder = DecoderConfig(**self.decoder)
        if self.feature_type not in FEATURE_TYPES:
            raise InputError(f"feature_type must be one of {FEATURE_TYPES}, got {self.feature_type!r}")
        if self.seq_format not in SEQ_FORMATS:
            raise InputError(f"seq_format must be one of {SEQ_FORMATS}, got {self.seq_format!r}")
        if self.encoder.stem not in ENCODER_STEMS:
            raise InputError(f"encoder.stem must be one of {ENCODER_STEMS}, got {self.encoder.stem!r}")
        if self.encoder.stem == "conv" and self.encoder.patch_size != 16:
            raise InputError(f"encoder.stem 'conv' needs patch_size 16 (four stride-2 convs), got {self.encoder.patch_size}")
        for size_name in ("template_size", "search_size"):
            if getattr(self, size_name) % self.encoder.patch_size:
                raise InputError(f"{size_name} {getattr(self, size_name)} is not a multiple of the patch size")

    @property
    def num_search_tokens(self) -> int:
        """Nx: patches of the search image."""
        return (self.search_size // self.encoder.patch_size) ** 2

    @property
    def num_template_tokens(self) -> int:
        """Nz: patches of one template image."""
        return (self.template_size // self.encoder.patch_size) ** 2

    @property
    def num_memory_tokens(self) -> int:
        """Length of the decoder memory (rows of the top-level ``pos_embed``)."""
        if self.feature_type == "x":
            return self.num_search_tokens
        if self.feature_type == "xz":
            return self.num_search_tokens + self.num_templates * self.num_template_tokens
        return 1

    @property
    def vocab_size(self) -> int:
        return self.bins + 2


@dataclass
class UpdatePolicy:
    """When the dynamic template is replaced: ``frame % interval == 0 and score > threshold``."""

    interval: int = 9999
    threshold: float = 0.6


# Official per-benchmark update settings (spec §4.4): data, not if-chains.
UPDATE_PRESETS: dict[str, UpdatePolicy] = {
    "default": UpdatePolicy(9999, 0.6),
    "lasot": UpdatePolicy(450, 0.6),
    "lasot_extension_subset": UpdatePolicy(9999, 0.6),
    "got10k_test": UpdatePolicy(1, 0.6),
    "trackingnet": UpdatePolicy(25, 0.6),
    "tnl2k": UpdatePolicy(25, 0.6),
    "otb": UpdatePolicy(9999, 0.6),
    "nfs": UpdatePolicy(9999, 0.6),
    "uav": UpdatePolicy(9999, 0.6),
    "vot20": UpdatePolicy(10, 0.475),
    "vot21": UpdatePolicy(10, 0.475),
    "vot22": UpdatePolicy(10, 0.475),
}

# Per-model overrides of the VOT entries in the released yamls (spec §4.4).
_VOT_OVERRIDES = {"b256": UpdatePolicy(1, 0.55), "b384": UpdatePolicy(20, 0.45)}


def update_presets_for(model_name: str) -> dict[str, UpdatePolicy]:
    """The update presets of a released model (the VOT entries differ for b256 and b384)."""
    presets = dict(UPDATE_PRESETS)
    override = _VOT_OVERRIDES.get(model_name)
    if override is not None:
        for key in ("vot20", "vot21", "vot22"):
            presets[key] = override
    return presets


@dataclass
class TrackerConfig:
    """Online tracking settings (the official ``TEST`` block)."""

    # None → the factors the network was trained with (`ModelConfig`; 4.0 for the released models).
    template_factor: float | None = None
    search_factor: float | None = None
    window: bool = True
    update_interval: int = 9999
    update_threshold: float = 0.6
    clip_margin: float = 10.0
    # Not in the official tracker (its behaviour is the default): weight of the predicted size against
    # the previous one (geometric blend; 1 = take the prediction), and a confidence (0..40) below which
    # the previous box is kept (0 = never).
    size_smoothing: float = 1.0
    hold_score: float = 0.0
    # Power of the Hann window on the centre tokens (1 = official; larger = stronger pull towards the
    # previous position, against look-alikes; used only while `window` is on).
    window_power: float = 1.0
    # Re-detection: after `lost_after` consecutive frames scoring below `lost_score`, search a wider crop
    # (`lost_search_factor` x the target size instead of `search_factor`) until the score recovers.
    # None = off (official).
    lost_search_factor: float | None = None
    lost_after: int = 3
    lost_score: float = 1.0
    update_presets: dict[str, UpdatePolicy] = field(default_factory=lambda: dict(UPDATE_PRESETS))

    def __post_init__(self) -> None:
        if not 0.0 < float(self.size_smoothing) <= 1.0:
            raise InputError(f"size_smoothing must be in (0, 1] (1 = official), got {self.size_smoothing}")
        if not 0.0 <= float(self.hold_score) <= 40.0:
            raise InputError(f"hold_score must be in [0, 40] (0 = official), got {self.hold_score}")
        if not 0.0 < float(self.window_power) <= 16.0:
            raise InputError(f"window_power must be in (0, 16] (1 = official), got {self.window_power}")
        if self.lost_search_factor is not None and not 1.0 <= float(self.lost_search_factor) <= 16.0:
            raise InputError(f"lost_search_factor must be in [1, 16] (None = off), got {self.lost_search_factor}")
        if int(self.lost_after) < 1:
            raise InputError(f"lost_after must be >= 1 frame, got {self.lost_after}")
        if not 0.0 <= float(self.lost_score) <= 40.0:
            raise InputError(f"lost_score must be in [0, 40], got {self.lost_score}")
        self.update_presets = {
            k: (UpdatePolicy(**v) if isinstance(v, dict) else v) for k, v in self.update_presets.items()
        }

    def with_updates(self, preset: str | None = None, interval: int | None = None,
                     threshold: float | None = None) -> "TrackerConfig":
        """A copy with the update policy of a named preset, then explicit overrides applied."""
        config = dataclasses.replace(self)
        if preset is not None:
            key = preset.lower()
            if key not in self.update_presets:
                known = ", ".join(sorted(self.update_presets))
                raise InputError(f"unknown update preset {preset!r}; known presets: {known}")
            config.update_interval = self.update_presets[key].interval
            config.update_threshold = self.update_presets[key].threshold
        if interval is not None:
            if interval < 1:
                raise InputError(f"update interval must be >= 1, got {interval}")
            config.update_interval = interval
        if threshold is not None:
            config.update_threshold = threshold
        return config


@dataclass
class TrainConfig:
    """Training recipe (official ``TRAIN`` + ``DATA`` blocks, spec §5)."""

    datasets: list[str] = field(default_factory=lambda: ["LASOT", "GOT10K_vottrain", "COCO17", "TRACKINGNET"])
    dataset_ratios: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0, 1.0])
    samples_per_epoch: int = 60000
    max_sample_interval: int = 400
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
    amp: str = "off"  # off | fp16 | bf16
    grad_checkpointing: bool = False
    seed: int = 0
    save_every: int = 10


@dataclass
class ExperimentConfig:
    """A whole experiment: the network, how it tracks and how it trains."""

    model: ModelConfig = field(default_factory=ModelConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):
            self.model = ModelConfig(**self.model)
        if isinstance(self.tracker, dict):
            self.tracker = TrackerConfig(**self.tracker)
        if isinstance(self.train, dict):
            self.train = TrainConfig(**self.train)
        if self.train.center_loss_weight > 0 and not self.model.center_head:
            raise InputError("train.center_loss_weight > 0 needs model.center_head: true")
        # The network is what the train block's crops made it: record them where checkpoints keep them.
        self.model.template_factor = float(self.train.template_factor)
        self.model.search_factor = float(self.train.search_factor)


# ---------------------------------------------------------------------------------------------
# Presets

_VIT_B = dict(embed_dim=768, depth=12, num_heads=12)
_VIT_L = dict(embed_dim=1024, depth=24, num_heads=16)


def _official(name: str, vit: dict, size: int) -> ModelConfig:
    return ModelConfig(encoder=EncoderConfig(**vit), decoder=DecoderConfig(), template_size=size,
                       search_size=size, name=name)


MODEL_PRESETS: dict[str, ModelConfig] = {
    "b256": _official("b256", _VIT_B, 256),
    "b384": _official("b384", _VIT_B, 384),
    "l256": _official("l256", _VIT_L, 256),
    "l384": _official("l384", _VIT_L, 384),
    # Small CPU variants: ViT-Tiny / ViT-Small widths at 128 px (64 search + 2 x 64 template tokens).
    "t128": ModelConfig(encoder=EncoderConfig(embed_dim=192, depth=12, num_heads=3),
                        decoder=DecoderConfig(hidden_dim=128, num_heads=4, dim_feedforward=512),
                        template_size=128, search_size=128, name="t128"),
    "s128": ModelConfig(encoder=EncoderConfig(embed_dim=384, depth=12, num_heads=6),
                        decoder=DecoderConfig(hidden_dim=256, num_heads=8, dim_feedforward=1024),
                        template_size=128, search_size=128, name="s128"),
}


def model_preset(name: str) -> ModelConfig:
    """A fresh copy of a named model preset (``b256``, ``b384``, ``l256``, ``l384``, ``t128``, ``s128``)."""
    key = name.lower().removeprefix("seqtrack_")
    if key not in MODEL_PRESETS:
        raise InputError(f"unknown model preset {name!r}; known presets: {', '.join(MODEL_PRESETS)}")
    return dataclasses.replace(MODEL_PRESETS[key],
                               encoder=dataclasses.replace(MODEL_PRESETS[key].encoder),
                               decoder=dataclasses.replace(MODEL_PRESETS[key].decoder))


def experiment_preset(name: str) -> ExperimentConfig:
    """Model preset plus the official tracker settings for that model."""
    model = model_preset(name)
    return ExperimentConfig(model=model, tracker=TrackerConfig(update_presets=update_presets_for(model.name)))


# ---------------------------------------------------------------------------------------------
# YAML

def to_dict(config: Any) -> dict:
    """Plain nested dict of a config dataclass (YAML/JSON friendly)."""
    return dataclasses.asdict(config)


def model_config_from_dict(data: dict) -> ModelConfig:
    """Rebuild a `ModelConfig` from `to_dict` output, rejecting unknown keys by name."""
    return _build(ModelConfig, data, "model")


def _build(cls, data: dict, where: str):
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise InputError(f"unknown key(s) in {where} config: {', '.join(unknown)}")
    kwargs = {}
    for key, value in data.items():
        if key in ("encoder", "decoder") and cls is ModelConfig:
            value = _build(EncoderConfig if key == "encoder" else DecoderConfig, value, f"{where}.{key}")
        elif key == "model" and cls is ExperimentConfig:
            value = _build(ModelConfig, value, "model")
        elif key == "tracker" and cls is ExperimentConfig:
            value = _build(TrackerConfig, value, "tracker")
        elif key == "train" and cls is ExperimentConfig:
            value = _build(TrainConfig, value, "train")
        kwargs[key] = value
    return cls(**kwargs)


def save_yaml(config: ExperimentConfig | ModelConfig, path: str | Path) -> None:
    """Write a config as YAML (our own layout: ``model`` / ``tracker`` / ``train`` sections)."""
    Path(path).write_text(yaml.safe_dump(to_dict(config), sort_keys=False))


def load_yaml(path: str | Path) -> ExperimentConfig:
    """Read an experiment YAML: our own layout, or an official one (``MODEL``/``DATA``/``TEST`` blocks).

    A file may also start from a preset: ``preset: b256`` then override any section.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise InputError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} must hold a mapping at the top level")
    if "MODEL" in data or "TEST" in data:
        return official_yaml_to_config(data, name=path.stem)
    preset = data.pop("preset", None)
    base = to_dict(experiment_preset(preset)) if preset else {}
    merged = _deep_merge(base, data)
    try:
        return _build(ExperimentConfig, merged, str(path))
    except TypeError as error:
        raise InputError(f"{path}: {error}") from None


def _deep_merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "update_presets":
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


_ENCODER_TYPES = {
    "vit_base_patch16": _VIT_B,
    "vit_large_patch16": _VIT_L,
    "vit_huge_patch14": dict(embed_dim=1280, depth=32, num_heads=16, patch_size=14),
}


def official_yaml_to_config(data: dict, name: str = "official") -> ExperimentConfig:
    """Translate an official SeqTrack experiment dict (``MODEL``, ``DATA``, ``TRAIN``, ``TEST``).

    Missing keys take the official config.py defaults (which differ from the yamls: e.g. 6 decoder
    layers, 1 template, window off), exactly as the official code merges them.
    """
    m, d, tr, te = (data.get(k) or {} for k in ("MODEL", "DATA", "TRAIN", "TEST"))
    enc, dec = m.get("ENCODER") or {}, m.get("DECODER") or {}
    enc_type = enc.get("TYPE", "vit_base_patch16")
    if enc_type not in _ENCODER_TYPES:
        raise InputError(f"unsupported MODEL.ENCODER.TYPE {enc_type!r}")
    template, search = d.get("TEMPLATE") or {}, d.get("SEARCH") or {}
    if int(search.get("NUMBER", 1)) != 1:
        raise InputError("DATA.SEARCH.NUMBER other than 1 is not supported (nor by the official code)")
    template_size = int(te.get("TEMPLATE_SIZE", template.get("SIZE", 256)))
    search_size = int(te.get("SEARCH_SIZE", search.get("SIZE", 256)))
    model = ModelConfig(
        encoder=EncoderConfig(**_ENCODER_TYPES[enc_type], drop_path=float(enc.get("DROP_PATH", 0.0))),
        decoder=DecoderConfig(
            hidden_dim=int(m.get("HIDDEN_DIM", 256)), num_heads=int(dec.get("NHEADS", 8)),
            num_layers=int(dec.get("DEC_LAYERS", 6)), dim_feedforward=int(dec.get("DIM_FEEDFORWARD", 1024)),
            dropout=float(dec.get("DROPOUT", 0.1)), pre_norm=bool(dec.get("PRE_NORM", False))),
        template_size=template_size, search_size=search_size,
        num_templates=int(te.get("NUM_TEMPLATES", template.get("NUMBER", 1))),
        feature_type=str(m.get("FEATURE_TYPE", "x")), bins=int(m.get("BINS", 4000)),
        seq_format=str(d.get("SEQ_FORMAT", "xywh")), name=name.lower().removeprefix("seqtrack_"))
    presets = {k: dataclasses.replace(v) for k, v in UPDATE_PRESETS.items()}
    for key, interval in (te.get("UPDATE_INTERVALS") or {}).items():
        presets.setdefault(key.lower(), UpdatePolicy()).interval = int(interval)
    for key, threshold in (te.get("UPDATE_THRESHOLD") or {}).items():
        presets.setdefault(key.lower(), UpdatePolicy()).threshold = float(threshold)
    default = presets["default"]
    tracker = TrackerConfig(template_factor=float(te.get("TEMPLATE_FACTOR", 4.0)),
                            search_factor=float(te.get("SEARCH_FACTOR", 4.0)),
                            window=bool(te.get("WINDOW", False)), update_interval=default.interval,
                            update_threshold=default.threshold, update_presets=presets)
    train_block = d.get("TRAIN") or {}
    sched = tr.get("SCHEDULER") or {}
    train = TrainConfig(
        datasets=list(train_block.get("DATASETS_NAME", TrainConfig().datasets)),
        dataset_ratios=[float(r) for r in train_block.get("DATASETS_RATIO", [1.0] * 4)],
        samples_per_epoch=int(train_block.get("SAMPLE_PER_EPOCH", 60000)),
        max_sample_interval=int(d.get("MAX_SAMPLE_INTERVAL", 200)),
        sampler_mode=str(d.get("SAMPLER_MODE", "order")),
        search_center_jitter=float(search.get("CENTER_JITTER", 3.5)),
        search_scale_jitter=float(search.get("SCALE_JITTER", 0.5)),
        template_center_jitter=float(template.get("CENTER_JITTER", 0.0)),
        template_scale_jitter=float(template.get("SCALE_JITTER", 0.0)),
        search_factor=float(search.get("FACTOR", 4.0)), template_factor=float(template.get("FACTOR", 4.0)),
        batch_size=int(tr.get("BATCH_SIZE", 16)), epochs=int(tr.get("EPOCH", 500)), lr=float(tr.get("LR", 1e-4)),
        encoder_lr_multiplier=float(tr.get("ENCODER_MULTIPLIER", 0.1)),
        weight_decay=float(tr.get("WEIGHT_DECAY", 1e-4)), lr_drop_epoch=int(tr.get("LR_DROP_EPOCH", 400)),
        lr_drop_gamma=float(sched.get("DECAY_RATE", 0.1)), grad_clip_norm=float(tr.get("GRAD_CLIP_NORM", 0.1)),
        ce_weight=float(tr.get("CE_WEIGHT", 1.0)), freeze_encoder=bool(tr.get("FREEZE_ENCODER", False)),
        num_workers=int(tr.get("NUM_WORKER", 8)), amp="fp16" if tr.get("AMP") else "off")
    return ExperimentConfig(model=model, tracker=tracker, train=train)
