"""What the CPU can do, for choosing kernels and precisions (`cpu_features`).

Read from the ``flags`` line of ``/proc/cpuinfo`` (Linux) and ``torch.backends.cpu.get_cpu_capability()``
(every OS, coarser: ``DEFAULT``, ``AVX2``, ``AVX512``, ``AVX512_VNNI``, ``AVX512_BF16``, ``AMX``...).
`cpu_features_without_torch` reads the flags alone, for the torch-free start of ``--fast``
(`seqtrack.runtime.fast_start`); where they cannot be read it answers None and the caller takes the torch path.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CpuFeatures:
    """Instruction-set extensions that change which path is fastest.

    Attributes:
        avx2: 256-bit integer and float SIMD (with FMA).
        avx512: AVX-512 foundation (512-bit SIMD: where oneDNN's fp32 kernels beat MKL's AVX2 code on AMD).
        vnni: int8 dot products (AVX512-VNNI or AVX-VNNI): static int8 pays.
        bf16: native bf16 arithmetic (AVX512-BF16 or AMX-BF16): bf16 matrix products pay.
        amx: AMX tiles (bf16/int8).
        capability: torch's own summary string.
    """

    avx2: bool = False
    avx512: bool = False
    vnni: bool = False
    bf16: bool = False
    amx: bool = False
    capability: str = "DEFAULT"

    @property
    def summary(self) -> str:
        """E.g. ``avx2`` or ``avx512 vnni bf16 amx`` (the strongest extensions present)."""
        names = [n for n in ("avx2", "avx512", "vnni", "bf16", "amx") if getattr(self, n)]
        return " ".join(names) or "baseline"


def parse_features(flags: set[str], capability: str = "DEFAULT") -> CpuFeatures:
    """`CpuFeatures` from ``/proc/cpuinfo`` flag names (``avx512f``, ``avx512_bf16``, ``amx_tile`` ...) and
    torch's capability string; either source is enough for a feature."""
    cap = capability.upper()
    return CpuFeatures(
        avx2="avx2" in flags or cap.startswith(("AVX2", "AVX512", "AMX")),
        avx512="avx512f" in flags or cap.startswith(("AVX512", "AMX")),
        vnni=bool({"avx512_vnni", "avx_vnni"} & flags) or cap in ("AVX512_VNNI", "AVX512_BF16", "AMX"),
        bf16=bool({"avx512_bf16", "amx_bf16"} & flags) or cap in ("AVX512_BF16", "AMX"),
        amx="amx_tile" in flags or cap == "AMX",
        capability=capability,
    )


def read_cpu_flags(path: Path = Path("/proc/cpuinfo")) -> set[str] | None:
    """The ``flags`` of the first processor in ``/proc/cpuinfo`` (Linux), or None where there is none."""
    try:
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:  # not Linux
        pass
    return None


@functools.cache
def cpu_features() -> CpuFeatures:
    """This machine's `CpuFeatures` (read once per process)."""
    import torch

    return parse_features(read_cpu_flags() or set(), str(torch.backends.cpu.get_cpu_capability()))


@functools.cache
def cpu_features_without_torch() -> CpuFeatures | None:
    """This machine's `CpuFeatures` from ``/proc/cpuinfo`` alone (no torch import), None where unknown."""
    flags = read_cpu_flags()
    return None if flags is None else parse_features(flags)


__all__ = ["CpuFeatures", "cpu_features", "cpu_features_without_torch", "parse_features", "read_cpu_flags"]
