"""Builders of hostile weights files for the security tests. Every payload, if it ever ran, would create
the file ``marker``; the tests assert that it never exists.

Imported by the tests as ``security.hostile`` (``tests/`` is on ``sys.path``).
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import warnings
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

from seqtrack.config import DecoderConfig, EncoderConfig, ModelConfig, to_dict

PROTOCOLS = tuple(range(pickle.HIGHEST_PROTOCOL + 1))  # 0..5
IMPORT_MODULE = "seqtrack_hostile_import_probe"  # a module whose import would create the marker


class Payload:
    """An object that pickles as the call ``func(*args)``."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple:
        return self.func, self.args


def payloads(marker: Path) -> dict[str, Any]:
    """Name -> an object whose unpickling would create ``marker`` (pickled by Python's own pickler)."""
    command, code = f"touch {marker}", f"open({str(marker)!r}, 'w').write('x')"
    return {
        "os.system": Payload(os.system, command),  # pickles as posix.system on Linux
        "eval": Payload(eval, code),
        "builtins.exec": Payload(exec, code),
        "subprocess.Popen": Payload(subprocess.Popen, ["touch", str(marker)]),
        "subprocess.check_call": Payload(subprocess.check_call, ["touch", str(marker)]),
        "builtins.open": Payload(open, str(marker), "w"),
        "getattr-chain": Payload(getattr, Payload(__import__, "os"), "system"),
    }


def raw_call(module: str, name: str, argument: str, protocol: int) -> bytes:
    """A hand-written pickle calling ``module.name(argument)`` (any module name, e.g. ``os`` rather than
    the ``posix`` Python's pickler writes), with GLOBAL below protocol 4 and STACK_GLOBAL from 4 on."""

    def text(value: str) -> bytes:
        data = value.encode()
        return b"X" + struct.pack("<I", len(data)) + data

    if protocol < 2:
        return f"c{module}\n{name}\n(V{argument}\ntR.".encode()
    head = b"\x80" + bytes([protocol])
    if protocol < 4:
        return head + f"c{module}\n{name}\n".encode() + text(argument) + b"\x85R."
    return head + text(module) + text(name) + b"\x93" + text(argument) + b"\x85R."


def raw_calls(marker: Path, probe: Path) -> dict[str, tuple[str, str, str]]:
    """Name -> ``(module, name, argument)`` of hand-written calls (`raw_call`) that would create ``marker``
    (``probe``: the module file of `write_import_probe`)."""
    command, code = f"touch {marker}", f"open({str(marker)!r}, 'w').write('x')"
    return {
        "os.system": ("os", "system", command),
        "posix.system": ("posix", "system", command),
        "nt.system": ("nt", "system", command),
        "builtins.eval": ("builtins", "eval", code),
        "builtins.exec": ("builtins", "exec", code),
        "__builtin__.eval": ("__builtin__", "eval", code),
        "subprocess.getoutput": ("subprocess", "getoutput", command),
        "importlib.import_module": ("importlib", "import_module", IMPORT_MODULE),
        "runpy.run_path": ("runpy", "run_path", str(probe)),
        "os.popen": ("os", "popen", command),
    }


def write_zip(path: Path, data_pkl: bytes, top: str = "archive", extra: dict[str, bytes] | None = None) -> Path:
    """A zip laid out like ``torch.save``'s, holding ``data_pkl`` (and ``extra`` records under ``top``)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{top}/data.pkl", data_pkl)
        archive.writestr(f"{top}/byteorder", b"little")
        archive.writestr(f"{top}/version", b"3\n")
        for name, data in (extra or {}).items():
            archive.writestr(f"{top}/{name}", data)
    return path


def write_legacy(path: Path, obj: Any, protocol: int = 2) -> Path:
    """A legacy (pre-zip) ``torch.save`` file of ``obj``."""
    torch.save(obj, path, _use_new_zipfile_serialization=False, pickle_protocol=protocol)
    return path


class _Storage:
    """Pickles as torch's persistent id of a storage (``numel`` elements), whatever the file holds."""

    def __init__(self, numel: int, legacy: bool) -> None:
        self.numel, self.legacy = numel, legacy


class _StoragePickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _Storage):
            fields = ("storage", torch.FloatStorage, "0", "cpu", obj.numel)
            return fields + (None,) if obj.legacy else fields
        return None


def storage_pickle(numel: int, legacy: bool, protocol: int = 2) -> bytes:
    """A pickle of ``{"net": {"w": tensor}}`` whose tensor's storage claims ``numel`` float32 elements."""
    from torch._utils import _rebuild_tensor_v2

    tensor = Payload(_rebuild_tensor_v2, _Storage(numel, legacy), 0, (numel,), (1,), False, OrderedDict())
    buffer = __import__("io").BytesIO()
    _StoragePickler(buffer, protocol=protocol).dump({"net": {"w": tensor}})
    return buffer.getvalue()


def legacy_storage_bomb(path: Path, numel: int) -> Path:
    """A legacy file whose one storage claims ``numel`` float32 elements (and holds none)."""
    with path.open("wb") as handle:
        for value in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001}):
            pickle.dump(value, handle, protocol=2)
        handle.write(storage_pickle(numel, legacy=True))
        pickle.dump(["0"], handle, protocol=2)
        handle.write(struct.pack("<q", numel))
    return path


class ScriptedMarker(torch.nn.Module):
    """A TorchScript module whose compiled ``__setstate__`` creates and writes the marker (through
    ``torch.from_file(shared=True)``) when ``torch.jit.load`` (or ``torch.load``) restores it."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.path = marker
        self.size = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    @torch.jit.export
    def __getstate__(self) -> tuple[str, bool]:
        return (self.path, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[str, bool]) -> None:
        self.path = state[0]
        self.training = state[1]
        written = torch.from_file(self.path, True, 4, dtype=torch.uint8)
        written.fill_(65)
        self.size = int(written.sum())  # used, so that the compiler keeps the write


def write_torchscript(path: Path, marker: Path) -> Path:
    """``torch.jit.save`` of `ScriptedMarker` under ``path`` (any name: ``.pth.tar``, ``.pt``)."""
    with warnings.catch_warnings():  # TorchScript's deprecation notices
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(ScriptedMarker(str(marker))), str(path))
    return path


def small_config() -> ModelConfig:
    """A small valid network config (the base of the hostile metadata)."""
    return ModelConfig(
        encoder=EncoderConfig(embed_dim=32, depth=1, num_heads=2),
        decoder=DecoderConfig(hidden_dim=32, num_heads=2, num_layers=1, dim_feedforward=32),
        template_size=32,
        search_size=64,
        bins=20,
        name="small",
    )


def config_with(dotted: str, value: Any) -> dict:
    """`small_config` as a dict with one (dotted) field replaced."""
    data = to_dict(small_config())
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        node = node[key]
    node[last] = value
    return data


# Field -> value: each one a config that must be refused when it comes from a file's metadata.
BAD_CONFIG_FIELDS: dict[str, tuple[str, Any]] = {
    "bins-zero": ("bins", 0),
    "bins-negative": ("bins", -5),
    "bins-huge": ("bins", 10**9),
    "bins-string": ("bins", "4000x"),
    "heads-zero": ("encoder.num_heads", 0),
    "heads-not-dividing": ("encoder.num_heads", 5),
    "decoder-heads-zero": ("decoder.num_heads", 0),
    "templates-zero": ("num_templates", 0),
    "templates-many": ("num_templates", 1000),
    "factor-zero": ("search_factor", 0),
    "factor-negative": ("template_factor", -2.0),
    "factor-nan": ("search_factor", float("nan")),
    "factor-inf": ("search_factor", float("inf")),
    "factor-string": ("template_factor", "four"),
    "depth-huge": ("encoder.depth", 10**7),
    "decoder-layers-huge": ("decoder.num_layers", 10**7),
    "width-negative": ("encoder.embed_dim", -64),
    "patch-zero": ("encoder.patch_size", 0),
    "search-not-multiple": ("search_size", 100),
    "search-huge": ("search_size", 1 << 20),
    "search-bool": ("search_size", True),
    "too-many-tokens": ("template_size", 1024),  # 2 x 64^2 template tokens: a huge attention
    "mlp-ratio-huge": ("encoder.mlp_ratio", 1e9),
    "dropout-above-one": ("decoder.dropout", 2.0),
    "name-escape": ("name", "\x1b[2J\x1b[31mowned"),
    "name-bidi": ("name", "abc\u202edef"),
    "name-long": ("name", "x" * 200),
    "unknown-key-escape": ("\x1b[2Jkey", 1),
}


def write_safetensors(path: Path, metadata: dict[str, str]) -> Path:
    """A safetensors file of one small tensor with ``metadata``."""
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(path), metadata=metadata)
    return path


def config_metadata(config: Any) -> dict[str, str]:
    """Metadata holding ``config`` as our JSON (NaN and Infinity as Python's json writes them)."""
    return {"seqtrack_config": json.dumps(config), "format": "pt"}


def write_onnx_metadata(source: Path, path: Path, props: dict[str, str]) -> Path:
    """A copy of the ONNX file ``source`` with its metadata entries replaced by ``props``."""
    import onnx

    proto = onnx.load(str(source))
    kept = [p for p in proto.metadata_props if p.key not in props]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))
    return path


def write_import_probe(folder: Path, marker: Path) -> Path:
    """A module `IMPORT_MODULE` in ``folder`` whose import would create ``marker``."""
    path = folder / f"{IMPORT_MODULE}.py"
    path.write_text(f"open({str(marker)!r}, 'w').write('imported')\n\nclass Thing:\n    pass\n")
    return path
