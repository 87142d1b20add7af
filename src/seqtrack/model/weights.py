"""Loading and saving SeqTrack weights.

* `load_model(path)`: official ``.pth.tar`` checkpoints (opened by `seqtrack.model.safe_pickle`, never by
  ``torch.load``: nothing in the file is executed, TorchScript archives are refused), bare state dicts, and
  our own safetensors files (config in the metadata, every field range-checked). The preset is inferred
  from the tensor shapes unless given; the file's tensors must fit the config before the network is built.
* `save_safetensors(model, path)`: our format.
* `load_mae_encoder(model, path)`: MAE ImageNet pre-training as the encoder's initialisation
  (docs/official-behaviour.md §1.7).
Nothing here downloads anything.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from seqtrack.config import MODEL_PRESETS, ModelConfig, TrackerConfig, build_config, model_preset, to_dict
from seqtrack.errors import CheckpointError, InputError
from seqtrack.io.files import atomic_write_bytes, check_destination, os_error_text, refuse_overlaps
from seqtrack.model.header import (
    CONFIG_KEY,
    TRACKER_KEY,
    check_model_config,
    describe_config,
    safe_text,
)
from seqtrack.model.registry import resolve_weights
from seqtrack.model.seqtrack import SeqTrack

_MARKER_KEYS = ("encoder.body.patch_embed.proj.weight", "vocab_embed.layers.2.weight")


# ---------------------------------------------------------------------------------------------- reading
def _file_kind(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(16)
    if head[:4] == b"PK\x03\x04":
        return "zip"
    # safetensors = 8-byte little-endian header length, then the JSON header. Checked before the pickle
    # test because that length's first byte can be 0x80 too (the pickle protocol marker).
    header_length = int.from_bytes(head[:8], "little") if len(head) >= 8 else 0
    if len(head) >= 9 and head[8:9] == b"{" and 2 <= header_length <= path.stat().st_size - 8:
        return "safetensors"
    if head[:1] == b"\x80":
        return "pickle"
    return "unknown"


def read_state_dict(path: str | Path) -> tuple[dict[str, torch.Tensor], ModelConfig | None]:
    """Tensors of a weights file, and the model config when the file carries one (our safetensors).

    Accepts official ``.pth.tar`` (takes ``net``), ``{"model": ...}`` / ``{"state_dict": ...}`` dicts, bare
    state dicts and safetensors. Raises `CheckpointError` with the path for anything else.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"weights file not found: {path}")
    if not path.is_file():
        raise CheckpointError(f"weights path is not a file: {path}")
    kind = _file_kind(path)
    if kind == "safetensors":
        return _read_safetensors(path)
    if kind == "unknown":
        raise CheckpointError(f"{path} is not a weights file (neither a PyTorch checkpoint nor safetensors)")
    if kind == "zip" and not zipfile.is_zipfile(path):
        raise CheckpointError(safe_text(f"{path} is truncated or corrupt: its zip directory cannot be read"))
    from seqtrack.model import safe_pickle  # only for PyTorch checkpoints: not on a safetensors start-up

    try:
        payload = safe_pickle.load_checkpoint(path)  # never torch.load: see seqtrack.model.safe_pickle
    except CheckpointError as error:
        raise CheckpointError(safe_text(f"{path}: {error}")) from None
    except Exception as error:  # pickle/zipfile/torch raise many types for damaged files
        raise CheckpointError(
            safe_text(
                f"{path} could not be read as a PyTorch checkpoint (truncated or corrupt?): "
                f"{type(error).__name__}: {str(error)[:200]}"
            )
        ) from None
    return _extract_state_dict(payload, path), None


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], ModelConfig | None]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            # The config first: a hostile one is refused before any tensor is read.
            config = None
            if CONFIG_KEY in metadata:
                try:
                    data = json.loads(metadata[CONFIG_KEY])
                except (json.JSONDecodeError, RecursionError):
                    raise CheckpointError(safe_text(f"{path}: metadata {CONFIG_KEY!r} is not valid JSON")) from None
                config = check_model_config(data, path)
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(safe_text(f"{path} is not a readable safetensors file: {error}")) from None
    return tensors, config


def _extract_state_dict(payload, path: Path) -> dict[str, torch.Tensor]:
    candidate = payload
    if isinstance(payload, Mapping):
        for key in ("net", "model", "state_dict"):
            if key in payload and isinstance(payload[key], Mapping):
                candidate = payload[key]
                break
    if not isinstance(candidate, Mapping):
        raise CheckpointError(f"{path} holds a {type(payload).__name__}, not a state dict")
    tensors = {k: v for k, v in candidate.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(f"{path} holds no tensors under 'net', 'model', 'state_dict' or at the top level")
    # DataParallel/DDP prefixes.
    if all(k.startswith("module.") for k in tensors):
        tensors = {k[len("module.") :]: v for k, v in tensors.items()}
    return tensors


# ---------------------------------------------------------------------------------------------- shapes
# Initialisers a module runs on its fresh parameters. On the meta device they compute nothing, yet some
# (``normal_`` through torch's Python reference kernels) import ``torch._dynamo`` on first use: about a
# second of start-up for a network whose every value the weights file overwrites anyway.
_INITIALISERS = frozenset(
    {
        "normal_",
        "uniform_",
        "trunc_normal_",
        "constant_",
        "zeros_",
        "ones_",
        "eye_",
        "dirac_",
        "xavier_uniform_",
        "xavier_normal_",
        "kaiming_uniform_",
        "kaiming_normal_",
        "orthogonal_",
        "sparse_",
        "fill_",
        "zero_",
    }
)


class _SkipMetaInit(torch.overrides.TorchFunctionMode):
    """Inside: an initialiser (`_INITIALISERS`) called on a meta tensor returns that tensor untouched.

    Meta tensors hold shapes and dtypes only, which these in-place calls do not change, so the network
    built is the same; every other call (and every initialiser on a real tensor) runs as usual.
    """

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        # `torch.nn.init` passes its tensor by keyword, `Tensor` methods by position.
        target = args[0] if args else kwargs.get("tensor")
        if (
            getattr(func, "__name__", None) in _INITIALISERS
            and isinstance(target, torch.Tensor)
            and target.device.type == "meta"
        ):
            return target
        return func(*args, **kwargs)


def meta_model(config: ModelConfig) -> SeqTrack:
    """A `SeqTrack` for ``config`` on the meta device (shapes and dtypes, no memory; only a table the
    constructor computes outright is real), built without running its initialisers: the skeleton that
    `load_model` fills from a weights file."""
    with torch.device("meta"), _SkipMetaInit():
        return SeqTrack(config)


def expected_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Key → shape of the state dict of a model built from ``config`` (computed without allocating)."""
    return {k: tuple(v.shape) for k, v in meta_model(config).state_dict().items()}


def _mismatch(shapes: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]]):
    missing = [k for k in expected if k not in shapes]
    unexpected = [k for k in shapes if k not in expected]
    misshaped = [(k, shapes[k], expected[k]) for k in expected if k in shapes and shapes[k] != expected[k]]
    return missing, unexpected, misshaped


def infer_config(state_dict: Mapping[str, torch.Tensor], path: str | Path = "<state dict>") -> ModelConfig:
    """The preset whose shapes match the state dict exactly; otherwise a `CheckpointError` naming the
    closest preset and the missing / unexpected / mis-shaped keys."""
    if not any(k in state_dict for k in _MARKER_KEYS):
        sample = ", ".join(list(state_dict)[:3])
        raise CheckpointError(
            f"{path} is not a SeqTrack checkpoint: none of its {len(state_dict)} tensors is a "
            f"SeqTrack weight (first keys: {sample})"
        )
    shapes = {k: tuple(v.shape) for k, v in state_dict.items()}
    best = None
    for name in MODEL_PRESETS:
        config = model_preset(name)
        missing, unexpected, misshaped = _mismatch(shapes, expected_shapes(config))
        score = len(missing) + len(unexpected) + len(misshaped)
        if score == 0:
            return config
        if best is None or score < best[0]:
            best = (score, name, missing, unexpected, misshaped)
    _, name, missing, unexpected, misshaped = best
    raise CheckpointError(
        f"{path} matches no SeqTrack preset; closest is {name!r}: " + _describe(missing, unexpected, misshaped)
    )


def _describe(missing, unexpected, misshaped, limit: int = 5) -> str:
    parts = []
    if missing:
        parts.append(
            f"{len(missing)} missing key(s) ({', '.join(missing[:limit])}{'...' if len(missing) > limit else ''})"
        )
    if unexpected:
        parts.append(
            f"{len(unexpected)} unexpected key(s) ({', '.join(unexpected[:limit])}"
            f"{'...' if len(unexpected) > limit else ''})"
        )
    if misshaped:
        shown = ", ".join(f"{k} is {list(a)} not {list(b)}" for k, a, b in misshaped[:limit])
        parts.append(f"{len(misshaped)} mis-shaped key(s) ({shown}{'...' if len(misshaped) > limit else ''})")
    return "; ".join(parts)


def _check_fit(
    state_dict: Mapping[str, torch.Tensor], expected: dict[str, tuple[int, ...]], name: str, path: str | Path
) -> None:
    missing, unexpected, misshaped = _mismatch({k: tuple(v.shape) for k, v in state_dict.items()}, expected)
    if missing or unexpected or misshaped:
        raise CheckpointError(f"{path} does not fit model {name!r}: " + _describe(missing, unexpected, misshaped))


# ---------------------------------------------------------------------------------------------- public
def load_model(
    path: str | Path,
    device: str | torch.device = "cpu",
    config: ModelConfig | str | None = None,
    dtype: torch.dtype | None = None,
) -> SeqTrack:
    """Build a `SeqTrack` and load its weights strictly; returns it in eval mode.

    Args:
        path: a registered model name (``demo``, ``b256`` ...: `seqtrack.model.registry`), an official
            ``.pth.tar``, a bare state dict (``.pth``/``.pt``) or our ``.safetensors``.
        device: where to put the model.
        config: a `ModelConfig` or preset name; by default the file's own config (safetensors) or the
            preset inferred from the tensor shapes.
        dtype: optional floating dtype for the weights (e.g. ``torch.bfloat16``).
    Raises:
        CheckpointError: missing, unreadable, unsafe file, or weights that do not fit (the message
            names the missing / unexpected / mis-shaped keys and the preset it compared against).
    """
    path = resolve_weights(path)
    state_dict, stored_config = read_state_dict(path)
    if isinstance(config, str):
        config = model_preset(config)
    config = config or stored_config or infer_config(state_dict, path)
    # Built on the meta device and checked against the file before any memory is allocated: a config
    # asking for a huge network is refused, and the network materialised below is no larger than the
    # tensors the file holds. Every parameter and buffer is in the state dict, so all are overwritten.
    model = meta_model(config)
    skeleton = model.state_dict()
    _check_fit(state_dict, {k: tuple(v.shape) for k, v in skeleton.items()}, config.name, path)
    # The file's tensors are copied into fresh ones of the network's dtypes and then become its parameters
    # (``assign``): one copy, and no ``to_empty`` (which on meta tensors imports sympy: a second of start-up).
    # A copy, not the file's tensors themselves: those may be unaligned views of its bytes, and a matrix
    # product's summation order may depend on alignment; the copy keeps the values bit for bit.
    owned = {key: _owned_copy(state_dict[key], value) for key, value in skeleton.items()}
    model.load_state_dict(owned, strict=True, assign=True)
    model = model.to(device=device)
    if dtype is not None:
        model = model.to(dtype=dtype)
    return model.eval()


def _owned_copy(source: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``source`` copied into a fresh tensor of ``like``'s shape and dtype (torch's allocator: aligned).

    Same dtype: a plain byte copy by numpy, on one thread: torch's own copy of a large tensor uses every
    intra-op thread, which beside a busy process can take a second for the demo model's 14 MB. Another
    dtype: torch's conversion, as ``load_state_dict`` copies."""
    target = torch.empty(like.shape, dtype=like.dtype)
    source = source.detach()
    if source.dtype != target.dtype or not source.is_contiguous() or source.device.type != "cpu":
        return target.copy_(source)
    if target.numel():
        np.copyto(target.reshape(-1).view(torch.uint8).numpy(), source.reshape(-1).view(torch.uint8).numpy())
    return target


def save_safetensors(model: SeqTrack, path: str | Path, tracker_settings: Mapping[str, object] | None = None) -> None:
    """Write the weights, the model config and (optionally) the tracker settings recommended for these
    weights (`TrackerConfig` field -> value; the tracker uses them unless told otherwise) as one
    safetensors file, atomically (`seqtrack.io.files.atomic_path`: a failed write leaves ``path`` as it was).

    Raises:
        InputError: tracker settings `TrackerConfig` refuses (a `ConfigError` naming the field), or ``path``
            cannot be written.
    """
    from safetensors.torch import save

    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    metadata = {CONFIG_KEY: json.dumps(to_dict(model.config)), "format": "pt"}
    if tracker_settings:
        build_config(TrackerConfig, dict(tracker_settings), root="tracker")  # unknown fields, bad values
        metadata[TRACKER_KEY] = json.dumps(dict(tracker_settings), sort_keys=True)
    # The bytes are made in memory and written by `atomic_write_bytes`: the safetensors writer goes through
    # a temporary file of its own (a random name a killed run would leave behind) and its I/O errors are
    # not OSErrors (no clean error line for a full disk).
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)  # missing folders are made, as `check_destination` says
    except OSError as error:
        raise InputError(safe_text(f"could not write the weights file {path}: {os_error_text(error)}")) from None
    atomic_write_bytes(path, save(tensors, metadata=metadata), "the weights file")


def convert_checkpoint(source: str | Path, target: str | Path, config: ModelConfig | str | None = None) -> SeqTrack:
    """Official (or any loadable) checkpoint → our safetensors format. Returns the loaded model.

    ``target`` may not be the source (or a link to it) and must be writable; both are checked before the
    source is read, and the file is written atomically.
    """
    from seqtrack.model.header import read_header

    source = resolve_weights(source)
    refuse_overlaps({"the source weights": source}, {"the target": target})
    check_destination(target, "the target")
    tracker = read_header(source).tracker_settings()  # recommended settings travel along, checked
    model = load_model(source, config=config)
    save_safetensors(model, target, tracker)
    return model


def load_weights_into(model: SeqTrack, path: str | Path) -> None:
    """Copy every weight of a checkpoint into an existing ``model`` (fine-tuning from a trained network).

    The file's tensors must fit ``model`` exactly (same keys and shapes); only the architecture must
    agree, so training settings (crop factors, jitter, schedule) may differ from the file's.
    Raises:
        CheckpointError: unreadable file, or keys / shapes that do not fit (the message names them).
    """
    state_dict, _ = read_state_dict(path)
    _check_fit(state_dict, {k: tuple(v.shape) for k, v in model.state_dict().items()}, model.config.name, path)
    model.load_state_dict(state_dict, strict=True)


def load_encoder_weights(model: SeqTrack, path: str | Path) -> None:
    """Initialise only the encoder (``encoder.*``) from a trained SeqTrack weights file (ours or official).

    For networks that share the encoder but differ after it (another decoder, bin count, sequence format,
    memory): the rest of ``model`` keeps its fresh initialisation. The file's encoder tensors must fit
    ``model.encoder`` exactly (same keys and shapes: same width, depth, patch and crop sizes).
    Raises:
        CheckpointError: unreadable file, no encoder in it, or keys / shapes that do not fit (named).
    """
    state_dict, _ = read_state_dict(path)
    prefix = "encoder."
    encoder = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not encoder:
        raise CheckpointError(f"{path} holds no encoder weights (no 'encoder.*' keys)")
    own = {k: tuple(v.shape) for k, v in model.encoder.state_dict().items()}
    missing, unexpected, misshaped = _mismatch({k: tuple(v.shape) for k, v in encoder.items()}, own)
    if missing or unexpected or misshaped:
        raise CheckpointError(
            f"{path}: its encoder does not fit the {model.config.name!r} encoder: "
            + _describe(missing, unexpected, misshaped)
        )
    model.encoder.load_state_dict(encoder, strict=True)


def load_mae_encoder(model: SeqTrack, path: str | Path) -> None:
    """Initialise the encoder from an MAE pre-training file (``mae_pretrain_vit_base.pth`` / ``_large``).

    The file's ``model`` entry holds a ViT with a cls token and a 14 x 14 patch position table. The cls
    token and its table row are dropped; the table is resized (bicubic, ``align_corners=True``) to the
    search and template grids and stored as ``[search rows, template rows]`` (docs/official-behaviour.md §1.7). The
    remaining
    keys must match the encoder exactly.
    """
    state, _ = read_state_dict(path)
    state = {k: v for k, v in state.items() if not (k.startswith("decoder") or k == "mask_token")}
    state.pop("cls_token", None)
    body = model.encoder.body
    if "pos_embed" not in state:
        raise CheckpointError(f"{path} has no 'pos_embed': not an MAE ViT checkpoint")
    table = state.pop("pos_embed")
    dim = table.shape[-1]
    grid = int(round((table.shape[1] - 1) ** 0.5))
    if grid * grid + 1 != table.shape[1]:
        raise CheckpointError(f"{path}: pos_embed has {table.shape[1]} rows, expected a cls row plus a square grid")
    patches = table[:, 1:].reshape(1, grid, grid, dim).permute(0, 3, 1, 2)

    def resized(tokens: int) -> torch.Tensor:
        side = int(round(tokens**0.5))
        out = F.interpolate(patches.float(), size=(side, side), mode="bicubic", align_corners=True)
        return out.permute(0, 2, 3, 1).reshape(1, side * side, dim)

    state["pos_embed"] = torch.cat([resized(body.num_search_tokens), resized(body.num_template_tokens)], dim=1)
    own = {k: tuple(v.shape) for k, v in body.state_dict().items()}
    missing, unexpected, misshaped = _mismatch({k: tuple(v.shape) for k, v in state.items()}, own)
    if missing or unexpected or misshaped:
        raise CheckpointError(
            f"{path} does not fit the {model.config.name!r} encoder: " + _describe(missing, unexpected, misshaped)
        )
    body.load_state_dict(state, strict=True)


__all__ = [
    "load_model",
    "save_safetensors",
    "convert_checkpoint",
    "load_mae_encoder",
    "load_encoder_weights",
    "read_state_dict",
    "infer_config",
    "expected_shapes",
    "meta_model",
    "describe_config",
]
