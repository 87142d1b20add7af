"""The network's configuration: encoder, decoder and the whole model, with the named model presets.

Presets ``b256``, ``b384``, ``l256``, ``l384`` are the official SeqTrack networks (docs/official-behaviour.md §0, §1);
``t128`` and ``s128`` are small CPU variants of our design (ViT-Tiny / ViT-Small encoders at 128 px)
for real-time CPU tracking and CPU training.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal, get_args

from seqtrack.config.check import build_config
from seqtrack.errors import InputError

# Decoder memory: "x" search tokens only (released models), "xz" all encoder tokens, "token" their mean.
FeatureType = Literal["x", "xz", "token"]
FEATURE_TYPES: tuple[FeatureType, ...] = get_args(FeatureType)
# Token orders (official names): "xywh" = (cx, cy, w, h), "whxy" = (w, h, cx, cy), "corner" = (x1, y1, x2, y2).
SeqFormat = Literal["xywh", "whxy", "corner"]
SEQ_FORMATS: tuple[SeqFormat, ...] = get_args(SeqFormat)
EncoderStem = Literal["patch", "conv"]
ENCODER_STEMS: tuple[EncoderStem, ...] = get_args(EncoderStem)

# Crop context of the released networks (crop side / sqrt(box area)), for templates and search alike.
OFFICIAL_CROP_FACTOR = 4.0


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
    stem: EncoderStem = "patch"
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
    ``encoder`` and ``decoder`` may be given as dicts of their fields (checked against their types).
    """

    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    template_size: int = 256
    search_size: int = 256
    num_templates: int = 2
    feature_type: FeatureType = "x"
    bins: int = 4000
    seq_format: SeqFormat = "xywh"
    name: str = "custom"
    # Crop context the network was trained with (crop side / sqrt(box area)); the tracker uses these
    # unless its own config says otherwise. Set from the train block when training (4.0 officially).
    template_factor: float = OFFICIAL_CROP_FACTOR
    search_factor: float = OFFICIAL_CROP_FACTOR
    # Training-only auxiliary head (not in the paper or the official code): one linear score per search
    # token, trained (train.center_loss_weight) to point at the token holding the target centre. Dense
    # supervision that teaches a from-scratch encoder to mark the target for the decoder to read; the
    # tracker never runs it. False = no extra parameters (official state dict).
    center_head: bool = False

    def __post_init__(self) -> None:
        # Dicts (from YAML or JSON) become their dataclasses, every value checked against its field's type
        # (`build_config`); every value the caller gave is kept.
        if isinstance(self.encoder, dict):
            self.encoder = build_config(EncoderConfig, self.encoder, root="encoder")
        if isinstance(self.decoder, dict):
            self.decoder = build_config(DecoderConfig, self.decoder, root="decoder")
        if self.feature_type not in FEATURE_TYPES:
            raise InputError(f"feature_type must be one of {FEATURE_TYPES}, got {self.feature_type!r}")
        if self.seq_format not in SEQ_FORMATS:
            raise InputError(f"seq_format must be one of {SEQ_FORMATS}, got {self.seq_format!r}")
        if self.encoder.stem not in ENCODER_STEMS:
            raise InputError(f"encoder.stem must be one of {ENCODER_STEMS}, got {self.encoder.stem!r}")
        if self.encoder.stem == "conv" and self.encoder.patch_size != 16:
            raise InputError(
                f"encoder.stem 'conv' needs patch_size 16 (four stride-2 convs), got {self.encoder.patch_size}"
            )
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
        """Token vocabulary: the ``bins`` coordinate bins, then END (``bins``) and START (``bins + 1``)."""
        return self.bins + 2


# ViT widths of the official encoders (`EncoderConfig` fields).
VIT_BASE = dict(embed_dim=768, depth=12, num_heads=12)
VIT_LARGE = dict(embed_dim=1024, depth=24, num_heads=16)


def _official(name: str, vit: dict, size: int) -> ModelConfig:
    return ModelConfig(
        encoder=EncoderConfig(**vit), decoder=DecoderConfig(), template_size=size, search_size=size, name=name
    )


MODEL_PRESETS: dict[str, ModelConfig] = {
    "b256": _official("b256", VIT_BASE, 256),
    "b384": _official("b384", VIT_BASE, 384),
    "l256": _official("l256", VIT_LARGE, 256),
    "l384": _official("l384", VIT_LARGE, 384),
    # Small CPU variants: ViT-Tiny / ViT-Small widths at 128 px (64 search + 2 x 64 template tokens).
    "t128": ModelConfig(
        encoder=EncoderConfig(embed_dim=192, depth=12, num_heads=3),
        decoder=DecoderConfig(hidden_dim=128, num_heads=4, dim_feedforward=512),
        template_size=128,
        search_size=128,
        name="t128",
    ),
    "s128": ModelConfig(
        encoder=EncoderConfig(embed_dim=384, depth=12, num_heads=6),
        decoder=DecoderConfig(hidden_dim=256, num_heads=8, dim_feedforward=1024),
        template_size=128,
        search_size=128,
        name="s128",
    ),
}


def model_preset(name: str) -> ModelConfig:
    """A fresh copy of a named model preset (``b256``, ``b384``, ``l256``, ``l384``, ``t128``, ``s128``)."""
    key = name.lower().removeprefix("seqtrack_")
    if key not in MODEL_PRESETS:
        raise InputError(f"unknown model preset {name!r}; known presets: {', '.join(MODEL_PRESETS)}")
    return dataclasses.replace(
        MODEL_PRESETS[key],
        encoder=dataclasses.replace(MODEL_PRESETS[key].encoder),
        decoder=dataclasses.replace(MODEL_PRESETS[key].decoder),
    )
