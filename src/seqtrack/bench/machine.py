"""The machine a benchmark ran on, recorded with its results: timings mean little without it."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np

# CPU flags that decide which kernels torch and onnxruntime can use (bf16 and int8 above all).
RELEVANT_CPU_FLAGS = {"avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16", "amx_int8"}


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (``platform.processor()`` where there is none): every speed
    figure is quoted beside it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_info(threads: int, device: str = "cpu") -> dict:
    """CPU model and relevant flags, cores, library versions and the load at the time of the run; for a
    ``cuda:N`` device also the GPU's name, memory and the CUDA version torch was built with."""
    import torch

    info: dict = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "cores": os.cpu_count(),
        "threads": threads,
        "platform": platform.platform(),
    }
    for module in ("onnxruntime", "onnx", "cv2"):
        try:
            info[module] = __import__(module).__version__
        except ImportError:
            info[module] = None
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    info["cpu"] = cpu_model()
    info["cpu_flags"] = sorted(flags & RELEVANT_CPU_FLAGS)
    info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    info["load_average"] = list(os.getloadavg())
    info["device"] = device
    if device.startswith("cuda"):
        properties = torch.cuda.get_device_properties(device)
        info["gpu"] = properties.name
        info["gpu_memory_gib"] = round(properties.total_memory / 2**30, 1)
        info["cuda"] = torch.version.cuda
    return info


__all__ = ["machine_info"]
