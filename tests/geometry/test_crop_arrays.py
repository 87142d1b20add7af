"""The numpy side of the tracker's geometry (`normalize_crop_array`, `token_values`) is bit for bit what the
torch code computes: one geometry for the torch path and the torch-free ``--fast`` path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqtrack.geometry.crop import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    crop_constants,
    normalize_crop_array,
    normalize_crop_tensor,
    normalize_crops,
    token_values,
)
from seqtrack.geometry.tokens import tokens_to_box


def _torch_reference(raw: np.ndarray) -> torch.Tensor:
    """The tensor normalisation the tracker used before the numpy one (torch ops, channels-last strides)."""
    tensor = torch.from_numpy(np.ascontiguousarray(raw)).permute(0, 3, 1, 2).to(torch.float32).div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return tensor.sub_(mean).div_(std)


def test_normalisation_equals_torch_for_every_pixel_value():
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, (2, 37, 41, 3), dtype=np.uint8)
    raw[0, :16, :16] = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)  # every value in every channel
    want = _torch_reference(raw)
    array = normalize_crop_array(raw)
    assert array.dtype == np.float32 and array.shape == (2, 3, 37, 41)
    np.testing.assert_array_equal(array, want.numpy())
    tensor = normalize_crops(raw)
    assert torch.equal(tensor, want) and tensor.stride() == want.stride()  # the layout torch always got
    assert normalize_crops(raw[0], dtype=torch.bfloat16).dtype == torch.bfloat16
    assert normalize_crop_array(list(raw)).shape == (2, 3, 37, 41)
    # The device-side path (uint8 sent to the GPU, normalised there) computes the same steps in torch.
    on_device = normalize_crop_tensor(torch.from_numpy(raw))
    assert torch.equal(on_device, want) and on_device.stride() == want.stride()
    assert torch.equal(normalize_crop_tensor(torch.from_numpy(raw), torch.bfloat16), want.to(torch.bfloat16))
    made_once = crop_constants(torch.device("cpu"))  # what a GPU tracker's inputs keep for every frame
    assert torch.equal(normalize_crop_tensor(torch.from_numpy(raw), constants=made_once), want)


@pytest.mark.parametrize("bins", [256, 1000, 4000])
@pytest.mark.parametrize("seq_format", ["xywh", "whxy", "corner"])
def test_token_values_equal_tokens_to_box_for_every_token(bins, seq_format):
    t = np.arange(bins)
    tokens = np.stack([t, t[::-1], (t * 7) % bins, (t * 13 + 5) % bins], axis=1)  # (bins, 4) int64
    want = tokens_to_box(torch.from_numpy(tokens), bins, seq_format).numpy()
    got = token_values(tokens, bins, seq_format)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)


def test_token_values_refuse_an_unknown_format():
    with pytest.raises(ValueError, match="unknown sequence format 'xyxy'"):
        token_values(np.zeros((1, 4), dtype=np.int64), 256, "xyxy")
