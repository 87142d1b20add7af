import json

import numpy as np
import pytest
import torch

from seqtrack.config import model_preset
from seqtrack.model import SeqTrack
from seqtrack.model.weights import expected_shapes
from support import REPO

OFFICIAL_COUNTS = {"b256": 90_596_002, "b384": 91_169_442, "l256": 308_244_898, "l384": 308_982_178}


@pytest.mark.parametrize("name", list(OFFICIAL_COUNTS))
def test_parameter_counts_and_key_order(name):
    with torch.device("meta"):
        model = SeqTrack(model_preset(name))
    assert sum(p.numel() for p in model.parameters()) == OFFICIAL_COUNTS[name]
    official = json.loads((REPO / "tests" / "fixtures" / "official-state-dict-shapes.json").read_text())
    keys = official[f"seqtrack_{name}"]["keys"]
    assert [(k, tuple(s)) for k, s in keys] == list(expected_shapes(model_preset(name)).items())


def _random_inputs(config, batch, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.randn(batch, config.num_templates, 3, config.template_size, config.template_size, generator=g)
    s = torch.randn(batch, 3, config.search_size, config.search_size, generator=g)
    return t, s


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    config = model_preset("t128")
    config.encoder.depth = 2
    return SeqTrack(config).eval()


@pytest.mark.parametrize("pre_norm", [False, True])
def test_cached_generate_equals_full_recomputation(pre_norm):
    torch.manual_seed(1)
    config = model_preset("t128")
    config.encoder.depth = 1
    config.decoder.pre_norm = pre_norm
    model = SeqTrack(config).eval()
    templates, search = _random_inputs(config, 2)
    tokens, probs = model.generate(templates, search, window=True)
    # Recompute every step with the full, uncached, teacher-forced decoder (the official procedure).
    with torch.no_grad():
        memory = model.encode(templates, search)
        sequence = torch.full((2, 1), config.bins + 1)
        window = torch.from_numpy(__import__("numpy").hanning(config.bins))
        for step in range(4):
            p = model.decode(memory, sequence)[:, -1].softmax(-1)[:, : config.bins].double()
            if step < 2:
                p = p * window
            value, index = p.max(-1)
            assert torch.equal(index, tokens[:, step])
            torch.testing.assert_close(value, probs[:, step], rtol=1e-5, atol=1e-7)
            sequence = torch.cat([sequence, index[:, None]], dim=1)


def test_window_power(small_model):
    """window=True is power 1, False is power 0, and power p multiplies the centre steps by hann**p."""
    templates, search = _random_inputs(small_model.config, 3)
    on = small_model.generate(templates, search, window=True)
    off = small_model.generate(templates, search, window=False)
    for power, expected in ((1.0, on), (0.0, off)):
        got = small_model.generate(templates, search, window=power)
        assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])
    strong = small_model.generate(templates, search, window=3.0)
    with torch.no_grad():
        memory = small_model.encode(templates, search)
        sequence = torch.full((3, 1), small_model.config.bins + 1)
        window = torch.from_numpy(np.hanning(small_model.config.bins) ** 3)
        for step in range(4):
            p = small_model.decode(memory, sequence)[:, -1].softmax(-1)[:, : small_model.config.bins].double()
            if step < 2:
                p = p * window
            value, index = p.max(-1)
            assert torch.equal(index, strong[0][:, step])
            torch.testing.assert_close(value, strong[1][:, step], rtol=1e-5, atol=1e-7)
            sequence = torch.cat([sequence, index[:, None]], dim=1)
    with pytest.raises(ValueError, match="window power"):
        small_model.generate(templates, search, window=-1.0)


def test_batch_of_three_equals_single_runs(small_model):
    templates, search = _random_inputs(small_model.config, 3, seed=2)
    tokens, probs = small_model.generate(templates, search)
    for i in range(3):
        t1, p1 = small_model.generate(templates[i : i + 1], search[i : i + 1])
        assert torch.equal(t1[0], tokens[i])
        torch.testing.assert_close(p1[0], probs[i], rtol=1e-5, atol=1e-7)


def test_teacher_forced_shapes_and_causality(small_model):
    templates, search = _random_inputs(small_model.config, 2)
    seq = torch.tensor([[4001, 10, 20, 30, 40], [4001, 50, 60, 70, 80]])
    with torch.no_grad():
        logits = small_model(templates, search, seq)
        assert logits.shape == (2, 5, 4002)
        changed = seq.clone()
        changed[:, 3] = 999  # a later token must not change earlier positions
        logits2 = small_model(templates, search, changed)
    torch.testing.assert_close(logits[:, :3], logits2[:, :3])
    assert not torch.allclose(logits[:, 3:], logits2[:, 3:])


@pytest.mark.parametrize("feature_type,fmt", [("xz", "whxy"), ("token", "corner")])
def test_ablation_variants_run(feature_type, fmt):
    config = model_preset("t128")
    config.encoder.depth = 1
    config.feature_type, config.seq_format = feature_type, fmt
    model = SeqTrack(config).eval()
    assert model.pos_embed.shape[1] == config.num_memory_tokens
    tokens, probs = model.generate(*_random_inputs(config, 2))
    assert tokens.shape == (2, 4) and probs.shape == (2, 4) and (tokens < config.bins).all()


def test_conv_stem_model_shapes_and_round_trip(tmp_path):
    from seqtrack.config import DecoderConfig, EncoderConfig, ModelConfig
    from seqtrack.model.seqtrack import SeqTrack
    from seqtrack.model.vit import ConvStem
    from seqtrack.model.weights import load_model, save_safetensors

    config = ModelConfig(
        encoder=EncoderConfig(embed_dim=64, depth=2, num_heads=2, stem="conv"),
        decoder=DecoderConfig(hidden_dim=32, num_heads=2, dim_feedforward=64),
        template_size=64,
        search_size=64,
        bins=50,
        name="stem",
    )
    torch.manual_seed(0)
    model = SeqTrack(config).eval()
    stem = model.encoder.body.patch_embed
    assert isinstance(stem, ConvStem)
    assert stem(torch.zeros(2, 3, 64, 64)).shape == (2, 16, 64)  # (B, (64/16)^2, D)
    templates, search = torch.randn(1, 2, 3, 64, 64), torch.randn(1, 3, 64, 64)
    seq = torch.tensor([[51, 10, 20, 30, 40]])
    logits = model(templates, search, seq)
    assert logits.shape == (1, 5, 52)
    path = tmp_path / "stem.safetensors"
    save_safetensors(model, path)
    loaded = load_model(path)
    assert loaded.config.encoder.stem == "conv"
    assert torch.equal(loaded(templates, search, seq), logits)


def test_bad_stem_is_rejected():
    from seqtrack.config import EncoderConfig, ModelConfig
    from seqtrack.errors import InputError

    with pytest.raises(InputError, match="encoder.stem"):
        ModelConfig(encoder=EncoderConfig(stem="vgg"))
    with pytest.raises(InputError, match="patch_size 16"):
        ModelConfig(encoder=EncoderConfig(stem="conv", patch_size=8), template_size=64, search_size=64)


def test_prior_tensor_equals_the_window_switch(small_model):
    """``prior`` (what the ONNX graph passes) gives bit-identical results: Hann = window on, ones = off."""
    templates, search = _random_inputs(small_model.config, 2, seed=4)
    hann = small_model.hann_window(torch.device("cpu"))
    with torch.inference_mode():
        memory = small_model.encode(templates, search)
        for prior, window in ((hann, True), (torch.ones_like(hann), False), (hann**2, 2.0)):
            got = small_model.generate_from_memory(memory, window=not window, prior=prior)  # window is ignored
            expected = small_model.generate(templates, search, window=window)
            assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])


def test_device_and_dtype_follow_the_parameters(small_model):
    assert small_model.device == torch.device("cpu") and small_model.dtype == torch.float32
    moved = SeqTrack(small_model.config).to(device="meta", dtype=torch.bfloat16)
    assert moved.device.type == "meta" and moved.dtype == torch.bfloat16


def test_decoder_steps_equal_the_teacher_forced_pass(small_model):
    """A causal prefill and single-token steps give the uncached states; ``causal`` is explicit."""
    templates, search = _random_inputs(small_model.config, 2, seed=5)
    sequence = torch.tensor([[4001, 10, 20, 30], [4001, 50, 60, 70]])
    decoder = small_model.decoder
    with torch.inference_mode():
        memory = small_model.encode(templates, search)
        memory_pos = small_model.pos_embed[:, : memory.shape[1]]
        full = decoder(sequence, memory, memory_pos)  # (2, 4, d)
        cache = decoder.start(memory, memory_pos)
        prefill = decoder.step(sequence[:, :2], cache, causal=True)
        steps = [decoder.step(sequence[:, i : i + 1], cache) for i in (2, 3)]
        with pytest.raises(ValueError, match="decodes one token"):
            decoder.step(sequence[:, :2], cache)
        with pytest.raises(ValueError, match="only start an empty cache"):
            decoder.step(sequence[:, :2], cache, causal=True)
    torch.testing.assert_close(torch.cat([prefill] + steps, dim=1), full, rtol=1e-5, atol=1e-6)
    assert cache.length == 4
