"""The official SeqTrack experiment files (``experiments/seqtrack/seqtrack_b256.yaml``: ``MODEL`` /
``DATA`` / ``TRAIN`` / ``TEST`` blocks) translated into an `ExperimentConfig`.

Missing keys take the official ``config.py`` defaults, which differ from the released yamls (e.g. 6
decoder layers, 1 template, window off), exactly as the official code merges them. The translation only
moves values to our fields; they are then checked like any config (`seqtrack.config.check`), and an
error names the file's key with ours (``TRAIN.LR (train.lr): expected a number (float), got 'abc' (str)``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from seqtrack.config.check import ConfigError, build_config, check_value
from seqtrack.config.experiment import ExperimentConfig
from seqtrack.config.model import VIT_BASE, VIT_LARGE
from seqtrack.config.tracker import UPDATE_PRESETS
from seqtrack.config.train import TrainConfig

# MODEL.ENCODER.TYPE of the official files -> the `EncoderConfig` fields of that ViT.
_ENCODER_TYPES = {
    "vit_base_patch16": VIT_BASE,
    "vit_large_patch16": VIT_LARGE,
    "vit_huge_patch14": dict(embed_dim=1280, depth=32, num_heads=16, patch_size=14),
}


class _Reader:
    """Reads values out of the official blocks and remembers which official key each of our fields came
    from, so that an error in the translated config can name the key the user wrote."""

    def __init__(self, data: dict, source: str) -> None:
        self.data, self.source = data, source
        self.origin: dict[str, str] = {}  # our dotted key -> the official one

    def block(self, *path: str) -> dict:
        """The mapping at ``path`` (``"MODEL", "ENCODER"``); ``{}`` when absent or empty."""
        node: Any = self.data
        for depth in range(1, len(path) + 1):
            value = node.get(path[depth - 1])
            node = {} if value is None else value  # an empty block (``TEST:``) is all defaults
            node = check_value(node, dict[str, Any], key=".".join(path[:depth]), source=self.source)
        return node

    def get(self, path: tuple[str, ...], default: Any, ours: str = "") -> Any:
        """The value at ``path`` (``("TRAIN", "LR")``) or ``default``; ``ours`` is the field it becomes."""
        block = self.block(*path[:-1])
        if path[-1] not in block:
            return default
        if ours:
            self.origin[ours] = ".".join(path)
        return block[path[-1]]

    def official_name(self, key: str) -> str:
        """``TRAIN.LR (train.lr)`` for our ``train.lr`` when the file gave it; else ``key`` itself."""
        for ours, theirs in self.origin.items():
            if key == ours or key.startswith((ours + ".", ours + "[")):
                return f"{theirs}{key[len(ours) :]} ({key})"
        return key


def official_yaml_to_config(data: dict, name: str = "official", source: str = "") -> ExperimentConfig:
    """Translate an official SeqTrack experiment dict (``MODEL``, ``DATA``, ``TRAIN``, ``TEST``).

    Missing keys take the official config.py defaults (which differ from the yamls: e.g. 6 decoder
    layers, 1 template, window off), exactly as the official code merges them. ``source`` (the file) is
    named first in errors, which are `ConfigError` s naming the official key.
    """
    reader = _Reader(data, source)
    fields = {"model": _model_fields(reader, name), "tracker": _tracker_fields(reader), "train": _train_fields(reader)}
    try:
        return build_config(ExperimentConfig, fields, source=source)
    except ConfigError as error:
        raise ConfigError(source, reader.official_name(error.key), error.detail) from None


def _model_fields(reader: _Reader, name: str) -> dict:
    enc_type = reader.get(("MODEL", "ENCODER", "TYPE"), "vit_base_patch16")
    if not isinstance(enc_type, str) or enc_type not in _ENCODER_TYPES:
        raise ConfigError(
            reader.source, "MODEL.ENCODER.TYPE", f"unsupported {enc_type!r}; supported: {', '.join(_ENCODER_TYPES)}"
        )
    number = reader.get(("DATA", "SEARCH", "NUMBER"), 1)
    if check_value(number, int, key="DATA.SEARCH.NUMBER", source=reader.source) != 1:
        raise ConfigError(
            reader.source, "DATA.SEARCH.NUMBER", "other than 1 is not supported (nor by the official code)"
        )
    template_size = reader.get(("DATA", "TEMPLATE", "SIZE"), 256, "model.template_size")
    search_size = reader.get(("DATA", "SEARCH", "SIZE"), 256, "model.search_size")
    templates = reader.get(("DATA", "TEMPLATE", "NUMBER"), 1, "model.num_templates")
    return {
        "encoder": {
            **_ENCODER_TYPES[enc_type],
            "drop_path": reader.get(("MODEL", "ENCODER", "DROP_PATH"), 0.0, "model.encoder.drop_path"),
        },
        "decoder": {
            "hidden_dim": reader.get(("MODEL", "HIDDEN_DIM"), 256, "model.decoder.hidden_dim"),
            "num_heads": reader.get(("MODEL", "DECODER", "NHEADS"), 8, "model.decoder.num_heads"),
            "num_layers": reader.get(("MODEL", "DECODER", "DEC_LAYERS"), 6, "model.decoder.num_layers"),
            "dim_feedforward": reader.get(
                ("MODEL", "DECODER", "DIM_FEEDFORWARD"), 1024, "model.decoder.dim_feedforward"
            ),
            "dropout": reader.get(("MODEL", "DECODER", "DROPOUT"), 0.1, "model.decoder.dropout"),
            "pre_norm": reader.get(("MODEL", "DECODER", "PRE_NORM"), False, "model.decoder.pre_norm"),
        },
        # The TEST block's sizes and template count win over the DATA block's (as in the official tracker).
        "template_size": reader.get(("TEST", "TEMPLATE_SIZE"), template_size, "model.template_size"),
        "search_size": reader.get(("TEST", "SEARCH_SIZE"), search_size, "model.search_size"),
        "num_templates": reader.get(("TEST", "NUM_TEMPLATES"), templates, "model.num_templates"),
        "feature_type": reader.get(("MODEL", "FEATURE_TYPE"), "x", "model.feature_type"),
        "bins": reader.get(("MODEL", "BINS"), 4000, "model.bins"),
        "seq_format": reader.get(("DATA", "SEQ_FORMAT"), "xywh", "model.seq_format"),
        "name": name.lower().removeprefix("seqtrack_"),
    }


def _tracker_fields(reader: _Reader) -> dict:
    presets = {key: dataclasses.asdict(policy) for key, policy in UPDATE_PRESETS.items()}
    for field, block in (("interval", "UPDATE_INTERVALS"), ("threshold", "UPDATE_THRESHOLD")):
        for key, value in reader.block("TEST", block).items():
            ours = f"tracker.update_presets.{key.lower()}.{field}"
            reader.origin[ours] = f"TEST.{block}.{key}"
            presets.setdefault(key.lower(), {})[field] = value
    default = presets["default"]
    for field in ("interval", "threshold"):
        # The tracker's own policy is the "default" preset's: an error in it names the file's key too.
        if f"tracker.update_presets.default.{field}" in reader.origin:
            reader.origin[f"tracker.update_{field}"] = reader.origin[f"tracker.update_presets.default.{field}"]
    return {
        "template_factor": reader.get(("TEST", "TEMPLATE_FACTOR"), 4.0, "tracker.template_factor"),
        "search_factor": reader.get(("TEST", "SEARCH_FACTOR"), 4.0, "tracker.search_factor"),
        "window": reader.get(("TEST", "WINDOW"), False, "tracker.window"),
        "update_interval": default.get("interval", 9999),
        "update_threshold": default.get("threshold", 0.6),
        "update_presets": presets,
    }


def _train_fields(reader: _Reader) -> dict:
    def get(path: tuple[str, ...], default: Any, field: str) -> Any:
        return reader.get(path, default, f"train.{field}")

    amp = check_value(reader.get(("TRAIN", "AMP"), False), bool, key="TRAIN.AMP", source=reader.source)
    return {
        "datasets": get(("DATA", "TRAIN", "DATASETS_NAME"), TrainConfig().datasets, "datasets"),
        "dataset_ratios": get(("DATA", "TRAIN", "DATASETS_RATIO"), [1.0] * 4, "dataset_ratios"),
        "samples_per_epoch": get(("DATA", "TRAIN", "SAMPLE_PER_EPOCH"), 60000, "samples_per_epoch"),
        "max_sample_interval": get(("DATA", "MAX_SAMPLE_INTERVAL"), 200, "max_sample_interval"),
        "sampler_mode": get(("DATA", "SAMPLER_MODE"), "order", "sampler_mode"),
        "search_center_jitter": get(("DATA", "SEARCH", "CENTER_JITTER"), 3.5, "search_center_jitter"),
        "search_scale_jitter": get(("DATA", "SEARCH", "SCALE_JITTER"), 0.5, "search_scale_jitter"),
        "template_center_jitter": get(("DATA", "TEMPLATE", "CENTER_JITTER"), 0.0, "template_center_jitter"),
        "template_scale_jitter": get(("DATA", "TEMPLATE", "SCALE_JITTER"), 0.0, "template_scale_jitter"),
        "search_factor": get(("DATA", "SEARCH", "FACTOR"), 4.0, "search_factor"),
        "template_factor": get(("DATA", "TEMPLATE", "FACTOR"), 4.0, "template_factor"),
        "batch_size": get(("TRAIN", "BATCH_SIZE"), 16, "batch_size"),
        "epochs": get(("TRAIN", "EPOCH"), 500, "epochs"),
        "lr": get(("TRAIN", "LR"), 1e-4, "lr"),
        "encoder_lr_multiplier": get(("TRAIN", "ENCODER_MULTIPLIER"), 0.1, "encoder_lr_multiplier"),
        "weight_decay": get(("TRAIN", "WEIGHT_DECAY"), 1e-4, "weight_decay"),
        "lr_drop_epoch": get(("TRAIN", "LR_DROP_EPOCH"), 400, "lr_drop_epoch"),
        "lr_drop_gamma": get(("TRAIN", "SCHEDULER", "DECAY_RATE"), 0.1, "lr_drop_gamma"),
        "grad_clip_norm": get(("TRAIN", "GRAD_CLIP_NORM"), 0.1, "grad_clip_norm"),
        "ce_weight": get(("TRAIN", "CE_WEIGHT"), 1.0, "ce_weight"),
        "freeze_encoder": get(("TRAIN", "FREEZE_ENCODER"), False, "freeze_encoder"),
        "num_workers": get(("TRAIN", "NUM_WORKER"), 8, "num_workers"),
        # The official switch is a boolean: on means fp16 with loss scaling.
        "amp": "fp16" if amp else "off",
    }
