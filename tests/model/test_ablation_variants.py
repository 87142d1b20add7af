"""The paper's ablation variants of the network (issue 21): bidirectional decoding (Tab. 4 #2), separate
encoding (Tab. 4 #3), temporal history tokens (Tab. 5) and the cross-attention maps (Fig. 7)."""

import itertools
import json

import pytest
import torch

from seqtrack.config import DecoderConfig, EncoderConfig, ModelConfig, model_config_from_dict, to_dict
from seqtrack.errors import InputError
from seqtrack.geometry.tokens import start_token
from seqtrack.model import SeqTrack
from seqtrack.model.decoder import MultiheadAttention
from seqtrack.model.header import CONFIG_KEY, describe_config
from seqtrack.model.weights import expected_shapes, load_model, save_safetensors

BINS = 50
BATCH = 2
# decoding x encoding x temporal_frames: every combination.
MODES = list(itertools.product(["autoregressive", "bidirectional"], ["joint", "separate"], [0, 2]))


def tiny_config(decoding="autoregressive", encoding="joint", temporal_frames=0, **fields) -> ModelConfig:
    """A network small enough to build and run in milliseconds: 16 search + 2 x 4 template tokens."""
    fields.setdefault("feature_type", "xz" if encoding == "separate" else "x")
    return ModelConfig(
        encoder=EncoderConfig(embed_dim=32, depth=2, num_heads=2),
        decoder=DecoderConfig(hidden_dim=16, num_heads=2, num_layers=2, dim_feedforward=32),
        template_size=32,
        search_size=64,
        bins=BINS,
        decoding=decoding,
        encoding=encoding,
        temporal_frames=temporal_frames,
        **fields,
    )


def build(seed=0, **kwargs) -> SeqTrack:
    torch.manual_seed(seed)
    return SeqTrack(tiny_config(**kwargs)).eval()


def inputs(config: ModelConfig, seed=0):
    """``(templates (B, T, 3, 32, 32), search (B, 3, 64, 64), history (B, 4K) or None)``."""
    g = torch.Generator().manual_seed(seed)
    templates = torch.randn(BATCH, config.num_templates, 3, config.template_size, config.template_size, generator=g)
    search = torch.randn(BATCH, 3, config.search_size, config.search_size, generator=g)
    k = config.temporal_frames
    history = torch.randint(0, BINS, (BATCH, 4 * k), generator=g) if k else None
    return templates, search, history


def teacher_sequence(seed=0) -> torch.Tensor:
    """``[START, t1 .. t4]`` ``(B, 5)`` with random coordinates."""
    g = torch.Generator().manual_seed(seed)
    coords = torch.randint(0, BINS, (BATCH, 4), generator=g)
    return torch.cat([torch.full((BATCH, 1), start_token(BINS)), coords], dim=1)


# ---------------------------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("decoding,encoding,k", MODES)
def test_forward_and_generate_shapes(decoding, encoding, k):
    model = build(decoding=decoding, encoding=encoding, temporal_frames=k)
    config = model.config
    templates, search, history = inputs(config)
    with torch.no_grad():
        logits = model(templates, search, teacher_sequence(), history=history)
    assert logits.shape == (BATCH, 5 if decoding == "autoregressive" else 4, BINS + 2)
    tokens, probs = model.generate(templates, search, history=history)
    assert tokens.shape == probs.shape == (BATCH, 4)
    assert tokens.dtype == torch.int64 and probs.dtype == torch.float64
    assert int(tokens.min()) >= 0 and int(tokens.max()) < BINS
    *_, attention = model.generate(templates, search, history=history, return_attention=True)
    assert attention.shape == (BATCH, 4, config.num_memory_tokens) and attention.dtype == torch.float32


def test_center_head_with_ablations():
    model = build(decoding="bidirectional", encoding="separate", temporal_frames=1, center_head=True)
    templates, search, history = inputs(model.config)
    logits, center = model(templates, search, None, return_center=True, history=history)
    assert logits.shape == (BATCH, 4, BINS + 2) and center.shape == (BATCH, model.config.num_search_tokens)


# ---------------------------------------------------------------------------------------------- masks
def test_bidirectional_has_no_causal_mask():
    model = build(decoding="bidirectional")
    templates, search, _ = inputs(model.config)
    with torch.no_grad():
        before = model(templates, search, None)
        # The last query only (not a constant shift: the embedding LayerNorm would remove it).
        model.decoder.embedding.query_embeddings.weight[3] += torch.linspace(-1.0, 1.0, 16)
        after = model(templates, search, None)
    # The first coordinate sees the last query: no causal mask.
    assert not torch.allclose(before[:, 0], after[:, 0])


@pytest.mark.parametrize("k", [0, 2])
def test_autoregressive_keeps_the_causal_mask(k):
    model = build(temporal_frames=k)
    templates, search, history = inputs(model.config)
    sequence = teacher_sequence()
    changed = sequence.clone()
    changed[:, 3] = (changed[:, 3] + 7) % BINS
    with torch.no_grad():
        before = model(templates, search, sequence, history=history)
        after = model(templates, search, changed, history=history)
    torch.testing.assert_close(before[:, :3], after[:, :3], rtol=0, atol=0)
    assert not torch.allclose(before[:, 3:], after[:, 3:])


@pytest.mark.parametrize("decoding", ["autoregressive", "bidirectional"])
def test_history_is_visible_to_every_generated_token(decoding):
    model = build(decoding=decoding, temporal_frames=2)
    templates, search, history = inputs(model.config)
    changed = history.clone()
    changed[:, 0] = (changed[:, 0] + 11) % BINS  # the oldest box's first token
    with torch.no_grad():
        before = model(templates, search, teacher_sequence(), history=history)
        after = model(templates, search, teacher_sequence(), history=changed)
    for position in range(before.shape[1]):
        assert not torch.allclose(before[:, position], after[:, position]), position


# ---------------------------------------------------------------------------------------------- KV cache
@pytest.mark.parametrize("decoding,encoding,k", MODES)
def test_generate_equals_full_recomputation(decoding, encoding, k):
    model = build(seed=3, decoding=decoding, encoding=encoding, temporal_frames=k)
    templates, search, history = inputs(model.config, seed=3)
    tokens, probs = model.generate(templates, search, window=False, history=history)
    with torch.no_grad():
        if decoding == "bidirectional":
            p = model(templates, search, None, history=history).softmax(-1)[..., :BINS]
            value, index = p.max(-1)
            assert torch.equal(index, tokens)
            torch.testing.assert_close(value.double(), probs, rtol=1e-5, atol=1e-7)
            return
        sequence = torch.full((BATCH, 1), start_token(BINS))
        for step in range(4):  # the uncached teacher-forced pass on the generated prefix
            p = model(templates, search, sequence, history=history)[:, -1].softmax(-1)[:, :BINS]
            value, index = p.max(-1)
            assert torch.equal(index, tokens[:, step])
            torch.testing.assert_close(value.double(), probs[:, step], rtol=1e-5, atol=1e-7)
            sequence = torch.cat([sequence, index[:, None]], dim=1)


# ---------------------------------------------------------------------------------------------- encoding
@pytest.mark.parametrize("encoding", ["joint", "separate"])
def test_separate_search_features_ignore_the_template(encoding):
    model = build(encoding=encoding, feature_type="xz")
    config = model.config
    templates, search, _ = inputs(config)
    other_templates, other_search, _ = inputs(config, seed=1)
    nx = config.num_search_tokens
    with torch.no_grad():
        base = model.forward_encoder(templates, search)
        new_template = model.forward_encoder(other_templates, search)
        new_search = model.forward_encoder(templates, other_search)
    assert base.shape == (BATCH, nx + config.num_templates * config.num_template_tokens, 32)
    if encoding == "separate":
        torch.testing.assert_close(base[:, :nx], new_template[:, :nx], rtol=0, atol=0)
        torch.testing.assert_close(base[:, nx:], new_search[:, nx:], rtol=0, atol=0)
        # Each template alone: changing the second leaves the first one's tokens as they were.
        mixed = torch.stack([templates[:, 0], other_templates[:, 1]], dim=1)
        with torch.no_grad():
            third = model.forward_encoder(mixed, search)
        nz = config.num_template_tokens
        torch.testing.assert_close(base[:, : nx + nz], third[:, : nx + nz], rtol=0, atol=0)
    else:
        assert not torch.allclose(base[:, :nx], new_template[:, :nx])
        assert not torch.allclose(base[:, nx:], new_search[:, nx:])


# ---------------------------------------------------------------------------------------------- attention
@pytest.mark.parametrize("decoding,encoding,k", MODES)
def test_attention_maps(decoding, encoding, k):
    model = build(decoding=decoding, encoding=encoding, temporal_frames=k)
    templates, search, history = inputs(model.config)
    tokens, probs = model.generate(templates, search, history=history)
    tokens_a, probs_a, attention = model.generate(templates, search, history=history, return_attention=True)
    assert torch.equal(tokens, tokens_a) and torch.equal(probs, probs_a)  # bit for bit
    torch.testing.assert_close(attention.sum(-1), torch.ones(BATCH, 4), rtol=0, atol=1e-5)
    assert float(attention.min()) >= 0.0
    # The cached steps' maps are the rows of the teacher-forced pass that produced each token.
    maps = []
    with torch.no_grad():
        memory = model.encode(templates, search)
        sequence = torch.cat([torch.full((BATCH, 1), start_token(BINS)), tokens[:, :3]], dim=1)
        model.decode(memory, sequence, history, attention=maps)
    torch.testing.assert_close(maps[0][:, -4:], attention, rtol=1e-4, atol=1e-6)


def test_attention_weights_equal_torch_multihead_attention():
    torch.manual_seed(0)
    ours = MultiheadAttention(16, 4)
    reference = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    with torch.no_grad():
        reference.in_proj_weight.copy_(ours.in_proj_weight)
        reference.in_proj_bias.copy_(torch.randn(48))
        ours.in_proj_bias.copy_(reference.in_proj_bias)
    query, key, value = torch.randn(2, 3, 16), torch.randn(2, 7, 16), torch.randn(2, 7, 16)
    with torch.no_grad():
        weights = ours.weights(ours.project(query, 0), ours.project(key, 1))
        _, expected = reference(query, key, value, need_weights=True, average_attn_weights=True)
    torch.testing.assert_close(weights, expected, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------- state dict
def test_state_dict_of_each_variant():
    default = expected_shapes(tiny_config())
    assert default["decoder.embedding.position_embeddings.weight"] == (5, 16)
    assert expected_shapes(tiny_config(encoding="separate")) == expected_shapes(tiny_config(feature_type="xz"))
    bidirectional = expected_shapes(tiny_config(decoding="bidirectional", temporal_frames=3))
    assert bidirectional.pop("decoder.embedding.query_embeddings.weight") == (4, 16)
    assert bidirectional.pop("decoder.embedding.position_embeddings.weight") == (16, 16)
    temporal = expected_shapes(tiny_config(temporal_frames=4))
    assert temporal.pop("decoder.embedding.position_embeddings.weight") == (21, 16)
    default.pop("decoder.embedding.position_embeddings.weight")
    assert bidirectional == default and temporal == default


def test_query_embeddings_are_trained():
    model = build(decoding="bidirectional").train()
    templates, search, _ = inputs(model.config)
    logits = model(templates, search, None)
    torch.nn.functional.cross_entropy(logits.flatten(0, 1), teacher_sequence()[:, 1:].flatten()).backward()
    assert model.decoder.embedding.query_embeddings.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("decoding,encoding,k", [("bidirectional", "separate", 2), ("autoregressive", "joint", 4)])
def test_fields_round_trip_through_a_weights_file(tmp_path, decoding, encoding, k):
    model = build(decoding=decoding, encoding=encoding, temporal_frames=k)
    path = tmp_path / "m.safetensors"
    save_safetensors(model, path)
    loaded = load_model(path)
    assert loaded.config == model.config
    assert (loaded.config.decoding, loaded.config.encoding, loaded.config.temporal_frames) == (decoding, encoding, k)
    templates, search, history = inputs(model.config)
    for a, b in zip(
        model.generate(templates, search, history=history), loaded.generate(templates, search, history=history)
    ):
        assert torch.equal(a, b)


def test_old_files_without_the_fields_load_with_the_defaults(tmp_path):
    from safetensors.torch import save_file

    model = build()
    old = to_dict(model.config)
    for name in ("decoding", "encoding", "temporal_frames"):
        del old[name]
    path = tmp_path / "old.safetensors"
    tensors = {key: value.contiguous() for key, value in model.state_dict().items()}
    save_file(tensors, str(path), metadata={CONFIG_KEY: json.dumps(old), "format": "pt"})
    loaded = load_model(path)
    assert (loaded.config.decoding, loaded.config.encoding, loaded.config.temporal_frames) == (
        "autoregressive",
        "joint",
        0,
    )
    assert loaded.config == model.config


def test_describe_config_names_non_default_fields():
    assert "decoding" not in describe_config(tiny_config()) and "temporal" not in describe_config(tiny_config())
    line = describe_config(tiny_config(decoding="bidirectional", encoding="separate", temporal_frames=4))
    assert "bidirectional decoding" in line and "separate encoding" in line and "4 temporal frames" in line


# ---------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "fields,words",
    [
        (dict(encoding="separate", feature_type="x"), ["encoding", "feature_type"]),
        (dict(temporal_frames=17), ["temporal_frames"]),
        (dict(temporal_frames=-1), ["temporal_frames"]),
        (dict(decoding="parallel"), ["decoding"]),
        (dict(encoding="siamese"), ["encoding"]),
    ],
)
def test_config_validation(fields, words):
    with pytest.raises(InputError) as error:
        tiny_config(**fields)
    assert all(word in str(error.value) for word in words)


def test_config_from_dict_refuses_unknown_decoding():
    data = to_dict(tiny_config())
    data["decoding"] = "parallel"
    with pytest.raises(InputError, match="decoding"):
        model_config_from_dict(data)


def test_history_required_iff_temporal():
    temporal = build(temporal_frames=2)
    templates, search, history = inputs(temporal.config)
    with pytest.raises(ValueError, match="needs history"):
        temporal.generate(templates, search)
    with pytest.raises(ValueError, match=r"\(B, 8\)"):
        temporal.generate(templates, search, history=history[:, :4])
    plain = build()
    with pytest.raises(ValueError, match="no temporal tokens"):
        plain(templates, search, teacher_sequence(), history=history)
