"""A restricted unpickler for checkpoint files written by other code bases.

Official SeqTrack checkpoints pickle objects of classes we do not have (``lib.train.admin.*``).
`torch.load(weights_only=True)` refuses them, and ``weights_only=False`` would import and run whatever
the file names. This module is the middle road: pickle may only call an allow-list of rebuild
functions; every other *class* becomes an inert placeholder that records its state and never runs any
code; globals from modules that can reach the operating system, the interpreter or the network
(``os.system``, ``builtins.eval``, ``subprocess.Popen``, ...) make the load fail.

Use it as ``torch.load(f, pickle_module=safe_pickle, weights_only=False)``.
"""

from __future__ import annotations

import collections
import pickle
from typing import Any

import torch

from seqtrack.errors import CheckpointError

# Callables a checkpoint legitimately needs. Storage classes (torch.FloatStorage ...) are resolved by
# torch.load itself before reaching us.
_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): torch._utils._rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("torch", "device"): torch.device,
    ("torch", "Size"): torch.Size,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "slice"): slice,
    ("builtins", "complex"): complex,
    ("builtins", "bytearray"): bytearray,
}
for _dtype_name in ("float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8", "bool"):
    _ALLOWED[("torch", _dtype_name)] = getattr(torch, _dtype_name)

# Modules whose globals never belong in a weights file: refuse the whole file.
_DENIED_MODULES = (
    "os",
    "posix",
    "nt",
    "sys",
    "subprocess",
    "builtins",
    "__builtin__",
    "shutil",
    "importlib",
    "runpy",
    "socket",
    "pty",
    "pickle",
    "_pickle",
    "marshal",
    "types",
    "ctypes",
    "code",
    "codeop",
    "webbrowser",
    "multiprocessing",
    "signal",
    "threading",
    "asyncio",
    "io",
    "_io",
    "pathlib",
    "tempfile",
    "glob",
    "urllib",
    "http",
    "ftplib",
    "smtplib",
    "telnetlib",
    "requests",
    "functools",
    "operator",
    "inspect",
    "torch",
    "numpy",
    "pydoc",
    "timeit",
    "trace",
    "pdb",
    "bdb",
    "platform",
    "sysconfig",
    "site",
    "zipimport",
    "_posixsubprocess",
    "select",
    "selectors",
    "ssl",
    "xmlrpc",
    "logging",
    "commands",
    "nturl2path",
    "_thread",
    "gc",
    "weakref",
    "copyreg",
    "copy",
    "dill",
    "cloudpickle",
    "joblib",
    "yaml",
)


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


def _placeholder(module: str, name: str) -> type:
    return type(name, (Placeholder,), {"_module": module, "_qualname": name})


def _is_denied(module: str) -> bool:
    return any(module == root or module.startswith(root + ".") for root in _DENIED_MODULES)


class Unpickler(pickle.Unpickler):
    """`pickle.Unpickler` that resolves globals through the allow-list / placeholder / deny rules."""

    def find_class(self, module: str, name: str) -> Any:
        allowed = _ALLOWED.get((module, name))
        if allowed is not None:
            return allowed
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name in ("_reconstruct", "scalar"):
            import numpy  # numpy arrays/scalars inside training settings: rebuilt as data only

            core = getattr(numpy, "_core", None) or numpy.core
            return getattr(core.multiarray, name)
        if module == "numpy" and name in ("ndarray", "dtype"):
            import numpy

            return getattr(numpy, name)
        if _is_denied(module):
            raise CheckpointError(
                f"refused: the file asks to call {module}.{name}, which a weights file never needs "
                "(possibly malicious); nothing from it was executed"
            )
        return _placeholder(module, name)


def load(file, **kwargs: Any) -> Any:
    """`pickle.load` through the restricted `Unpickler` (torch.load calls this for legacy files)."""
    return Unpickler(file, **kwargs).load()


def loads(data: bytes, **kwargs: Any) -> Any:
    """`pickle.loads` through the restricted `Unpickler`."""
    import io as _io

    return Unpickler(_io.BytesIO(data), **kwargs).load()


# torch.load looks these up on the pickle module it is given.
Pickler = pickle.Pickler
dump = pickle.dump
dumps = pickle.dumps
UnpicklingError = pickle.UnpicklingError
