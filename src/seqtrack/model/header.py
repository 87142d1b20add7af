"""What a weights file says about itself, read without torch: its format, and for our safetensors files the
tensor shapes, the model config and the tracker settings recommended for those weights.

A safetensors file starts with an 8-byte little-endian length and a JSON header holding every tensor's
dtype and shape and a ``__metadata__`` string map, so ``seqtrack info`` and ``seqtrack models`` answer
from those bytes alone (no torch import, no tensor read).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from seqtrack.config import ModelConfig, TrackerConfig, build_config, model_config_from_dict
from seqtrack.errors import CheckpointError, InputError, safe_text

CONFIG_KEY = "seqtrack_config"  # JSON of the `ModelConfig` (`seqtrack.config.to_dict`)
TRACKER_KEY = "seqtrack_tracker"  # JSON of recommended `TrackerConfig` fields for these weights
_MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit on the JSON header


@dataclass
class WeightsHeader:
    """The self-description of a weights file.

    Attributes:
        path: the file.
        format: ``"safetensors"``, ``"pytorch"`` (official ``.pth.tar``, state dicts: read by torch
            only), or ``"onnx"``.
        config: the stored model config as a plain dict (our safetensors), else None.
        tracker: recommended tracker settings (`TrackerConfig` field -> value), empty when none are stored.
        shapes: tensor name -> shape (safetensors), else None.
    """

    path: Path
    format: str
    config: dict | None = None
    tracker: dict = field(default_factory=dict)
    shapes: dict[str, tuple[int, ...]] | None = None

    @property
    def parameters(self) -> int | None:
        """Number of stored values (the network's parameter count for our files), None if unknown."""
        if self.shapes is None:
            return None
        return sum(math.prod(shape) for shape in self.shapes.values())

    def model_config(self) -> ModelConfig | None:
        """The stored model config, every field's type and range checked (`check_model_config`)."""
        return None if self.config is None else check_model_config(self.config, self.path)

    def tracker_settings(self) -> dict:
        """The recommended tracker settings, checked against `TrackerConfig` (`check_tracker_settings`)."""
        return check_tracker_settings(self.tracker, self.path)


def check_model_config(data: object, path: str | Path) -> ModelConfig:
    """The `ModelConfig` of a file's metadata (a dict from JSON), every field's type and range checked.

    Raises:
        CheckpointError: one line naming the file and the field (printable: see `safe_text`).
    """
    if not isinstance(data, dict):
        raise CheckpointError(safe_text(f"{path}: the model config in its metadata is not a JSON object"))
    try:
        return model_config_from_dict(data)
    except (InputError, TypeError, ValueError) as error:
        raise CheckpointError(safe_text(f"{path}: the model config in its metadata is invalid: {error}")) from None


def check_tracker_settings(settings: object, path: str | Path) -> dict:
    """``settings`` (recommended `TrackerConfig` fields from a file's metadata) if `TrackerConfig` accepts
    them, else one `CheckpointError` naming the file and the field."""
    if not isinstance(settings, dict):
        raise CheckpointError(safe_text(f"{path}: the tracker settings in its metadata are not a JSON object"))
    try:
        build_config(TrackerConfig, settings, root="tracker")
    except (InputError, TypeError, ValueError) as error:
        raise CheckpointError(safe_text(f"{path}: the tracker settings in its metadata are invalid: {error}")) from None
    return dict(settings)


def _json_field(metadata: dict, key: str, path: Path) -> dict | None:
    text = metadata.get(key)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError):  # RecursionError: nested thousands of levels deep
        raise CheckpointError(safe_text(f"{path}: metadata {key!r} is not valid JSON")) from None
    if not isinstance(value, dict):
        raise CheckpointError(safe_text(f"{path}: metadata {key!r} must be a JSON object, got {type(value).__name__}"))
    return value


def read_safetensors_header(path: Path) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """``(shapes, metadata)`` of a safetensors file, from its JSON header only.

    Raises:
        CheckpointError: a header that is truncated, too large or not the safetensors layout.
    """
    with path.open("rb") as handle:
        prefix = handle.read(8)
        length = int.from_bytes(prefix, "little") if len(prefix) == 8 else -1
        if not 2 <= length <= min(_MAX_HEADER_BYTES, path.stat().st_size - 8):
            raise CheckpointError(safe_text(f"{path} is not a safetensors file (bad header length)"))
        raw = handle.read(length)
    try:
        header = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise CheckpointError(
            safe_text(f"{path}: safetensors header is not valid JSON (truncated or corrupt?)")
        ) from None
    if not isinstance(header, dict):
        raise CheckpointError(safe_text(f"{path}: safetensors header is not a JSON object"))
    metadata = header.pop("__metadata__", None) or {}
    try:
        shapes = {name: tuple(int(n) for n in entry["shape"]) for name, entry in header.items()}
        metadata = {str(k): str(v) for k, v in metadata.items()}
    except (TypeError, KeyError, ValueError, AttributeError, OverflowError):
        raise CheckpointError(
            safe_text(f"{path}: safetensors header lists a tensor without a valid shape, or metadata that is not text")
        ) from None
    return shapes, metadata


def read_header(path: str | Path) -> WeightsHeader:
    """The `WeightsHeader` of a weights file (the file itself must exist).

    The stored model config and tracker settings are checked (`check_model_config`,
    `check_tracker_settings`): whoever reads them gets values the config classes accept.

    Raises:
        CheckpointError: a missing file, or a safetensors file whose header or metadata is damaged or invalid.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(safe_text(f"weights file not found: {path}"))
    if path.suffix.lower() == ".onnx":
        return WeightsHeader(path=path, format="onnx")
    with path.open("rb") as handle:
        head = handle.read(9)
    if len(head) == 9 and head[8:9] == b"{":
        shapes, metadata = read_safetensors_header(path)
        header = WeightsHeader(
            path=path,
            format="safetensors",
            config=_json_field(metadata, CONFIG_KEY, path),
            tracker=_json_field(metadata, TRACKER_KEY, path) or {},
            shapes=shapes,
        )
        # Invalid metadata is refused here, for every reader of the header.
        header.model_config()
        header.tracker_settings()
        return header
    return WeightsHeader(path=path, format="pytorch")


def describe_config(config: ModelConfig) -> str:
    """One line about a model config, for logs and the CLI; the paper's ablation fields (``decoding``,
    ``encoding``, ``temporal_frames``) are named only when they differ from the baseline."""
    enc = config.encoder
    line = (
        f"{config.name}: ViT {enc.embed_dim}x{enc.depth} ({enc.num_heads} heads), "
        f"{config.template_size}/{config.search_size} px, {config.num_templates} templates, "
        f"decoder {config.decoder.hidden_dim}x{config.decoder.num_layers}, {config.bins} bins, "
        f"{config.seq_format}, feature {config.feature_type}"
    )
    if config.decoding != "autoregressive":
        line += f", {config.decoding} decoding"
    if config.encoding != "joint":
        line += f", {config.encoding} encoding"
    if config.temporal_frames:
        line += f", {config.temporal_frames} temporal frames"
    return line


__all__ = [
    "describe_config",
    "WeightsHeader",
    "read_header",
    "read_safetensors_header",
    "safe_text",
    "check_model_config",
    "check_tracker_settings",
    "CONFIG_KEY",
    "TRACKER_KEY",
]
