"""Typed configurations: model, tracker (inference) and training, with named presets and YAML I/O.

* `seqtrack.config.model`: `ModelConfig` (`EncoderConfig`, `DecoderConfig`), `MODEL_PRESETS`, `model_preset`.
* `seqtrack.config.tracker`: `TrackerConfig`, the template-update presets (`UpdatePolicy`, `UPDATE_PRESETS`).
* `seqtrack.config.train`: `TrainConfig`, the training recipe.
* `seqtrack.config.experiment`: `ExperimentConfig` (all three), `experiment_preset`.
* `seqtrack.config.yaml_io`: `load_yaml` / `save_yaml` (our layout, or an official file), `to_dict`.
* `seqtrack.config.official`: `official_yaml_to_config`, the official experiment files' translation.
* `seqtrack.config.check`: `build_config` / `check_value`, the type check of untyped data (YAML, JSON,
  ``--set``) against the dataclasses' field annotations; `ConfigError` (an `InputError`) names the key.
* `seqtrack.config.overrides`: `apply_overrides` / `add_set_argument`, the commands' ``--set KEY=VALUE``.

Presets ``b256``, ``b384``, ``l256``, ``l384`` are the official SeqTrack networks (docs/official-behaviour.md §0, §1);
``t128`` and ``s128`` are small CPU variants of our design (ViT-Tiny / ViT-Small encoders at 128 px)
for real-time CPU tracking and CPU training. Torch-free: the command line's ``--help`` imports it.
"""

from __future__ import annotations

from seqtrack.config.check import ConfigError, build_config, check_value
from seqtrack.config.experiment import ExperimentConfig, experiment_preset
from seqtrack.config.model import (
    ENCODER_STEMS,
    FEATURE_TYPES,
    MODEL_PRESETS,
    SEQ_FORMATS,
    DecoderConfig,
    EncoderConfig,
    EncoderStem,
    FeatureType,
    ModelConfig,
    SeqFormat,
    model_preset,
)
from seqtrack.config.overrides import add_set_argument, apply_overrides
from seqtrack.config.tracker import UPDATE_PRESETS, TrackerConfig, UpdatePolicy, update_presets_for
from seqtrack.config.train import AMP_MODES, AmpMode, TrainConfig
from seqtrack.config.yaml_io import load_yaml, model_config_from_dict, save_yaml, to_dict

__all__ = [
    "AMP_MODES",
    "ENCODER_STEMS",
    "FEATURE_TYPES",
    "MODEL_PRESETS",
    "SEQ_FORMATS",
    "UPDATE_PRESETS",
    "AmpMode",
    "ConfigError",
    "DecoderConfig",
    "EncoderConfig",
    "EncoderStem",
    "ExperimentConfig",
    "FeatureType",
    "ModelConfig",
    "SeqFormat",
    "TrackerConfig",
    "TrainConfig",
    "UpdatePolicy",
    "add_set_argument",
    "apply_overrides",
    "build_config",
    "check_value",
    "experiment_preset",
    "load_yaml",
    "model_config_from_dict",
    "model_preset",
    "save_yaml",
    "to_dict",
    "update_presets_for",
]
