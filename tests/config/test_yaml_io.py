"""Configs in and out of YAML: our layout, presets with overrides, unknown keys."""

import pytest

from seqtrack.config import experiment_preset, load_yaml, save_yaml
from seqtrack.errors import InputError


def test_yaml_round_trip(tmp_path):
    config = experiment_preset("t128")
    save_yaml(config, tmp_path / "c.yaml")
    assert load_yaml(tmp_path / "c.yaml") == config


def test_yaml_preset_with_override(tmp_path):
    (tmp_path / "c.yaml").write_text("preset: b256\nmodel:\n  bins: 1000\ntrain:\n  batch_size: 4\n")
    config = load_yaml(tmp_path / "c.yaml")
    assert config.model.bins == 1000 and config.model.encoder.embed_dim == 768 and config.train.batch_size == 4


def test_yaml_unknown_key(tmp_path):
    (tmp_path / "c.yaml").write_text("model:\n  binz: 3\n")
    with pytest.raises(InputError, match="binz"):
        load_yaml(tmp_path / "c.yaml")


def test_yaml_unknown_key_in_a_nested_section(tmp_path):
    (tmp_path / "c.yaml").write_text("model:\n  encoder:\n    depht: 3\n")
    with pytest.raises(InputError, match=r"c.yaml: model.encoder.depht: unknown key \(did you mean 'depth'\?\)"):
        load_yaml(tmp_path / "c.yaml")


def test_yaml_scientific_notation_without_a_dot_is_a_number(tmp_path):
    # YAML 1.1 (PyYAML) reads 1e-4 as the string "1e-4"; the config check makes it the float.
    (tmp_path / "c.yaml").write_text("preset: t128\ntrain: {lr: 1e-4, weight_decay: 5e-2, epochs: 8.0}\n")
    config = load_yaml(tmp_path / "c.yaml")
    assert config.train.lr == 1e-4 and type(config.train.lr) is float and config.train.weight_decay == 0.05
    assert config.train.epochs == 8 and type(config.train.epochs) is int


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("train: {lr: abc}\n", "c.yaml: train.lr: expected a number (float), got 'abc' (str)"),
        ("train: {batch_size: 2.5}\n", "c.yaml: train.batch_size: expected an integer (int), got 2.5 (float)"),
        ("train: {amp: fp32}\n", "c.yaml: train.amp: expected one of 'off', 'fp16', 'bf16', got 'fp32' (str)"),
        ("model: {center_head: yes please}\n", "c.yaml: model.center_head: expected true or false (bool)"),
        ("train: {datasets: [LASOT, 3]}\n", "c.yaml: train.datasets[1]: expected a string (str), got 3 (int)"),
        ("tracker: {update_presets: {lasot: {interval: x}}}\n", "c.yaml: tracker.update_presets.lasot.interval: "),
        ("train: 5\n", "c.yaml: train: expected a mapping (the fields of TrainConfig), got 5 (int)"),
        ("trian: {lr: 1}\n", "c.yaml: trian: unknown key (did you mean 'train'?); valid keys: model, tracker, train, "),
        ("preset: [b256]\n", "c.yaml: preset: expected a string (str), got ['b256'] (list)"),
        ("preset: b512\n", "c.yaml: preset: unknown model preset 'b512'"),
        ("train: [1\n", "c.yaml is not valid YAML: expected ',' or ']'"),
    ],
)
def test_yaml_errors_are_one_line_naming_file_key_type_and_value(tmp_path, text, message):
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(InputError) as info:
        load_yaml(tmp_path / "c.yaml")
    shown = str(info.value).replace(str(tmp_path) + "/", "")
    assert shown.startswith(message) and "\n" not in shown


def test_yaml_base_file_is_laid_under_the_file(tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "baseline.yaml").write_text(
        "preset: t128\nmodel: {bins: 128, name: base}\ntrain: {lr: 2e-4, epochs: 3}\n"
    )
    (tmp_path / "row.yaml").write_text("base: shared/baseline.yaml\nmodel: {seq_format: whxy}\ntrain: {epochs: 5}\n")
    config = load_yaml(tmp_path / "row.yaml")
    assert config.model.seq_format == "whxy"
    assert config.model.bins == 128 and config.model.name == "base"  # from the base file
    assert config.model.encoder.embed_dim == 192  # from the base file's preset (t128)
    assert config.train.lr == 2e-4 and config.train.epochs == 5


@pytest.mark.parametrize(
    "files, message",
    [
        ({"a.yaml": "base: a.yaml\n"}, "cycle"),
        ({"a.yaml": "base: b.yaml\n", "b.yaml": "base: a.yaml\n"}, "cycle"),
        ({"a.yaml": "base: missing.yaml\n"}, "file not found: missing.yaml"),
        ({"a.yaml": "base: b.yaml\npreset: t128\n", "b.yaml": "{}\n"}, "not both"),
        ({"a.yaml": "base: 3\n"}, "base"),
        ({"a.yaml": "base: b.yaml\n", "b.yaml": "MODEL: {}\n"}, "official experiment file"),
        ({"a.yaml": "base: b.yaml\n", "b.yaml": "bogus: 1\n"}, "bogus"),
    ],
)
def test_yaml_bad_base_is_one_error_naming_the_file(tmp_path, files, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(InputError, match=message) as caught:
        load_yaml(tmp_path / "a.yaml")
    assert "yaml" in str(caught.value)


def test_yaml_base_chain_depth_is_bounded(tmp_path):
    for i in range(12):
        (tmp_path / f"c{i}.yaml").write_text(f"base: c{i + 1}.yaml\n")
    (tmp_path / "c12.yaml").write_text("{}\n")
    with pytest.raises(InputError, match="chained"):
        load_yaml(tmp_path / "c0.yaml")
