"""Loading for a fast start (issue 22 item 5): the network is built once, on the meta device without running
its initialisers, and the weights become its parameters: same values, dtypes and layout as before."""

import copy

import pytest
import torch
from torch import nn

from seqtrack.config import model_preset
from seqtrack.model import SeqTrack
from seqtrack.model.registry import resolve_weights
from seqtrack.model.weights import _SkipMetaInit, load_model, meta_model, read_state_dict, save_safetensors


@pytest.mark.parametrize("name", ["b256", "t128"])
def test_meta_model_has_the_state_dict_of_a_built_network(name, tiny_config):
    for config in (model_preset(name), tiny_config):
        with torch.device("meta"):  # the plain construction, initialisers and all
            reference = SeqTrack(config).state_dict()
        skeleton = meta_model(config).state_dict()
        assert list(skeleton) == list(reference)
        for key, value in skeleton.items():
            expected = reference[key]
            assert (value.device, value.shape, value.dtype) == (expected.device, expected.shape, expected.dtype)
        assert sum(v.is_meta for v in skeleton.values()) >= len(skeleton) - 1  # all but a computed table


def test_initialisers_are_skipped_on_meta_tensors_only():
    real, meta = torch.zeros(1000), torch.zeros(1000, device="meta")
    with _SkipMetaInit():
        assert nn.init.normal_(meta) is meta and meta.normal_() is meta
        nn.init.normal_(real)
        assert real.abs().sum() > 0  # a real tensor is initialised as usual
        ones = torch.ones(3)
        assert torch.equal(ones.mul_(2), torch.full((3,), 2.0))  # other in-place calls run


def test_loaded_parameters_are_the_file_tensors_in_fresh_aligned_memory():
    path = resolve_weights("demo")
    assert path.suffix == ".safetensors"
    model, (tensors, _) = load_model(path), read_state_dict(path)
    params, buffers = dict(model.named_parameters()), dict(model.named_buffers())
    assert set(params) | set(buffers) == set(tensors)
    for key, value in model.state_dict().items():
        assert value.device.type == "cpu" and value.is_contiguous()
        assert value.dtype == tensors[key].dtype and torch.equal(value, tensors[key])
        assert value.data_ptr() % 64 == 0  # the allocator's alignment, not an offset into the file's bytes
        assert value.untyped_storage().data_ptr() != tensors[key].untyped_storage().data_ptr()
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in params.values())
    assert not model.training


def test_a_file_of_another_dtype_is_converted_to_the_network_dtype(tmp_path, golden_model):
    path = tmp_path / "double.safetensors"
    save_safetensors(copy.deepcopy(golden_model).double(), path)  # the file's tensors are float64
    stored, _ = read_state_dict(path)
    assert stored["bottleneck.weight"].dtype == torch.float64
    model = load_model(path)
    for key, value in model.state_dict().items():
        assert value.dtype == golden_model.state_dict()[key].dtype
        assert torch.equal(value, stored[key].to(value.dtype))


def test_owned_copy_keeps_every_bit_for_any_layout_and_converts_dtypes():
    from seqtrack.model.weights import _owned_copy

    source = torch.randn(6, 8)
    cases = [
        (source, source),  # byte copy
        (source.t(), torch.empty(8, 6)),  # not contiguous: torch's copy
        (source.to(torch.bfloat16), source),  # another dtype: converted like load_state_dict
        (torch.tensor(7), torch.tensor(0)),  # 0-d int64 (BatchNorm's num_batches_tracked)
        (torch.empty(0, 3), torch.empty(0, 3)),
    ]
    for given, like in cases:
        copied = _owned_copy(given, like)
        assert copied.dtype == like.dtype and copied.shape == like.shape
        assert torch.equal(copied, given.to(like.dtype))
        assert copied.numel() == 0 or copied.data_ptr() != given.data_ptr()  # empty tensors share no memory
