"""Hostile pickles, torch files and TorchScript archives: refused by the weights reader before anything in
them runs or is allocated; genuine torch files (zip and legacy) still load exactly."""

from __future__ import annotations

import collections
import io
import pickle
import struct
import tracemalloc
import zipfile

import pytest
import torch

from security import hostile
from seqtrack.errors import CheckpointError
from seqtrack.model import safe_pickle
from seqtrack.model.weights import load_model, read_state_dict
from support import golden_file

PAYLOADS = ("os.system", "eval", "builtins.exec", "subprocess.Popen", "subprocess.check_call", "builtins.open")
PAYLOADS += ("getattr-chain",)
RAW_CALLS = ("os.system", "posix.system", "nt.system", "builtins.eval", "builtins.exec", "__builtin__.eval")
RAW_CALLS += ("subprocess.getoutput", "importlib.import_module", "runpy.run_path", "os.popen")


def _refused(path, expected: str = "refused") -> str:
    with pytest.raises(CheckpointError) as info:
        read_state_dict(path)
    message = str(info.value)
    assert expected in message and str(path) in message and "\n" not in message, message
    return message


def _expected(path) -> str:
    """What the refusal says: pickles below protocol 2 do not even look like a torch file."""
    head = path.read_bytes()[:2]
    return "refused" if head[:1] == b"\x80" or head == b"PK" else "not a weights file"


# torch.save's zip layout needs protocol 2 or above (storages are persistent ids of tuples).
CONTAINERS = [(c, p) for c in ("plain pickle", "zip", "torch.save legacy") for p in hostile.PROTOCOLS]
CONTAINERS += [("torch.save zip", p) for p in hostile.PROTOCOLS if p >= 2]


@pytest.mark.parametrize("container, protocol", CONTAINERS)
@pytest.mark.parametrize("kind", PAYLOADS)
def test_python_pickled_payloads(tmp_path, marker, kind, container, protocol):
    payload = hostile.payloads(marker)[kind]
    path = tmp_path / "evil.pth.tar"
    obj = {"net": {"w": torch.zeros(2)}, "settings": payload}
    if container == "plain pickle":
        path.write_bytes(pickle.dumps({"net": payload}, protocol=protocol))
    elif container == "zip":
        hostile.write_zip(path, pickle.dumps({"net": payload}, protocol=protocol))
    elif container == "torch.save zip":
        torch.save(obj, path, pickle_protocol=protocol)
    else:
        hostile.write_legacy(path, obj, protocol=protocol)
    _refused(path, _expected(path))


@pytest.mark.parametrize("protocol", hostile.PROTOCOLS)
@pytest.mark.parametrize("container", ["plain pickle", "zip"])
@pytest.mark.parametrize("call", RAW_CALLS)
def test_hand_written_calls(tmp_path, marker, probe_on_path, call, container, protocol):
    module, name, argument = hostile.raw_calls(marker, probe_on_path)[call]
    data = hostile.raw_call(module, name, argument, protocol)
    path = tmp_path / "evil.pth"
    if container == "plain pickle":
        path.write_bytes(data)
    else:
        hostile.write_zip(path, data)
    _refused(path, _expected(path))


def test_the_payloads_are_real(tmp_path, marker):
    """Control: the hand-written pickles do run under the standard unpickler (here with a harmless
    target), so the refusals above are not vacuous."""
    target = tmp_path / "control"
    pickle.loads(hostile.raw_call("builtins", "exec", f"open({str(target)!r}, 'w').write('x')", 4))
    assert target.exists()


@pytest.fixture
def torch_loaders_disabled(monkeypatch):
    """Every torch loader raises: what passes must have been read by our own code."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a torch loader was called")

    for owner, name in ((torch, "load"), (torch.jit, "load"), (torch.serialization, "_load")):
        monkeypatch.setattr(owner, name, forbidden)
    monkeypatch.setattr(torch.serialization, "_legacy_load", forbidden)


@pytest.mark.parametrize("name", ["scripted.pth.tar", "scripted.pt", "scripted.pth", "scripted.bin"])
def test_torchscript_archives_never_reach_a_torch_loader(tmp_path, marker, torch_loaders_disabled, name):
    path = hostile.write_torchscript(tmp_path / name, marker)
    message = _refused(path, "TorchScript archive")
    assert "constants.pkl" in message or "code/" in message


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript_control_runs_under_torch_load(tmp_path):
    """Control: ``torch.load`` itself would run the archive's ``__setstate__`` (what the reader prevents)."""
    target = tmp_path / "control"
    path = hostile.write_torchscript(tmp_path / "scripted.pth.tar", target)
    with pytest.warns(UserWarning, match="TorchScript"):
        torch.load(path, weights_only=False)
    assert target.read_bytes() == b"AAAA"


@pytest.mark.parametrize("entry", ["archive/sub/constants.pkl", "archive/code/__torch__.py", "archive/a/b/code/x"])
def test_torchscript_entries_at_any_depth(tmp_path, small_model, entry):
    path = tmp_path / "w.pth.tar"
    torch.save(small_model.state_dict(), path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(entry, b"")
    _refused(path, "TorchScript archive")


def test_golden_checkpoint_is_read_without_torch_loaders(torch_loaders_disabled, golden_model_data):
    tensors, config = read_state_dict(golden_file("tiny_official_checkpoint.pth.tar"))
    reference = golden_model_data["state_dict"]
    assert config is None and tensors.keys() == reference.keys()
    assert all(torch.equal(tensors[k], v) and tensors[k].dtype == v.dtype for k, v in reference.items())


def _awkward_state() -> dict:
    """Tensors that exercise storages: shared, views, offsets, strides, several dtypes, parameters."""
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    return {
        "base": base,
        "view": base[1:, 2:5],  # offset and strides into the same storage
        "transposed": base.t(),
        "half": torch.linspace(0, 1, 7, dtype=torch.float16),
        "bool": torch.tensor([True, False, True]),
        "long": torch.arange(5),
        "empty": torch.zeros(0, 3),
        "scalar": torch.tensor(3.5, dtype=torch.float64),
        "param": torch.nn.Parameter(torch.ones(2, 2)),
        "bf16": torch.ones(3, dtype=torch.bfloat16),
    }


@pytest.mark.parametrize("layout", ["zip", "legacy"])
@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_genuine_files_load_exactly(tmp_path, layout, protocol):
    state = _awkward_state()
    path = tmp_path / "w.pth"
    torch.save({"model": state}, path, pickle_protocol=protocol, _use_new_zipfile_serialization=layout == "zip")
    loaded = safe_pickle.load_checkpoint(path)["model"]
    for key, value in state.items():
        assert torch.equal(loaded[key], value) and loaded[key].dtype == value.dtype, key
        assert loaded[key].stride() == value.stride(), key
    assert loaded["view"].untyped_storage().data_ptr() == loaded["base"].untyped_storage().data_ptr()
    assert isinstance(loaded["param"], torch.nn.Parameter)


def test_unknown_classes_stay_inert_and_are_never_imported(tmp_path, small_model, probe_on_path):
    import types

    module = types.ModuleType(hostile.IMPORT_MODULE)  # only while saving: pickle finds the class by name
    module.Thing = type("Thing", (), {"__module__": hostile.IMPORT_MODULE})
    path = tmp_path / "official.pth.tar"
    import sys

    sys.modules[hostile.IMPORT_MODULE] = module
    try:
        torch.save({"net": small_model.state_dict(), "settings": module.Thing()}, path)
    finally:
        del sys.modules[hostile.IMPORT_MODULE]
    model = load_model(path, config=hostile.small_config())  # loads: the object is a placeholder
    assert torch.equal(model.bottleneck.weight, small_model.bottleneck.weight)


def _unpickle(data: bytes, limit: int = 1 << 20) -> safe_pickle.AllocationBudget:
    budget = safe_pickle.AllocationBudget(limit)
    with pytest.raises((CheckpointError, pickle.UnpicklingError, EOFError)):  # the reader turns all into one
        safe_pickle.Unpickler(io.BytesIO(data), budget=budget).load()
    return budget


@pytest.mark.parametrize(
    "name, data",
    [
        ("bytearray(2**31)", pickle.dumps(hostile.Payload(bytearray, 1 << 31), protocol=2)),
        ("BYTEARRAY8 of 2**40", b"\x80\x05\x96" + struct.pack("<Q", 1 << 40) + b"."),
        ("BINBYTES8 of 2**40", b"\x80\x04\x8e" + struct.pack("<Q", 1 << 40) + b"xx."),
        ("bytearray from a huge str", pickle.dumps(hostile.Payload(bytearray, "a" * 10**6, "latin-1"), protocol=2)),
    ],
)
def test_allocation_bombs_are_refused_before_allocating(name, data):
    tracemalloc.start()
    try:
        budget = _unpickle(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert budget.used == 0, name  # nothing was granted
    assert peak < 8 << 20, f"{name}: {peak:,} bytes allocated"


def test_bomb_files_are_refused(hostile_weights):
    assert len(hostile_weights["bytearray bomb"].read_bytes()) < 64  # a tiny file asking for 2 GiB
    for name in ("bytearray bomb", "legacy storage bomb"):
        assert "nothing was allocated" in _refused(hostile_weights[name]), name
    assert "should hold" in _refused(hostile_weights["zip storage bomb"], "storage data/0")


def test_numpy_rebuilders_stay_inert(tmp_path):
    # numpy's _reconstruct would allocate the shape the file states (10^10 elements): kept as a placeholder.
    data = b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n\x8a\x05\x00\xe4\x0bT\x02\x85C\x01b\x87R."
    obj = safe_pickle.Unpickler(io.BytesIO(data)).load()
    assert isinstance(obj, safe_pickle.Placeholder) and obj.args[1] == (10**10,)


class _Reduce:
    def __init__(self, *reduced) -> None:
        self.reduced = reduced

    def __reduce__(self):
        return self.reduced


@pytest.mark.parametrize(
    "name, obj",
    [
        ("BUILD on a device", _Reduce(torch.device, ("cpu",), {"type": "cuda"})),
        ("set(tensor): one object per element", _Reduce(set, (torch.zeros(4),))),
        ("OrderedDict BUILD with a tuple", _Reduce(collections.OrderedDict, (), ({}, {"x": 1}))),
    ],
)
def test_calls_and_state_outside_the_rules_are_refused(tmp_path, name, obj):
    path = tmp_path / "w.pth"
    torch.save({"net": obj}, path)
    _refused(path)


@pytest.mark.parametrize(
    "name, data",
    [
        ("NEWOBJ of torch.Size", b"\x80\x02ctorch\nSize\n)\x81."),
        ("NEWOBJ_EX of a device", b"\x80\x04ctorch\ndevice\n)}\x92."),
        ("REDUCE of a dtype", b"\x80\x02ctorch\nfloat32\n)R."),
        ("persistent id that is not a storage", b"\x80\x02X\x03\x00\x00\x00abcQ."),
    ],
)
def test_hand_written_opcodes_outside_the_rules(tmp_path, name, data):
    _refused(hostile.write_zip(tmp_path / "w.pth", data))
