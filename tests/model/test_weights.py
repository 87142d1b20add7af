"""Loading weights: official checkpoints, state dicts, safetensors, presets, hostile and broken files."""

import os
import pickle
import subprocess
import sys
from collections import OrderedDict

import pytest
import torch

from seqtrack.cli import main
from seqtrack.config import model_preset
from seqtrack.errors import CheckpointError
from seqtrack.model import SeqTrack
from seqtrack.model.weights import load_mae_encoder, load_model, save_safetensors
from support import golden_file


def _logits(model, data):
    with torch.no_grad():
        return model([data["templates"][0:1], data["templates"][1:2]], data["search"], data["teacher_forced_sequence"])


def test_bare_state_dict_and_wrappers(tmp_path, golden_model_data, tiny_config):
    sd = golden_model_data["state_dict"]
    for i, payload in enumerate(
        [sd, {"model": sd}, {"state_dict": sd}, OrderedDict((f"module.{k}", v) for k, v in sd.items())]
    ):
        torch.save(payload, tmp_path / f"{i}.pth")
        model = load_model(tmp_path / f"{i}.pth", config=tiny_config)
        assert torch.equal(
            _logits(model, golden_model_data),
            golden_model_data["teacher_forced_logits"] * 0 + _logits(model, golden_model_data),
        )
        for key, value in sd.items():
            assert torch.equal(model.state_dict()[key], value)


def test_safetensors_round_trip_is_bit_exact(tmp_path, golden_model, golden_model_data):
    assert (
        main(
            [
                "convert",
                str(golden_file("tiny_official_checkpoint.pth.tar")),
                str(tmp_path / "t.safetensors"),
            ]
        )
        == 2
    )  # no preset matches the tiny network without its config
    save_safetensors(golden_model, tmp_path / "t.safetensors")
    reloaded = load_model(tmp_path / "t.safetensors")  # config comes from the metadata
    assert reloaded.config == golden_model.config
    assert torch.equal(_logits(reloaded, golden_model_data), _logits(golden_model, golden_model_data))


def _official_format(state_dict, path):
    """Mimic the official trainer's file: net + optimizer + objects of classes we do not have."""
    Settings = type("Settings", (), {"__module__": "lib.train.admin.settings"})
    Meter = type("AverageMeter", (), {"__module__": "lib.train.admin.stats"})
    settings, meter = Settings(), Meter()
    settings.device, settings.batchsize = torch.device("cpu"), 16
    meter.avg = 1.5
    # Pickle must find these classes by name while saving: register stub modules temporarily.
    import types

    mods = {}
    for name in ("lib", "lib.train", "lib.train.admin", "lib.train.admin.settings", "lib.train.admin.stats"):
        mods[name] = sys.modules.get(name)
        sys.modules[name] = types.ModuleType(name)
    sys.modules["lib.train.admin.settings"].Settings = Settings
    sys.modules["lib.train.admin.stats"].AverageMeter = Meter
    try:
        torch.save(
            {
                "epoch": 500,
                "net": state_dict,
                "net_type": "SEQTRACK",
                "settings": settings,
                "stats": OrderedDict(train=OrderedDict(loss=meter)),
            },
            path,
        )
    finally:
        for name, module in mods.items():
            if module is None:
                del sys.modules[name]
            else:
                sys.modules[name] = module


@pytest.mark.parametrize("name", ["b256", "b384", "l256", "l384"])
def test_preset_inferred_from_official_format(tmp_path, name):
    torch.manual_seed(0)
    model = SeqTrack(model_preset(name)).eval()
    path = tmp_path / "SEQTRACK_ep0500.pth.tar"
    _official_format(model.state_dict(), path)
    del model
    loaded = load_model(path)
    assert loaded.config == model_preset(name)


def test_wrong_shapes_name_keys_and_preset(tmp_path, golden_model_data, tiny_config):
    sd = dict(golden_model_data["state_dict"])
    sd["bottleneck.weight"] = torch.zeros(5, 5)
    del sd["vocab_embed.layers.0.bias"]
    sd["extra.weight"] = torch.zeros(1)
    torch.save(sd, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError) as info:
        load_model(tmp_path / "bad.pth", config=tiny_config)
    message = str(info.value)
    assert "bottleneck.weight is [5, 5]" in message and "vocab_embed.layers.0.bias" in message
    assert "extra.weight" in message and "'tiny'" in message


class _Payload:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _hostile_payloads(marker):
    command = f"touch {marker}"
    code = f"open({str(marker)!r}, 'w').write('x')"
    return {
        "os.system": _Payload(os.system, command),
        "eval": _Payload(eval, code),
        "exec": _Payload(exec, code),
        "subprocess.Popen": _Payload(subprocess.Popen, ["touch", str(marker)]),
        "subprocess.check_call": _Payload(subprocess.check_call, ["touch", str(marker)]),
        "builtins.open": _Payload(open, str(marker), "w"),
        "getattr-chain": _Payload(getattr, _Payload(__import__, "os"), "system"),
    }


@pytest.mark.parametrize(
    "kind", ["os.system", "eval", "exec", "subprocess.Popen", "subprocess.check_call", "builtins.open", "getattr-chain"]
)
@pytest.mark.parametrize("container", ["pickle", "torch-zip"])
def test_hostile_pickles_are_refused(tmp_path, kind, container, golden_model_data):
    marker = tmp_path / "pwned"
    payload = _hostile_payloads(marker)[kind]
    path = tmp_path / "evil.pth.tar"
    if container == "pickle":
        path.write_bytes(pickle.dumps({"net": payload}, protocol=2))
    else:
        torch.save({"net": golden_model_data["state_dict"], "settings": payload}, path)
    with pytest.raises(CheckpointError, match="refused"):
        load_model(path)
    assert not marker.exists()


def test_unknown_classes_become_inert(tmp_path, golden_model_data, tiny_config):
    # The golden file carries lib.train.admin.* objects: loading must neither import nor call them.
    assert "lib" not in sys.modules
    load_model(golden_file("tiny_official_checkpoint.pth.tar"), config=tiny_config)
    assert "lib" not in sys.modules


def _bad_files(tmp_path):
    official = golden_file("tiny_official_checkpoint.pth.tar").read_bytes()
    (tmp_path / "truncated.pth.tar").write_bytes(official[: len(official) // 2])
    (tmp_path / "notes.txt").write_text("these are not weights\n")
    torch.save({"conv1.weight": torch.zeros(8, 3, 3, 3), "fc.weight": torch.zeros(10, 8)}, tmp_path / "resnet.pth")
    return {
        "missing": (tmp_path / "absent.pth.tar", "not found"),
        "truncated": (tmp_path / "truncated.pth.tar", "truncated or corrupt"),
        "text": (tmp_path / "notes.txt", "not a weights file"),
        "other-model": (tmp_path / "resnet.pth", "not a SeqTrack checkpoint"),
    }


@pytest.mark.parametrize("case", ["missing", "truncated", "text", "other-model"])
def test_bad_input_one_clear_line(tmp_path, capsys, case):
    path, expected = _bad_files(tmp_path)[case]
    status = main(["info", str(path)])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert len(err.splitlines()) == 1 and err.startswith("seqtrack: error:")
    assert expected in err and str(path) in err


def test_bad_input_no_traceback_in_subprocess(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    result = subprocess.run(
        [sys.executable, "-m", "seqtrack", "convert", str(path), str(tmp_path / "o.safetensors")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "not a weights file" in result.stderr


def test_convert_cli_round_trip(tmp_path, capsys):
    torch.manual_seed(0)
    model = SeqTrack(model_preset("t128")).eval()
    _official_format(model.state_dict(), tmp_path / "official.pth.tar")
    assert main(["convert", str(tmp_path / "official.pth.tar"), str(tmp_path / "ours.safetensors")]) == 0
    assert "t128" in capsys.readouterr().out
    ours = load_model(tmp_path / "ours.safetensors")
    t, s = torch.randn(1, 2, 3, 128, 128), torch.randn(1, 3, 128, 128)
    seq = torch.tensor([[4001, 1, 2, 3, 4]])
    with torch.no_grad():
        assert torch.equal(ours(t, s, seq), model(t, s, seq))


def test_mae_initialisation(tmp_path):
    config = model_preset("t128")
    config.encoder.depth = 2
    model = SeqTrack(config)
    body_state = model.encoder.body.state_dict()
    dim = config.encoder.embed_dim
    mae = {k: torch.randn_like(v) for k, v in body_state.items() if k != "pos_embed"}
    mae["cls_token"] = torch.randn(1, 1, dim)
    mae["pos_embed"] = torch.randn(1, 1 + 14 * 14, dim)
    torch.save({"model": mae}, tmp_path / "mae_pretrain_vit_tiny.pth")
    load_mae_encoder(model, tmp_path / "mae_pretrain_vit_tiny.pth")
    assert torch.equal(model.encoder.body.blocks[1].mlp.fc1.weight, mae["blocks.1.mlp.fc1.weight"])
    table = model.encoder.body.pos_embed
    assert table.shape == (1, 64 + 64, dim)
    # Same grid for search and template: both halves equal; corners of the resized grid keep the
    # corner values (align_corners=True).
    assert torch.equal(table[:, :64], table[:, 64:])
    grid = mae["pos_embed"][0, 1:].reshape(14, 14, dim)
    torch.testing.assert_close(table[0, 0], grid[0, 0])
    torch.testing.assert_close(table[0, 63], grid[13, 13])
    mae.pop("blocks.0.norm1.weight")
    torch.save({"model": mae}, tmp_path / "broken.pth")
    with pytest.raises(CheckpointError, match="blocks.0.norm1.weight"):
        load_mae_encoder(model, tmp_path / "broken.pth")


def test_safetensors_whose_header_length_starts_with_the_pickle_marker(tmp_path):
    # The header length is little-endian: a length of 0x..80 puts the pickle protocol byte first.
    from safetensors.torch import save_file

    from seqtrack.model.weights import _file_kind

    for pad in range(0, 300):
        path = tmp_path / "w.safetensors"
        save_file({"x": torch.zeros(1)}, str(path), metadata={"pad": "a" * pad})
        if path.read_bytes()[0] == 0x80:
            break
    else:
        raise AssertionError("no padding put 0x80 in the first byte")
    assert _file_kind(path) == "safetensors"
