"""Benchmark readers: one module a benchmark, one registry.

>>> bench = get_benchmark("lasot", "/data/lasot")
>>> bench.update_preset, len(bench.sequences())
('lasot', 280)
"""

from __future__ import annotations

import os
from pathlib import Path
from types import MappingProxyType

from seqtrack.errors import InputError
from seqtrack.evaluate.benchmarks.base import (
    LAYOUT_GOT10K,
    LAYOUT_PYTRACKING,
    Benchmark,
    BenchmarkInfo,
)
from seqtrack.evaluate.benchmarks.got10k import GOT10K_TEST, GOT10K_VAL
from seqtrack.evaluate.benchmarks.lasot import LASOT, LASOT_EXT
from seqtrack.evaluate.benchmarks.nfs import NFS
from seqtrack.evaluate.benchmarks.otb import OTB
from seqtrack.evaluate.benchmarks.tnl2k import TNL2K
from seqtrack.evaluate.benchmarks.trackingnet import TRACKINGNET
from seqtrack.evaluate.benchmarks.uav import UAV123
from seqtrack.evaluate.benchmarks.vot import VOT

#: canonical name -> benchmark description (read-only)
BENCHMARKS = MappingProxyType(
    {b.name: b for b in (LASOT, LASOT_EXT, GOT10K_TEST, GOT10K_VAL, TRACKINGNET, TNL2K, UAV123, NFS, OTB, VOT)}
)

#: other accepted spellings (the official dataset names among them)
ALIASES = MappingProxyType(
    {
        "lasot_extension_subset": "lasot_ext",
        "lasotext": "lasot_ext",
        "uav123": "uav",
        "nfs30": "nfs",
        "otb100": "otb",
        "otb2015": "otb",
        "vot20": "vot",
        "vot21": "vot",
        "vot22": "vot",
    }
)


def canonical_name(name: str) -> str:
    """Canonical benchmark name for ``name`` (case-insensitive, aliases accepted); `InputError` if unknown."""
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in BENCHMARKS:
        raise InputError(f"unknown benchmark {name!r}; expected one of {', '.join(BENCHMARKS)}")
    return key


def root_env_var(name: str) -> str:
    """Environment variable that gives a benchmark's default root: ``SEQTRACK_<NAME>_ROOT``."""
    return f"SEQTRACK_{canonical_name(name).upper()}_ROOT"


def get_benchmark(name: str, root: str | os.PathLike | None = None) -> Benchmark:
    """The benchmark ``name`` rooted at ``root`` (default: the ``SEQTRACK_<NAME>_ROOT`` variable).

    Raises:
        InputError: unknown name, or no root given and the variable is unset.
    """
    key = canonical_name(name)
    if root is None:
        env = root_env_var(key)
        root = os.environ.get(env)
        if not root:
            raise InputError(f"no root folder for {key}: pass --root DIR or set {env}")
    return Benchmark(info=BENCHMARKS[key], root=Path(root).expanduser())


__all__ = [
    "ALIASES",
    "BENCHMARKS",
    "LAYOUT_GOT10K",
    "LAYOUT_PYTRACKING",
    "Benchmark",
    "BenchmarkInfo",
    "canonical_name",
    "get_benchmark",
    "root_env_var",
]
