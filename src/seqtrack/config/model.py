"""The network's configuration: encoder, decoder and the whole model, with the named model presets.

Presets ``b256``, ``b384``, ``l256``, ``l384`` are the official SeqTrack networks (docs/official-behaviour.md §0, §1);
``t128`` and ``s128`` are small CPU variants of our design (ViT-Tiny / ViT-Small encoders at 128 px)
for real-time CPU tracking and CPU training.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

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
# Decoder read-out (paper Tab. 4 #2): "autoregressive" one token per step after START (the paper's design),
# "bidirectional" four learned query tokens, no causal mask, all four coordinates in one pass.
Decoding = Literal["autoregressive", "bidirectional"]
DECODINGS: tuple[Decoding, ...] = get_args(Decoding)
# Encoder layout (paper Tab. 4 #3): "joint" one ViT pass over search + templates (the paper's design),
# "separate" the same ViT run on the search crop and on each template alone (Siamese).
Encoding = Literal["joint", "separate"]
ENCODINGS: tuple[Encoding, ...] = get_args(Encoding)

NUM_BOX_TOKENS = 4  # coordinates per box in the decoder's sequence

# Crop context of the released networks (crop side / sqrt(box area)), for templates and search alike.
OFFICIAL_CROP_FACTOR = 4.0

# Upper bounds of the network's shape. A config also comes from a weights file's metadata, where a depth of
# 10^7 would run for hours and a zero or negative value would crash or silently mistrack, so every field is
# range-checked on construction. Each bound leaves a wide margin over the largest preset (l384: 1024 wide,
# 24 blocks, 16 heads, 384 px, 1728 encoder tokens, 4000 bins) and the demo model.
MAX_WIDTH = 2048  # embed_dim, hidden_dim (ViT-L: 1024, ViT-g: 1408)
MAX_DEPTH = 64  # encoder blocks, decoder layers
MAX_HEADS = 64
MAX_FEEDFORWARD = 4 * MAX_WIDTH
MAX_PATCH = 64
MAX_IMAGE_SIZE = 2048  # template_size, search_size (pixels)
MAX_TEMPLATES = 16
MAX_TOKENS = 8192  # encoder sequence: search tokens + num_templates x template tokens
BINS_RANGE = (2, 100_000)
MAX_FACTOR = 32.0  # template_factor, search_factor
MAX_NAME_LENGTH = 64
MAX_TEMPORAL_FRAMES = 16  # temporal_frames: past boxes given to the decoder (the paper's Tab. 5 uses 4)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_int(name: str, value: Any, low: int, high: int) -> None:
    """Refuse a field that is not an int (bools are not) in ``[low, high]``: one `InputError` naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


def check_float(
    name: str, value: Any, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> None:
    """Refuse a field that is not a finite number in the interval (open or closed at either end)."""
    ok = _number(value) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise InputError(f"{name} must be a finite number in {interval}, got {value!r}")


def _check_heads(name: str, heads: Any, width: int) -> None:
    check_int(name, heads, 1, MAX_HEADS)
    if width % heads:
        raise InputError(f"{name} {heads} does not divide the width {width}")


@dataclass
class EncoderConfig:
    """Plain ViT encoder (joint attention over search + template tokens).

    Ranges (checked on construction, `InputError` naming the field): ``embed_dim`` in [1, 2048] (a multiple
    of 8 with the conv stem), ``depth`` in [1, 64], ``num_heads`` in [1, 64] dividing ``embed_dim``,
    ``mlp_ratio`` in (0, 16], ``patch_size`` in [1, 64], ``norm_eps`` in (0, 1], ``drop_path`` in [0, 1).
    """

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

    def __post_init__(self) -> None:
        check_int("embed_dim", self.embed_dim, 1, MAX_WIDTH)
        check_int("depth", self.depth, 1, MAX_DEPTH)
        _check_heads("num_heads", self.num_heads, self.embed_dim)
        check_float("mlp_ratio", self.mlp_ratio, 0.0, 16.0, low_open=True)
        check_int("patch_size", self.patch_size, 1, MAX_PATCH)
        check_float("norm_eps", self.norm_eps, 0.0, 1.0, low_open=True)
        check_float("drop_path", self.drop_path, 0.0, 1.0, high_open=True)
        if self.stem == "conv" and self.embed_dim % 8:  # its first convolution is embed_dim / 8 wide
            raise InputError(f"embed_dim {self.embed_dim} must be a multiple of 8 with the conv stem")


@dataclass
class DecoderConfig:
    """DETR-style causal transformer decoder (post-norm by default, as released).

    Ranges (checked on construction): ``hidden_dim`` in [1, 2048], ``num_heads`` in [1, 64] dividing
    ``hidden_dim``, ``num_layers`` in [1, 64], ``dim_feedforward`` in [1, 8192], ``dropout`` in [0, 1),
    ``norm_eps`` in (0, 1].
    """

    hidden_dim: int = 256
    num_heads: int = 8
    num_layers: int = 2
    dim_feedforward: int = 1024
    dropout: float = 0.1
    pre_norm: bool = False
    norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        check_int("hidden_dim", self.hidden_dim, 1, MAX_WIDTH)
        _check_heads("num_heads", self.num_heads, self.hidden_dim)
        check_int("num_layers", self.num_layers, 1, MAX_DEPTH)
        check_int("dim_feedforward", self.dim_feedforward, 1, MAX_FEEDFORWARD)
        check_float("dropout", self.dropout, 0.0, 1.0, high_open=True)
        check_float("norm_eps", self.norm_eps, 0.0, 1.0, low_open=True)


@dataclass
class ModelConfig:
    """Everything that fixes the network's shape.

    ``feature_type`` chooses the decoder memory: ``"x"`` search tokens only (released models), ``"xz"``
    all encoder tokens (search then templates), ``"token"`` the mean of all tokens (one memory token).
    ``seq_format`` is the token order: ``"xywh"`` = (cx, cy, w, h) (official name), ``"whxy"``, ``"corner"``.
    ``encoder`` and ``decoder`` may be given as dicts of their fields (checked against their types).

    Ranges (checked on construction, one `InputError` naming the field): ``template_size`` and
    ``search_size`` multiples of the patch size in [patch size, 2048], at most 8192 encoder tokens in all
    (search + ``num_templates`` x template patches), ``num_templates`` in [1, 16], ``bins`` in [2, 100000],
    ``template_factor`` and ``search_factor`` finite in (0, 32], ``name`` 1 to 64 printable characters (it
    reaches terminals: no control or bidirectional-override characters), ``temporal_frames`` in [0, 16].

    Ablations of the paper (defaults = the paper's baseline, the official network):
    ``decoding`` ``"autoregressive"`` or ``"bidirectional"`` (Tab. 4 #2: four learned query tokens
    ``decoder.embedding.query_embeddings``, no causal mask, one pass); ``encoding`` ``"joint"`` or
    ``"separate"`` (Tab. 4 #3: the shared ViT encodes the search crop and each template alone; needs
    ``feature_type`` ``"xz"`` or ``"token"``, else the decoder would never see the template);
    ``temporal_frames`` K (Tab. 5): the decoder input starts with the target's boxes in the K previous frames
    as ``4 K`` tokens (oldest first, normalised to the current search crop), visible to every generated token.
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
    decoding: Decoding = "autoregressive"
    encoding: Encoding = "joint"
    temporal_frames: int = 0

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
        self._check_ranges()

    def _check_ranges(self) -> None:
        patch = self.encoder.patch_size
        for size_name in ("template_size", "search_size"):
            check_int(size_name, getattr(self, size_name), patch, MAX_IMAGE_SIZE)
            if getattr(self, size_name) % patch:
                raise InputError(f"{size_name} {getattr(self, size_name)} is not a multiple of the patch size {patch}")
        check_int("num_templates", self.num_templates, 1, MAX_TEMPLATES)
        tokens = self.num_search_tokens + self.num_templates * self.num_template_tokens
        if tokens > MAX_TOKENS:
            raise InputError(
                f"search_size {self.search_size} and {self.num_templates} templates of template_size "
                f"{self.template_size} make {tokens} encoder tokens at patch size {patch}; at most {MAX_TOKENS}"
            )
        check_int("bins", self.bins, *BINS_RANGE)
        for factor_name in ("template_factor", "search_factor"):
            check_float(factor_name, getattr(self, factor_name), 0.0, MAX_FACTOR, low_open=True)
        if not isinstance(self.name, str) or not 1 <= len(self.name) <= MAX_NAME_LENGTH or not self.name.isprintable():
            raise InputError(f"name must be 1 to {MAX_NAME_LENGTH} printable characters, got {str(self.name)[:80]!r}")
        if not isinstance(self.center_head, bool):
            raise InputError(f"center_head must be true or false, got {self.center_head!r}")
        self._check_ablations()

    def _check_ablations(self) -> None:
        if self.decoding not in DECODINGS:
            raise InputError(f"decoding must be one of {DECODINGS}, got {self.decoding!r}")
        if self.encoding not in ENCODINGS:
            raise InputError(f"encoding must be one of {ENCODINGS}, got {self.encoding!r}")
        if self.encoding == "separate" and self.feature_type == "x":
            # With search tokens only as memory, a separately encoded search crop never meets the template.
            raise InputError(
                "encoding 'separate' needs feature_type 'xz' or 'token' (with feature_type 'x' the decoder "
                "would never see the template)"
            )
        check_int("temporal_frames", self.temporal_frames, 0, MAX_TEMPORAL_FRAMES)

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
    def num_decoder_positions(self) -> int:
        """Rows of the decoder position table: ``4 K`` history tokens, then START and the four coordinates
        (autoregressive, 5 by default) or the four query tokens (bidirectional)."""
        inputs = NUM_BOX_TOKENS + 1 if self.decoding == "autoregressive" else NUM_BOX_TOKENS
        return NUM_BOX_TOKENS * self.temporal_frames + inputs

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
