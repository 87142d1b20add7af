"""Model presets and the string-choice fields of `ModelConfig`."""

import typing

import pytest

from seqtrack.config import (
    ENCODER_STEMS,
    FEATURE_TYPES,
    MODEL_PRESETS,
    SEQ_FORMATS,
    EncoderConfig,
    EncoderStem,
    FeatureType,
    ModelConfig,
    SeqFormat,
    model_preset,
)
from seqtrack.errors import InputError


def test_presets_are_official():
    b256 = model_preset("b256")
    assert (b256.encoder.embed_dim, b256.encoder.depth, b256.encoder.num_heads) == (768, 12, 12)
    assert (b256.search_size, b256.template_size, b256.num_templates, b256.bins) == (256, 256, 2, 4000)
    assert (b256.decoder.hidden_dim, b256.decoder.num_layers, b256.decoder.num_heads) == (256, 2, 8)
    l384 = model_preset("seqtrack_l384")
    assert (l384.encoder.embed_dim, l384.encoder.depth, l384.search_size) == (1024, 24, 384)
    assert l384.num_memory_tokens == 576


def test_preset_copy_is_independent():
    a = model_preset("b256")
    a.encoder.depth = 3
    assert MODEL_PRESETS["b256"].encoder.depth == 12


def test_choices_are_the_literal_types():
    # One source for the annotation and for the tuples that validation, the CLI and the tokens use.
    hints = typing.get_type_hints(ModelConfig)
    assert hints["feature_type"] is FeatureType and FEATURE_TYPES == ("x", "xz", "token")
    assert hints["seq_format"] is SeqFormat and SEQ_FORMATS == ("xywh", "whxy", "corner")
    assert typing.get_type_hints(EncoderConfig)["stem"] is EncoderStem and ENCODER_STEMS == ("patch", "conv")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"feature_type": "y"}, "feature_type must be one of"),
        ({"seq_format": "xyxy"}, "seq_format must be one of"),
        # A dict section is checked against the field types first (seqtrack.config.check).
        ({"encoder": {"stem": "vit"}}, "encoder.stem: expected one of 'patch', 'conv', got 'vit'"),
    ],
)
def test_unknown_choices_are_refused(kwargs, message):
    with pytest.raises(InputError, match=message):
        ModelConfig(**kwargs)


def test_dict_sections_become_dataclasses():
    config = ModelConfig(encoder={"depth": 2}, decoder={"num_layers": 1})
    assert isinstance(config.encoder, EncoderConfig) and config.encoder.depth == 2
    assert config.decoder.num_layers == 1
