"""Item 0 of issue 22: fp32 linears on oneDNN (`seqtrack.runtime.kernels`) keep the golden answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from seqtrack.errors import InputError
from seqtrack.runtime import kernels
from seqtrack.runtime.kernels import OneDnnLinear, choose_linear_kernel, use_linear_kernel

pytestmark = pytest.mark.skipif(not kernels.onednn_available(), reason="this torch build has no oneDNN linear ops")


def test_onednn_linear_matches_linear_and_keeps_the_state_dict():
    torch.manual_seed(0)
    plain = nn.Linear(48, 80).eval()
    fast = OneDnnLinear.from_linear(plain)
    with torch.inference_mode():
        small = torch.randn(1, 5, 48)  # a decoder step: too few rows for oneDNN to pay
        torch.testing.assert_close(fast(small), plain(small), atol=0, rtol=0)
        assert fast._packed is None
        x = torch.randn(2, 40, 48)
        torch.testing.assert_close(fast(x), plain(x), atol=1e-5, rtol=1e-5)
        assert fast._packed is not None  # the oneDNN path ran
    assert fast.state_dict().keys() == plain.state_dict().keys()
    assert fast.weight is plain.weight  # shared, not copied


def test_onednn_linear_repacks_after_an_in_place_weight_change():
    torch.manual_seed(1)
    layer = OneDnnLinear.from_linear(nn.Linear(16, 8).eval())
    x = torch.randn(40, 16)
    with torch.inference_mode():
        before = layer(x)
    assert layer._packed is not None
    with torch.no_grad():
        layer.weight.mul_(2.0)
    with torch.inference_mode():
        after = layer(x)
    torch.testing.assert_close(after, x @ layer.weight.T + layer.bias, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(before, after)


def test_onednn_linear_trains_like_linear():
    torch.manual_seed(2)
    layer = OneDnnLinear.from_linear(nn.Linear(6, 3)).train()
    layer(torch.randn(4, 6)).sum().backward()  # the oneDNN op has no autograd: the plain path must run
    assert layer.weight.grad is not None


def test_use_linear_kernel_swaps_and_restores(model):
    count = sum(type(m) is nn.Linear for m in model.modules())
    keys = set(model.state_dict())
    assert use_linear_kernel(model, "onednn") == count
    assert sum(isinstance(m, OneDnnLinear) for m in model.modules()) == count
    assert set(model.state_dict()) == keys
    assert use_linear_kernel(model, "mkl") == count
    assert not any(isinstance(m, OneDnnLinear) for m in model.modules())


def test_choose_linear_kernel(model):
    assert choose_linear_kernel(model, 96, "mkl") == "mkl"
    assert choose_linear_kernel(model, 96, "onednn") == "onednn"
    assert choose_linear_kernel(model, 96, "auto") == "mkl"  # 96 x 64 x 256 products: below MIN_MACS
    big = nn.Sequential(nn.Linear(768, 3072))
    assert choose_linear_kernel(big, 320, "auto") in ("mkl", "onednn")  # timed: either may win
    with pytest.raises(InputError, match="unknown linear kernel 'blas'"):
        choose_linear_kernel(model, 96, "blas")


def test_golden_tokens_identical_with_onednn_forced(model, tracker_data, track_frames):
    """Tokens identical on every golden frame, boxes within the golden tolerance (0.01 px)."""
    use_linear_kernel(model, "onednn")
    frames = len(tracker_data["frames"]) - 1
    tokens, boxes = track_frames(model, tracker_data, frames)
    np.testing.assert_array_equal(tokens, tracker_data["tokens"][1 : frames + 1])
    np.testing.assert_allclose(boxes, tracker_data["boxes"][1 : frames + 1], atol=0.01, rtol=0)


def test_make_predictor_forced_kernels(model):
    from seqtrack.runtime.factory import make_predictor

    predictor = make_predictor(model, threads=1, kernel="onednn")
    assert any(isinstance(m, OneDnnLinear) for m in predictor.modules())
    predictor = make_predictor(model, threads=1, kernel="mkl")
    assert not any(isinstance(m, OneDnnLinear) for m in predictor.modules())


def test_onednn_model_copies_and_exports(model, tmp_path):
    import copy

    pytest.importorskip("onnx")
    from seqtrack.runtime.onnxruntime import write_onnx

    use_linear_kernel(model, "onednn")
    x = torch.randn(1, 3, 128, 128)
    templates = torch.randn(1, 1, 3, 128, 128)
    with torch.inference_mode():
        model.generate(templates, x)  # the reordered weights exist now
    clone = copy.deepcopy(model)
    with torch.inference_mode():
        assert clone.generate(templates, x)[0].tolist() == model.generate(templates, x)[0].tolist()
    assert write_onnx(model, tmp_path / "m.onnx").is_file()  # traced through F.linear
