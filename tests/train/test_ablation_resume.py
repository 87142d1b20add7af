"""Resuming a run whose stored config predates the ablation fields: a missing field reads as its default
(the behaviour the run had), so only real changes are refused."""

from __future__ import annotations

import dataclasses

from seqtrack.config import ExperimentConfig, load_yaml, to_dict
from seqtrack.train.checkpoint import Progress, ResumeState
from seqtrack.train.resume import resume_conflicts, with_defaults


def _state(config: dict) -> ResumeState:
    return ResumeState(
        progress=Progress(), config=config, model={}, optimizer={}, scheduler={}, scaler={}, rng=[], world_size=1
    )


def _older(config: ExperimentConfig) -> dict:
    """The `to_dict` of ``config`` as a version without the temporal fields would have stored it."""
    stored = to_dict(config)
    for name in ("decoding", "encoding", "temporal_frames"):
        del stored["model"][name]
    del stored["train"]["history_jitter"]
    return stored


def test_a_run_stored_before_the_new_fields_resumes(write_config):
    config = load_yaml(write_config())
    assert resume_conflicts(_state(_older(config)), config) == ([], "")


def test_turning_a_new_field_on_is_still_a_conflict(write_config):
    config = load_yaml(write_config())
    temporal = dataclasses.replace(config, model=dataclasses.replace(config.model, temporal_frames=4))
    diffs, _ = resume_conflicts(_state(_older(config)), temporal)
    assert diffs == ["model.temporal_frames"]
    noisier = dataclasses.replace(config, train=dataclasses.replace(config.train, history_jitter=0.2))
    assert resume_conflicts(_state(to_dict(config)), noisier)[0] == ["train.history_jitter"]


def test_with_defaults_fills_nested_keys_and_keeps_unknown_ones():
    merged = with_defaults({"a": {"x": 1}, "old": 5}, {"a": {"x": 0, "y": 2}, "b": 3})
    assert merged == {"a": {"x": 1, "y": 2}, "old": 5, "b": 3}
