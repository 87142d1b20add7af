"""Reading ``torch.save`` files written by other code bases without running anything from them.

Official SeqTrack checkpoints pickle objects of classes we do not have (``lib.train.admin.*``):
``torch.load(weights_only=True)`` refuses them, ``weights_only=False`` runs whatever the file names, and
whatever pickle module it is given, ``torch.load`` sends a zip holding ``constants.pkl`` (a TorchScript
archive, whatever its name) to ``torch.jit.load``, which runs the archive's compiled ``__setstate__``
(able to write files through ``torch.from_file``). So `load_checkpoint` opens both layouts itself:

* zip (PyTorch >= 1.6): ``<top>/data.pkl`` through `Unpickler`, its storage references resolved to the
  records ``<top>/data/<key>``. TorchScript (``constants.pkl`` or a ``code/`` folder, at any depth) is
  refused before anything in the zip is read.
* legacy: magic number, version and system pickles, the object pickle, the list of storage keys, then
  each storage as an int64 element count and its raw little-endian bytes.

`Unpickler` is the pure-Python unpickler with every opcode that looks up, calls, mutates or allocates
guarded. Globals resolve through an allow-list (our checked versions of torch's rebuild functions, a few
plain types); any other *class* becomes an inert `Placeholder` that records its arguments and runs no
code; globals of modules that reach the system (``os.system``, ``builtins.eval``, ``subprocess.Popen``...)
fail the load. Calls apply only to those, BUILD only to placeholders and dicts, and every size the file
asks for (``bytearray(n)``, BYTEARRAY8, a storage) is charged to an `AllocationBudget` of twice the file's
size before anything is allocated. Pure Python on purpose: the C unpickler allocates declared lengths
(BINBYTES8, memo indices) before reading them.
"""

from __future__ import annotations

import _compat_pickle
import collections
import io
import pickle
import struct
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch

from seqtrack.errors import CheckpointError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER
LEGACY_VERSION = 1001  # torch.serialization.PROTOCOL_VERSION
_PLACEHOLDER_COST = 1024  # bytes charged per new placeholder class (a class object is about that size)
_MAX_DIMS = 64

# Storage classes a checkpoint names (``torch.FloatStorage`` ...) -> the dtype of their elements.
STORAGE_DTYPES: dict[str, torch.dtype] = {
    f"{kind}Storage": getattr(torch, dtype)
    for kind, dtype in (
        *[("Double", "float64"), ("Float", "float32"), ("Half", "float16"), ("BFloat16", "bfloat16")],
        *[("Long", "int64"), ("Int", "int32"), ("Short", "int16"), ("Char", "int8"), ("Byte", "uint8")],
        *[("Bool", "bool"), ("ComplexFloat", "complex64"), ("ComplexDouble", "complex128"), ("Untyped", "uint8")],
    )
}

# Plain types and values a checkpoint legitimately names, used as they are (none of them runs code or
# allocates more than its arguments hold).
_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch", "device"): torch.device,
    ("torch", "Size"): torch.Size,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "slice"): slice,
    ("builtins", "complex"): complex,
}
for _dtype_name in ("float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8", "bool"):
    _ALLOWED[("torch", _dtype_name)] = getattr(torch, _dtype_name)

# Modules whose globals never belong in a weights file: refuse the whole file. (Anything else that is not
# allowed becomes a placeholder, so this list is about saying "malicious" loudly, not about safety.)
_DENIED_MODULES = frozenset(
    "os posix nt sys subprocess builtins __builtin__ shutil importlib runpy socket pty pickle _pickle marshal "
    "types ctypes code codeop webbrowser multiprocessing signal threading asyncio io _io pathlib tempfile glob "
    "urllib http ftplib smtplib telnetlib requests functools operator inspect torch numpy pydoc timeit trace "
    "pdb bdb platform sysconfig site zipimport _posixsubprocess select selectors ssl xmlrpc logging commands "
    "nturl2path _thread gc weakref copyreg copy dill cloudpickle joblib yaml".split()
)
# numpy values inside training settings (scalars, small arrays): kept as inert placeholders, never rebuilt
# (numpy's own rebuilders allocate whatever shape the file states).
_NUMPY_DATA = {(m, n) for m in ("numpy.core.multiarray", "numpy._core.multiarray") for n in ("_reconstruct", "scalar")}
_NUMPY_DATA |= {("numpy", "ndarray"), ("numpy", "dtype")}


class AllocationBudget:
    """Bytes a load may allocate because the file says so (storages, byte arrays), charged before allocating.

    A file cannot hold more data than its own size: `for_size` allows twice that plus 1 MiB (room for a zip
    whose records are compressed), so a tiny file asking for gigabytes is refused with nothing allocated.
    """

    def __init__(self, limit: int) -> None:
        self.limit, self.used = int(limit), 0

    @classmethod
    def for_size(cls, size: int) -> AllocationBudget:
        """The budget of a file of ``size`` bytes."""
        return cls(2 * size + (1 << 20))

    def charge(self, nbytes: Any, what: str) -> int:
        """Count ``nbytes`` (refused unless a non-negative int within the budget); returns it."""
        if type(nbytes) is not int or nbytes < 0:
            raise CheckpointError(f"refused: the file asks for {what} of size {nbytes!r}")
        if self.used + nbytes > self.limit:
            raise CheckpointError(
                f"refused: the file asks for {what} of {nbytes:,} bytes, more than a file of its size can "
                f"hold (at most {self.limit:,} bytes in all): damaged or malicious; nothing was allocated"
            )
        self.used += nbytes
        return nbytes


class Placeholder:
    """Stand-in for an object of a class the checkpoint names but we do not load.

    It never imports or calls the real class: it only keeps the pickled arguments and state.
    """

    _module = "?"
    _qualname = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs, self.state = args, kwargs, None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"<placeholder for {self._module}.{self._qualname}>"


class LoadedStorage:
    """A storage read from the file: its bytes and the dtype its tensors are built with (our stand-in for
    the deprecated ``TypedStorage``: only our rebuilders take it)."""

    def __init__(self, untyped: torch.UntypedStorage, dtype: torch.dtype) -> None:
        self.untyped, self.dtype = untyped, dtype

    @property
    def numel(self) -> int:
        """Number of ``dtype`` elements."""
        return self.untyped.nbytes() // self.dtype.itemsize


class StorageType:
    """What a storage class (``torch.FloatStorage``) becomes in a pickle: its element dtype, nothing callable."""

    def __init__(self, name: str, dtype: torch.dtype) -> None:
        self.name, self.dtype = name, dtype


def _is_denied(module: str) -> bool:
    return module.split(".", 1)[0] in _DENIED_MODULES


def _refuse(what: str) -> CheckpointError:
    return CheckpointError(
        f"refused: {what}, which a weights file never needs (possibly malicious); nothing from it was executed"
    )


# ---------------------------------------------------------------------------------------------- rebuilders
def _int(value: Any, what: str, low: int = 0) -> int:
    if type(value) is not int or value < low:
        raise CheckpointError(f"a tensor in the file has an invalid {what}: {value!r}")
    return value


def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any) -> torch.Tensor:
    """`torch._utils._rebuild_tensor` with every argument checked: a view that fits inside its storage."""
    if not isinstance(storage, LoadedStorage):
        raise CheckpointError(f"a tensor in the file is built on a {type(storage).__name__}, not on a storage")
    offset = _int(storage_offset, "storage offset")
    dims = (size, stride)
    if not all(isinstance(d, tuple) and len(d) == len(size) <= _MAX_DIMS for d in dims):
        raise CheckpointError(f"a tensor in the file has an invalid shape {size!r} / stride {stride!r}"[:200])
    size, stride = (tuple(_int(n, "size or stride") for n in d) for d in dims)
    if all(size):  # a tensor with no element needs no storage
        needed = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
        if needed > storage.numel:
            raise CheckpointError(
                f"a tensor in the file reaches element {needed:,} of a storage of {storage.numel:,} elements"
            )
    return torch.empty((0,), dtype=storage.dtype).set_(storage.untyped, offset, size, stride)


def _rebuild_tensor_v2(
    storage: Any,
    storage_offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any,
    backward_hooks: Any,
    metadata: Any = None,
) -> torch.Tensor:
    """`torch._utils._rebuild_tensor_v2`, checked; backward hooks are dropped (torch never saves any)."""
    tensor = _rebuild_tensor(storage, storage_offset, size, stride)
    if type(requires_grad) is not bool:
        raise CheckpointError(f"a tensor in the file has an invalid requires_grad: {requires_grad!r}")
    tensor.requires_grad = requires_grad
    if metadata:  # the conj / neg bits: a dict of flags
        if not isinstance(metadata, dict) or not all(type(k) is str and type(v) is bool for k, v in metadata.items()):
            raise CheckpointError(f"a tensor in the file has invalid metadata: {metadata!r}"[:200])
        torch._utils.set_tensor_metadata(tensor, metadata)
    return tensor


def _rebuild_parameter(data: Any, requires_grad: Any, backward_hooks: Any) -> torch.nn.Parameter:
    """`torch._utils._rebuild_parameter`, checked; backward hooks are dropped."""
    if not isinstance(data, torch.Tensor) or type(requires_grad) is not bool:
        raise CheckpointError(f"a parameter in the file is built from a {type(data).__name__}, not a tensor")
    return torch.nn.Parameter(data, requires_grad)


_REBUILDERS: dict[tuple[str, str], Callable[..., Any]] = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


# ---------------------------------------------------------------------------------------------- unpickler
class Unpickler(pickle._Unpickler):
    """The restricted unpickler (see the module docstring).

    Args:
        file: the binary stream to read one pickle from.
        budget: what the file may make us allocate (default: `AllocationBudget.for_size` of 64 MiB).
        storages: resolves the file's persistent ids (storage references); None refuses them.
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(
        self,
        file: BinaryIO,
        *,
        budget: AllocationBudget | None = None,
        storages: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__(file, encoding="utf-8")  # torch.load's choice for Python 2 strings
        self.budget = budget or AllocationBudget.for_size(64 << 20)
        self._storages = storages
        self._placeholders: dict[tuple[str, str], type] = {}
        self._bytearray_builder = self._bytearray  # one bound method, so that calls can be checked by identity
        types = [value for value in _ALLOWED.values() if isinstance(value, type)]  # not the dtypes: data only
        self._callables = (*types, *_REBUILDERS.values(), self._bytearray_builder)

    def find_class(self, module: str, name: str) -> Any:
        """The object a global names: allowed ones as they are, storage types as `StorageType`, anything
        else as a `Placeholder` class; modules that reach the system are refused."""
        if self.proto < 3 and self.fix_imports:  # Python 2 names (``__builtin__``), mapped as pickle does
            module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        key = (module, name)
        if key in _ALLOWED:
            return _ALLOWED[key]
        if key in _REBUILDERS:
            return _REBUILDERS[key]
        if key == ("builtins", "bytearray"):
            return self._bytearray_builder
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(name, STORAGE_DTYPES[name])
        if _is_denied(module) and key not in _NUMPY_DATA:
            raise _refuse(f"the file asks to call {module}.{name}")
        if key not in self._placeholders:
            self.budget.charge(_PLACEHOLDER_COST, "a placeholder class")
            self._placeholders[key] = type(name, (Placeholder,), {"_module": module, "_qualname": name})
        return self._placeholders[key]

    def persistent_load(self, pid: Any) -> Any:
        if self._storages is None:
            raise CheckpointError("the pickle references external storages, but is not inside a PyTorch checkpoint")
        return self._storages(pid)

    def _bytearray(self, source: Any = b"", encoding: Any = None, errors: Any = None) -> bytearray:
        """``bytearray(...)`` as pickles write it (from bytes, or a str and its encoding), its size charged."""
        if isinstance(source, int):
            self.budget.charge(source, "a bytearray")
            return bytearray(source)
        if isinstance(source, str) and isinstance(encoding, str):
            self.budget.charge(len(source) * 4, "a bytearray")  # at most 4 bytes per character
            return bytearray(source, encoding, *(() if errors is None else (errors,)))
        if isinstance(source, (bytes, bytearray)) and encoding is None:
            self.budget.charge(len(source), "a bytearray")
            return bytearray(source)
        raise CheckpointError(f"refused: the file builds a bytearray from a {type(source).__name__}")

    def _call(self, func: Any, args: Any, opcode: str) -> Any:
        """``func(*args)`` for REDUCE, INST and OBJ: only placeholders and the allowed callables, and tensors
        only into the rebuilders (``set(tensor)`` would make one object per element: a memory bomb)."""
        if not isinstance(args, (tuple, list)):
            raise _refuse(f"the file calls with arguments of type {type(args).__name__} ({opcode})")
        if not (isinstance(func, type) and issubclass(func, Placeholder)):
            if not any(func is allowed for allowed in self._callables):
                raise _refuse(f"the file asks to call a {type(func).__name__} object ({opcode})")
            data = (torch.Tensor, LoadedStorage)
            if func not in _REBUILDERS.values() and any(isinstance(arg, data) for arg in args):
                raise _refuse(f"the file passes a tensor to {getattr(func, '__name__', func)!s} ({opcode})")
        return func(*args)

    def _load_reduce(self) -> None:
        args = self.stack.pop()
        self.stack[-1] = self._call(self.stack[-1], args, "REDUCE")

    def _instantiate(self, klass: Any, args: list) -> None:  # INST and OBJ (protocols 0 and 1)
        self.append(self._call(klass, args, "INST/OBJ"))

    def _load_newobj(self, with_kwargs: bool) -> None:
        kwargs = self.stack.pop() if with_kwargs else {}
        args = self.stack.pop()
        cls = self.stack.pop()
        allowed = isinstance(cls, type) and (issubclass(cls, Placeholder) or cls is collections.OrderedDict)
        if not allowed or not isinstance(args, tuple) or not isinstance(kwargs, dict):
            raise _refuse(f"the file asks to create a {getattr(cls, '__name__', type(cls).__name__)} object (NEWOBJ)")
        self.append(cls.__new__(cls, *args, **kwargs))

    def _load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if isinstance(inst, Placeholder):
            inst.__setstate__(state)
        elif isinstance(inst, collections.OrderedDict) and isinstance(state, dict):
            inst.__dict__.update(state)  # a state dict's ``_metadata`` attribute
        else:
            raise _refuse(f"the file asks to set the state of a {type(inst).__name__} object (BUILD)")

    def _load_bytearray8(self) -> None:
        (length,) = struct.unpack("<Q", self.read(8))
        self.budget.charge(length, "a bytearray")
        data = self.read(length)
        if len(data) != length:
            raise pickle.UnpicklingError("pickle data was truncated")
        self.append(bytearray(data))

    dispatch[pickle.REDUCE[0]] = _load_reduce
    dispatch[pickle.NEWOBJ[0]] = lambda self: self._load_newobj(False)
    dispatch[pickle.NEWOBJ_EX[0]] = lambda self: self._load_newobj(True)
    dispatch[pickle.BUILD[0]] = _load_build
    dispatch[pickle.BYTEARRAY8[0]] = _load_bytearray8


# ---------------------------------------------------------------------------------------------- torch files
def _text(value: Any) -> Any:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else value


def _storage_reference(pid: Any, fields: int) -> tuple:
    """The fields of a ``("storage", type, key, location, numel, ...)`` persistent id, checked."""
    if not isinstance(pid, tuple) or len(pid) != fields or _text(pid[0]) != "storage":
        raise CheckpointError(f"refused: the pickle references {str(pid)[:80]!r}, not a storage")
    storage_type, key, numel = pid[1], _text(pid[2]), pid[4]
    if not isinstance(storage_type, StorageType) or type(key) is not str or type(numel) is not int or numel < 0:
        raise CheckpointError(f"refused: malformed storage reference {str(pid)[:80]!r}")
    return pid


def torchscript_entry(names: list[str]) -> str | None:
    """The first entry of a zip that makes it a TorchScript archive (``constants.pkl``, a ``code/``
    folder, at any depth), or None."""
    for name in names:
        parts = name.replace("\\", "/").split("/")
        if "constants.pkl" in parts or "code" in parts[1:]:
            return name
    return None


def _load_zip(path: Path, budget: AllocationBudget) -> Any:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        found = torchscript_entry(names)
        if found is not None:
            raise CheckpointError(
                f"refused: a TorchScript archive (it holds {found}), which can run code when loaded; "
                "a weights file is written by torch.save; nothing from it was executed"
            )
        tops = {name.split("/", 1)[0] for name in names}
        if len(tops) != 1 or not all("/" in name for name in names):
            raise CheckpointError("a zip, but not a torch.save archive (no single top folder)")
        top = tops.pop()
        members = {info.filename: info for info in archive.infolist()}
        byteorder = "little"
        if f"{top}/byteorder" in members:
            byteorder = archive.read(f"{top}/byteorder").decode("ascii", "replace")
            if byteorder not in ("little", "big"):
                raise CheckpointError(f"unknown byte order {byteorder[:20]!r}")
        if f"{top}/data.pkl" not in members:
            raise CheckpointError(f"a zip, but not a torch.save archive (no {top}/data.pkl)")
        loaded: dict[str, LoadedStorage] = {}

        def read(name: str, what: str) -> bytes:
            budget.charge(members[name].file_size, what)
            return archive.read(members[name])

        def storage(pid: Any) -> LoadedStorage:
            _, storage_type, key, _, numel = _storage_reference(pid, 5)
            key = _text(key)
            if key in loaded:  # torch.load's rule: a key loaded once is that storage, whatever dtype is asked
                return loaded[key]
            dtype, name = storage_type.dtype, f"{top}/data/{key}"
            nbytes = numel * dtype.itemsize
            if name not in members or members[name].file_size != nbytes:
                held = members[name].file_size if name in members else "no"
                raise CheckpointError(f"storage data/{key[:40]} should hold {nbytes:,} bytes, the archive has {held}")
            untyped = (
                torch.UntypedStorage.from_buffer(read(name, "a storage"), dtype=torch.uint8)
                if nbytes
                else torch.UntypedStorage(0)
            )
            if byteorder != sys.byteorder and dtype.itemsize > 1:
                untyped.byteswap(dtype)
            loaded[key] = LoadedStorage(untyped, dtype)
            return loaded[key]

        data = read(f"{top}/data.pkl", "its pickle")
        return Unpickler(io.BytesIO(data), budget=budget, storages=storage).load()


def _load_legacy(handle: BinaryIO, budget: AllocationBudget) -> Any:
    def plain() -> Any:
        return Unpickler(handle, budget=budget).load()

    if plain() != LEGACY_MAGIC:
        raise CheckpointError("a pickle, but not a PyTorch checkpoint (no torch.save magic number)")
    version = plain()
    if version != LEGACY_VERSION:
        raise CheckpointError(f"a legacy PyTorch checkpoint of unknown version {str(version)[:20]}")
    plain()  # system information: not needed, the storages are little-endian whatever saved them
    roots: dict[str, LoadedStorage] = {}
    views: dict[str, LoadedStorage] = {}

    def storage(pid: Any) -> LoadedStorage:
        _, storage_type, key, _, numel, view = _storage_reference(pid, 6)
        dtype, size = storage_type.dtype, storage_type.dtype.itemsize
        if key not in roots:
            roots[key] = LoadedStorage(torch.UntypedStorage(budget.charge(numel * size, "a storage")), dtype)
        if view is None:
            return roots[key]
        if not isinstance(view, tuple) or len(view) != 3 or type(view[0]) is not str:
            raise CheckpointError(f"refused: malformed storage view {str(view)[:80]!r}")
        view_key, offset, count = view[0], _int(view[1], "view offset"), _int(view[2], "view size")
        if offset + count > roots[key].numel:
            raise CheckpointError(f"a storage view reaches past the end of storage {key[:40]}")
        if view_key not in views:
            views[view_key] = LoadedStorage(roots[key].untyped[offset * size : (offset + count) * size], dtype)
        return views[view_key]

    result = Unpickler(handle, budget=budget, storages=storage).load()
    keys = plain()
    # Every storage filled exactly once: one left out would hand out uninitialised memory as weights.
    if not isinstance(keys, list) or not all(type(k) is str for k in keys) or sorted(keys) != sorted(roots):
        raise CheckpointError("its list of storages does not match the storages its tensors use")
    for key in keys:
        loaded = roots[key]
        (count,) = struct.unpack("<q", handle.read(8).ljust(8, b"\0"))
        if count != loaded.numel:
            raise CheckpointError(f"storage {key[:40]} holds {count} elements, its tensors say {loaded.numel}")
        array = torch.empty((0,), dtype=torch.uint8).set_(loaded.untyped).numpy()
        if handle.readinto(array) != array.nbytes:
            raise CheckpointError(f"truncated: storage {key[:40]} ends before its data")
        if sys.byteorder == "big" and loaded.dtype.itemsize > 1:
            loaded.untyped.byteswap(loaded.dtype)
    return result


def load_checkpoint(path: str | Path) -> Any:
    """The object a ``torch.save`` file holds (zip or legacy layout), read without torch's loaders.

    Raises:
        CheckpointError: a TorchScript archive, a global of a system module, a size beyond the file's own,
            or a file of neither layout (the message does not name the path: callers add it).
    """
    path = Path(path)
    budget = AllocationBudget.for_size(path.stat().st_size)
    with path.open("rb") as handle:
        if handle.read(4) == b"PK\x03\x04":
            return _load_zip(path, budget)
        handle.seek(0)
        return _load_legacy(handle, budget)


__all__ = [
    "load_checkpoint",
    "Unpickler",
    "Placeholder",
    "AllocationBudget",
    "StorageType",
    "LoadedStorage",
    "torchscript_entry",
    "STORAGE_DTYPES",
]
