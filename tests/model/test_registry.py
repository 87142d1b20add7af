"""Models by name (`seqtrack.model.registry`) and weights headers read without torch (`seqtrack.model.header`)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from seqtrack.errors import CheckpointError, InputError
from seqtrack.model import registry
from seqtrack.model.header import read_header
from seqtrack.model.registry import REGISTRY, resolve_weights, sha256_of
from seqtrack.model.weights import load_model, save_safetensors
from support import golden_file


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQTRACK_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_demo_resolves_inside_the_package_with_its_registered_digest():
    path = resolve_weights("demo")
    assert path.is_file() and path.parent.name == "assets"
    assert sha256_of(path) == REGISTRY["demo"].sha256
    header = read_header(path)
    assert header.format == "safetensors" and header.parameters == REGISTRY["demo"].parameters


def test_an_absent_official_model_says_which_file_to_put_where(home):
    with pytest.raises(CheckpointError) as error:
        resolve_weights("b256")
    message = str(error.value)
    assert str(home / "seqtrack_b256" / "SEQTRACK_ep0500.pth.tar") in message
    assert str(home / "seqtrack_b256.safetensors") in message
    assert "official SeqTrack release" in message and "SEQTRACK_HOME" in message and "nothing is downloaded" in message


def test_an_official_model_put_under_the_home_is_found(home, golden_model):
    (home / "seqtrack_l384_got").mkdir(parents=True)
    target = home / "seqtrack_l384_got" / "SEQTRACK_ep0500.pth.tar"
    target.write_bytes(golden_file("tiny_official_checkpoint.pth.tar").read_bytes())
    assert resolve_weights("L384_GOT") == target  # names are case-insensitive
    save_safetensors(golden_model, home / "seqtrack_l384_got.safetensors")
    assert resolve_weights("l384_got") == home / "seqtrack_l384_got.safetensors"  # the converted file first


def test_unknown_names_and_paths_are_told_apart(tmp_path, monkeypatch):
    with pytest.raises(CheckpointError, match="not a model name: demo, b256"):
        resolve_weights("b512")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").write_bytes(b"x")
    assert resolve_weights("demo").resolve() == tmp_path / "demo"  # an existing path wins over a name


def test_a_file_with_the_wrong_digest_is_refused(tmp_path, monkeypatch):
    fake = tmp_path / "fake.safetensors"
    fake.write_bytes(resolve_weights("demo").read_bytes()[:-1] + b" ")
    entry = dataclasses.replace(REGISTRY["demo"], packaged=None, files=(str(fake),))
    monkeypatch.setitem(registry.REGISTRY, "demo", entry)
    with pytest.raises(CheckpointError, match="does not have the sha256 registered"):
        resolve_weights("demo")


def test_tracker_settings_round_trip_and_bad_ones_are_refused(tmp_path, golden_model):
    path = tmp_path / "t.safetensors"
    save_safetensors(golden_model, path, {"window_power": 2.0, "hold_score": 1.0})
    assert read_header(path).tracker == {"hold_score": 1.0, "window_power": 2.0}
    assert read_header(path).config["name"] == golden_model.config.name
    with pytest.raises(Exception, match="window_power"):
        save_safetensors(golden_model, tmp_path / "bad.safetensors", {"window_power": -1.0})
    with pytest.raises(InputError, match="tracker.no_such_field: unknown key"):  # one line, no TypeError
        save_safetensors(golden_model, tmp_path / "bad.safetensors", {"no_such_field": 1})
    assert not (tmp_path / "bad.safetensors").exists()


def test_official_files_have_no_header_but_load(tiny_config):
    header = read_header(golden_file("tiny_official_checkpoint.pth.tar"))
    assert header.format == "pytorch" and header.config is None and header.tracker == {}


def test_loading_builds_the_network_once(monkeypatch):
    from seqtrack.model import seqtrack as network

    built = []
    original = network.SeqTrack.__init__

    def counting(self, config):
        built.append(config.name)
        original(self, config)

    monkeypatch.setattr(network.SeqTrack, "__init__", counting)
    model = load_model("demo")
    assert built == ["demo"] and isinstance(model, torch.nn.Module)


def test_a_folder_named_like_a_model_does_not_hide_the_model(tmp_path, monkeypatch):
    # `seqtrack demo --out-dir demo` (what `make demo` runs) leaves a folder `demo` in the working folder.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()
    assert resolve_weights("demo").parent.name == "assets"
    (tmp_path / "demo").rmdir()
    (tmp_path / "demo").write_bytes(b"a file called demo wins over the name")
    assert resolve_weights("demo").resolve() == tmp_path / "demo"
    (tmp_path / "other").mkdir()  # an unregistered folder stays a path (refused later as not a file)
    assert resolve_weights("other").resolve() == tmp_path / "other"
