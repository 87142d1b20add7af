"""The tiny official network: our model loaded from the official checkpoint must reproduce the official
outputs within the tolerances of tests/golden/README.md."""

import torch

from support import golden_file


def _templates(data):
    return [data["templates"][0:1], data["templates"][1:2]]


def test_checkpoint_net_is_bit_identical(golden_model, golden_model_data):
    ours = golden_model.state_dict()
    assert list(ours) == list(golden_model_data["state_dict"])
    for key, value in golden_model_data["state_dict"].items():
        assert torch.equal(ours[key], value), key


def test_encoder_output(golden_model, golden_model_data):
    with torch.no_grad():
        out = golden_model.forward_encoder(_templates(golden_model_data), golden_model_data["search"])
    assert out.shape == (1, 192, 64)
    torch.testing.assert_close(out, golden_model_data["encoder_out"], atol=1e-4, rtol=1e-4)


def test_teacher_forced_logits(golden_model, golden_model_data):
    with torch.no_grad():
        logits = golden_model(
            _templates(golden_model_data), golden_model_data["search"], golden_model_data["teacher_forced_sequence"]
        )
    assert logits.shape == (1, 5, 4002)
    torch.testing.assert_close(logits, golden_model_data["teacher_forced_logits"], atol=1e-4, rtol=1e-4)


def test_generate_window_and_plain(golden_model, golden_model_data):
    for window, suffix in ((True, "window"), (False, "plain")):
        tokens, probs = golden_model.generate(_templates(golden_model_data), golden_model_data["search"], window=window)
        assert torch.equal(tokens, golden_model_data[f"generated_tokens_{suffix}"]), suffix
        torch.testing.assert_close(
            probs, golden_model_data[f"generated_confidence_{suffix}"].double(), atol=1e-5, rtol=1e-4
        )


def test_template_tensor_and_list_agree(golden_model, golden_model_data):
    stacked = golden_model_data["templates"].unsqueeze(0)  # (1, 2, 3, H, W)
    a = golden_model.generate(stacked, golden_model_data["search"])
    b = golden_model.generate(_templates(golden_model_data), golden_model_data["search"])
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_golden_files_present():
    for name in ("tiny_model.pt", "tiny_official_checkpoint.pth.tar", "tiny_crop.npz", "tiny_tracker.npz"):
        golden_file(name)
