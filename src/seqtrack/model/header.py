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

from seqtrack.config import ModelConfig
from seqtrack.errors import CheckpointError

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


def _json_field(metadata: dict, key: str, path: Path) -> dict | None:
    text = metadata.get(key)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise CheckpointError(f"{path}: metadata {key!r} is not valid JSON") from None
    if not isinstance(value, dict):
        raise CheckpointError(f"{path}: metadata {key!r} must be a JSON object, got {type(value).__name__}")
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
            raise CheckpointError(f"{path} is not a safetensors file (bad header length)")
        raw = handle.read(length)
    try:
        header = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"{path}: safetensors header is not valid JSON (truncated or corrupt?)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    try:
        shapes = {name: tuple(int(n) for n in entry["shape"]) for name, entry in header.items()}
    except (TypeError, KeyError, ValueError):
        raise CheckpointError(f"{path}: safetensors header lists a tensor without a valid shape") from None
    return shapes, {str(k): str(v) for k, v in metadata.items()}


def read_header(path: str | Path) -> WeightsHeader:
    """The `WeightsHeader` of a weights file (the file itself must exist).

    Raises:
        CheckpointError: a missing file, or a safetensors file whose header is damaged.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file not found: {path}")
    if path.suffix.lower() == ".onnx":
        return WeightsHeader(path=path, format="onnx")
    with path.open("rb") as handle:
        head = handle.read(9)
    if len(head) == 9 and head[8:9] == b"{":
        shapes, metadata = read_safetensors_header(path)
        return WeightsHeader(
            path=path,
            format="safetensors",
            config=_json_field(metadata, CONFIG_KEY, path),
            tracker=_json_field(metadata, TRACKER_KEY, path) or {},
            shapes=shapes,
        )
    return WeightsHeader(path=path, format="pytorch")


def describe_config(config: ModelConfig) -> str:
    """One line about a model config, for logs and the CLI."""
    enc = config.encoder
    return (
        f"{config.name}: ViT {enc.embed_dim}x{enc.depth} ({enc.num_heads} heads), "
        f"{config.template_size}/{config.search_size} px, {config.num_templates} templates, "
        f"decoder {config.decoder.hidden_dim}x{config.decoder.num_layers}, {config.bins} bins, "
        f"{config.seq_format}, feature {config.feature_type}"
    )


__all__ = ["describe_config", "WeightsHeader", "read_header", "read_safetensors_header", "CONFIG_KEY", "TRACKER_KEY"]
