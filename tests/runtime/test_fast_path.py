"""Item 1 of issue 22: ``--fast`` (`seqtrack.runtime.fast`): plan by CPU features, answers kept."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

from seqtrack.bench.fidelity import RecordingPredictor, open_loop_share, replay
from seqtrack.errors import InputError
from seqtrack.runtime.cpu import cpu_features, parse_features
from seqtrack.runtime.fast import FastPredictor, choose_fast_plan, make_fast_predictor, sensitive_layers
from seqtrack.runtime.options import PredictorOptions, add_predictor_arguments

AVX2 = parse_features({"avx2", "fma"}, "AVX2")
VNNI = parse_features({"avx2", "avx512f", "avx512_vnni"}, "AVX512_VNNI")
BF16 = parse_features({"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}, "AVX512_BF16")


def test_parse_features_from_flags_or_capability():
    assert AVX2.avx2 and not (AVX2.avx512 or AVX2.vnni or AVX2.bf16)
    assert VNNI.vnni and not VNNI.bf16
    assert BF16.bf16 and BF16.vnni
    assert parse_features(set(), "AMX").amx and parse_features(set(), "AMX").bf16
    assert parse_features({"avx_vnni"}).vnni
    assert cpu_features().summary  # this machine, whatever it has


def test_plan_follows_the_cpu(tiny_config):
    assert choose_fast_plan(tiny_config, BF16).name == "bf16-mixed"
    assert choose_fast_plan(tiny_config, VNNI).name == "int8-static"
    assert choose_fast_plan(tiny_config, AVX2).name == "onnx-fp32"
    assert choose_fast_plan(tiny_config, VNNI).keep_fp32 == sensitive_layers(tiny_config)
    assert choose_fast_plan(tiny_config, AVX2, "int8-dynamic").name == "int8-dynamic"
    assert choose_fast_plan(tiny_config, AVX2, "bf16-mixed").name == "bf16-mixed"
    with pytest.raises(InputError, match="unknown fast plan 'fp8'"):
        choose_fast_plan(tiny_config, AVX2, "fp8")


@pytest.fixture(scope="module")
def recorded(golden_model, tracker_data, track_frames):
    """The fp32 tracker's crops and tokens on 12 golden frames."""
    recorder = RecordingPredictor(golden_model)
    track_frames(recorder, tracker_data, 12)
    return recorder.calls, np.concatenate([c.tokens for c in recorder.calls])


@pytest.mark.parametrize("plan", ["bf16-mixed", "int8-dynamic", "int8-static"])
def test_each_plan_keeps_the_tokens_open_loop(model, recorded, plan):
    if plan.startswith("int8"):
        pytest.importorskip("onnxruntime")
    calls, reference = recorded
    crops = [(c.templates, c.search) for c in calls]
    predictor = make_fast_predictor(model, threads=1, plan=plan, calibration=crops, verify=False)
    assert isinstance(predictor, FastPredictor) and predictor.plan.name == plan
    tokens = replay(predictor, calls)
    # The golden tiny network's tokens come in steps of 100 bins (of 4000): one step is its "one bin".
    assert open_loop_share(reference, tokens, tolerance=100) >= 0.9, plan
    assert open_loop_share(reference, tokens, tolerance=100) > open_loop_share(reference, tokens[::-1], tolerance=100)


def test_onnx_fp32_plan_is_exact_for_every_window_power(model, recorded):
    pytest.importorskip("onnxruntime")
    calls, reference = recorded
    predictor = make_fast_predictor(model, threads=1, plan="onnx-fp32")
    assert predictor.plan.name == "onnx-fp32"
    np.testing.assert_array_equal(replay(predictor, calls), reference)
    call = calls[3]
    for window in (False, 1.0, 4.0):
        tokens, probs = predictor.generate(call.templates, call.search, window=window)
        want_tokens, want_probs = model.generate(call.templates, call.search, window=window)
        assert tokens.tolist() == want_tokens.tolist(), window
        torch.testing.assert_close(probs, want_probs, rtol=1e-4, atol=1e-6)


def test_a_plan_that_loses_the_answers_falls_back(model, recorded, monkeypatch):
    pytest.importorskip("onnxruntime")
    from seqtrack.runtime import fast

    monkeypatch.setattr(fast, "AGREEMENT", 1.01)  # no plan can reach it: the check must fall back
    crops = [(c.templates, c.search) for c in recorded[0][:4]]
    predictor = make_fast_predictor(model, threads=1, plan="bf16-mixed", calibration=crops)
    assert predictor.plan.name == "onnx-fp32" and "bf16-mixed kept only" in predictor.plan.reason
    assert not any(isinstance(m, fast.Bf16Linear) for m in model.modules())  # the swap was undone


def test_bf16_mixed_keeps_norms_and_decoder_in_fp32(model):
    from seqtrack.runtime.fast import Bf16Linear

    make_fast_predictor(model, plan="bf16-mixed", verify=False)
    assert all(p.dtype == torch.float32 for p in model.parameters())  # weights stay fp32 (state dict)
    assert any(isinstance(m, Bf16Linear) for m in model.encoder.modules())
    assert not any(isinstance(m, Bf16Linear) for m in model.decoder.modules())


def test_fast_option_and_flag():
    parser = argparse.ArgumentParser()
    add_predictor_arguments(parser)
    assert parser.parse_args(["--fast"]).fast and not parser.parse_args([]).fast
    assert PredictorOptions(fast=True).label == "fast"
    with pytest.raises(InputError, match="--fast"):
        PredictorOptions(backend="onnxruntime", fast=True)
    with pytest.raises(InputError, match="--fast"):
        PredictorOptions(dtype="bf16", fast=True)


def test_make_predictor_and_from_pretrained_fast(model, tracker_data):
    pytest.importorskip("onnxruntime")
    from seqtrack.runtime.factory import make_predictor
    from seqtrack.tracking.tracker import Tracker

    assert make_predictor(model, fast=True, threads=1).plan.name in ("bf16-mixed", "int8-static", "onnx-fp32")
    tracker = Tracker.from_pretrained("demo", fast=True, threads=1)
    assert hasattr(tracker.model, "plan")
    assert tracker.config.window_power == 4.0  # the torch read-out keeps the weights' window power
    tracker.init(tracker_data["frames"][0], tracker_data["init_box"])
    assert tracker.track(tracker_data["frames"][1]).tokens.shape == (4,)
