"""End-to-end tracker speed benchmark: every backend and precision, one fresh process per configuration.

What is measured, per configuration (preset x backend x precision x threads x number of targets):

* **speed**: wall time of ``Tracker.track(frame)`` — crop, normalisation, the network, the box
  read-out — on a generated video (textured squares moving over a textured background, made in
  memory from a seed); median over the timed frames after a warm-up, reported as frames/s and ms.
* **peak RSS**: ``VmHWM`` of the worker process that ran only that configuration (a fresh
  ``python -m seqtrack.export.bench --worker`` each time, so peaks of different runs never mix; it
  includes the Python/torch runtime itself).
* **agreement with fp32 eager**: the same video tracked by ``torch fp32`` (same preset, targets,
  threads) is the reference; the share of tracked frames whose box has IoU >= 0.99 with the reference
  box and the share whose four tokens are identical, over the frames both runs tracked. The tracker
  feeds its own boxes back, so one early disagreement can move every later crop: this is a
  closed-loop (end-to-end) agreement, stricter than comparing single forwards.
* **per-target cost** for a small preset as the number of targets grows (one batched forward per frame).
* **threads**: the small preset at 1 thread and at every core.
* optionally, **agreement with the official outputs** on the golden 40-frame video with the golden
  tiny (trained) network (random weights give nearly flat token distributions, so their agreement
  figures overstate how often trained weights flip a token).

`run_benchmark` writes ``speed.json`` (everything, raw per-frame latencies included) and ``speed.md``
(tables plus the machine: CPU, flags, core count, library versions, load average). The ``seqtrack bench``
command and ``benchmarks/speed.py`` both call `main`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DEFAULT_PRESETS = ("b256", "t128", "s128")
RESULT_NAME = "speed"
IOU_THRESHOLD = 0.99


# ---------------------------------------------------------------------------------------------- video
@dataclass
class SyntheticVideo:
    """Deterministic in-memory video: ``num_objects`` textured squares on a smooth textured background.

    Frames are made on demand (`frame`) so that a long video costs no memory; the benchmark times
    only the tracker, never the frame generation. Frames are ``(height, width, 3)`` uint8 RGB.
    """

    width: int = 640
    height: int = 480
    num_objects: int = 8
    seed: int = 0
    _background: np.ndarray = field(init=False, repr=False)
    _textures: list[np.ndarray] = field(init=False, repr=False)
    _paths: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        import cv2

        rng = np.random.default_rng(self.seed)
        coarse = rng.integers(0, 256, size=(self.height // 24 + 2, self.width // 24 + 2, 3), dtype=np.uint8)
        smooth = cv2.resize(coarse, (self.width, self.height), interpolation=cv2.INTER_CUBIC).astype(np.int16)
        fine = rng.integers(-20, 21, size=(self.height, self.width, 3), dtype=np.int16)
        self._background = np.clip(smooth + fine, 0, 255).astype(np.uint8)
        self.side = max(16, int(0.12 * min(self.width, self.height)))
        self._textures = []
        for _ in range(self.num_objects):
            colour = rng.integers(0, 256, size=3)
            checker = (np.indices((self.side, self.side)).sum(0) // max(2, self.side // 6)) % 2
            noise = rng.integers(-25, 26, size=(self.side, self.side, 3))
            texture = colour[None, None] * (0.6 + 0.4 * checker[..., None]) + noise
            self._textures.append(np.clip(texture, 0, 255).astype(np.uint8))
        # Lissajous paths: (centre x, centre y, amplitude x, amplitude y, freq x, freq y, phase x, phase y).
        margin = self.side
        self._paths = np.stack([
            rng.uniform(0.3, 0.7, self.num_objects) * self.width,
            rng.uniform(0.3, 0.7, self.num_objects) * self.height,
            rng.uniform(0.1, 0.25, self.num_objects) * (self.width - 2 * margin),
            rng.uniform(0.1, 0.25, self.num_objects) * (self.height - 2 * margin),
            rng.uniform(0.01, 0.03, self.num_objects), rng.uniform(0.01, 0.03, self.num_objects),
            rng.uniform(0, 2 * math.pi, self.num_objects), rng.uniform(0, 2 * math.pi, self.num_objects)], axis=1)

    def box(self, index: int, obj: int) -> list[float]:
        """``[x, y, w, h]`` of object ``obj`` on frame ``index`` (pixels, inside the frame)."""
        cx, cy, ax, ay, fx, fy, px, py = self._paths[obj]
        x = cx + ax * math.sin(2 * math.pi * fx * index + px) - self.side / 2
        y = cy + ay * math.sin(2 * math.pi * fy * index + py) - self.side / 2
        x = min(max(0.0, x), self.width - self.side)
        y = min(max(0.0, y), self.height - self.side)
        return [float(round(x)), float(round(y)), float(self.side), float(self.side)]

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as ``(H, W, 3)`` uint8 RGB."""
        image = self._background.copy()
        for obj, texture in enumerate(self._textures):
            x, y, w, h = (int(v) for v in self.box(index, obj))
            image[y: y + h, x: x + w] = texture[:h, :w]
        return image


# ---------------------------------------------------------------------------------------------- FLOPs
def frame_flops(config, targets: int = 1) -> float:
    """Analytic floating-point operations (2 per multiply-add) of one tracked frame.

    Counts every matrix product: patch embedding, all encoder linears *and* the attention products
    (unlike the official thop count, spec §8, which misses them), the bottleneck, the decoder memory
    projections once, then four cached decoder steps with the vocabulary head. Element-wise work
    (norms, softmax, GELU) is left out.
    """
    enc, dec = config.encoder, config.decoder
    patch = enc.patch_size
    nx, nz = config.num_search_tokens, config.num_template_tokens
    n = nx + config.num_templates * nz
    dim, hidden = enc.embed_dim, int(enc.embed_dim * enc.mlp_ratio)
    flops = 2.0 * n * (3 * patch * patch) * dim  # patch embedding
    per_block = 2.0 * n * dim * 3 * dim + 2.0 * n * dim * dim + 2.0 * 2 * n * dim * hidden + 2.0 * 2 * n * n * dim
    flops += enc.depth * per_block
    memory = config.num_memory_tokens
    d, ff, layers = dec.hidden_dim, dec.dim_feedforward, dec.num_layers
    flops += 2.0 * memory * dim * d  # bottleneck
    flops += layers * 2 * (2.0 * memory * d * d)  # cross-attention keys and values, once per frame
    for step in range(4):
        length = step + 1
        per_layer = (3 * 2.0 * d * d + 2 * 2.0 * length * d + 2.0 * d * d  # self-attention
                     + 2.0 * d * d + 2 * 2.0 * memory * d + 2.0 * d * d  # cross-attention
                     + 2 * 2.0 * d * ff)  # FFN
        flops += layers * per_layer + 2.0 * (2 * d * d + d * config.vocab_size)
    return flops * targets


# ---------------------------------------------------------------------------------------------- cases
@dataclass
class BenchCase:
    """One measured configuration (what a worker process runs)."""

    preset: str
    backend: str = "torch"
    dtype: str = "fp32"  # fp32 | bf16 | bf16-autocast (torch)
    compile: bool = False
    quantize: str | None = None  # int8 (onnxruntime)
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

    @property
    def label(self) -> str:
        if self.backend == "onnxruntime":
            name = f"onnxruntime {self.quantize or 'fp32'}"
        else:
            name = f"torch {self.dtype}{' compiled' if self.compile else ''}"
        return name + (" (OMP passive)" if self.omp_passive else "")

    @property
    def is_reference(self) -> bool:
        return self.backend == "torch" and self.dtype == "fp32" and not self.compile and not self.omp_passive

    def key(self) -> tuple:
        """Identity of the measurement a row is compared with (same video and batch)."""
        return (self.preset, self.targets, self.threads, self.width, self.height, self.seed, self.weights)


@dataclass
class CaseResult:
    """What a worker measured for one `BenchCase` (plus the agreement filled in by the parent)."""

    case: BenchCase
    setup_s: float = float("nan")  # build/load the predictor (not the first frame)
    first_frame_s: float = float("nan")  # first tracked frame: includes lazy work such as compilation
    latencies_ms: list[float] = field(default_factory=list)  # timed frames only
    peak_rss_mib: float = float("nan")
    tokens: list = field(default_factory=list)  # [frame][target][4], every tracked frame
    boxes: list = field(default_factory=list)  # [frame][target][4]
    error: str | None = None
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
        data.update(label=self.case.label, median_ms=self.median_ms, p90_ms=self.p90_ms, fps=self.fps,
                    gflops=self.gflops)
        if not keep_traces:
            data.pop("tokens")
            data.pop("boxes")
        return data


def _build_predictor(case: BenchCase):
    import torch

    from seqtrack.config import model_preset
    from seqtrack.export.backends import make_predictor
    from seqtrack.model.seqtrack import SeqTrack

    torch.set_num_threads(case.threads)
    if case.backend == "onnxruntime":
        return make_predictor(case.onnx_path, backend="onnxruntime", threads=case.threads)
    if case.weights:
        weights = case.weights
    else:
        torch.manual_seed(case.seed)  # the parent builds the same weights for the ONNX export
        weights = SeqTrack(model_preset(case.preset))
    return make_predictor(weights, backend="torch", dtype=case.dtype, compile=case.compile, threads=case.threads)


def run_case(case: BenchCase) -> CaseResult:
    """Run one configuration in this process (the worker side)."""
    from seqtrack.config import TrackerConfig
    from seqtrack.tracking.tracker import Tracker

    result = CaseResult(case=case)
    try:
        start = time.perf_counter()
        predictor = _build_predictor(case)
        result.setup_s = time.perf_counter() - start
        result.gflop_per_frame = frame_flops(predictor.config, case.targets) / 1e9
        video = SyntheticVideo(case.width, case.height, num_objects=max(case.targets, 1), seed=case.seed)
        tracker = Tracker(predictor, TrackerConfig())
        boxes = [video.box(0, k) for k in range(case.targets)]
        tracker.init(video.frame(0), boxes)
        budget_start = None
        total = case.warmup + case.frames
        for index in range(1, total + 1):
            frame = video.frame(index)
            tick = time.perf_counter()
            out = tracker.track(frame)
            elapsed = time.perf_counter() - tick
            if index == 1:
                result.first_frame_s = elapsed
            result.tokens.append([r.tokens.tolist() for r in out])
            result.boxes.append([r.box.tolist() for r in out])
            if index > case.warmup:
                result.latencies_ms.append(1000.0 * elapsed)
                budget_start = budget_start or tick
                if (len(result.latencies_ms) >= case.min_frames
                        and time.perf_counter() - budget_start > case.max_seconds):
                    break
            elif index >= 1 and time.perf_counter() - start > 2 * case.max_seconds:
                break  # a pathologically slow warm-up: keep what the budget allows
    except Exception as error:  # a backend that does not work here is a row, not a crash
        result.error = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
    result.peak_rss_mib = peak_rss_mib()
    return result


def peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB.

    ``VmHWM`` belongs to the address space, which ``exec`` replaces, so a worker's figure is its own;
    ``ru_maxrss`` is not used first because Linux carries it over from the parent across fork/exec.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


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


@dataclass
class InterleavedResult:
    case: InterleavedCase
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)  # label -> timed frames
    labels: dict[str, str] = field(default_factory=dict)  # backend key -> label
    error: str | None = None

    def median_ms(self, key: str) -> float:
        values = self.latencies_ms.get(key) or []
        return statistics.median(values) if values else float("nan")


def run_interleaved(case: InterleavedCase) -> InterleavedResult:
    """Worker side of `InterleavedCase`."""
    from seqtrack.config import TrackerConfig
    from seqtrack.tracking.tracker import Tracker

    result = InterleavedResult(case=case)
    try:
        trackers = {}
        video = SyntheticVideo(case.width, case.height, num_objects=1, seed=case.seed)
        for key in case.backends:
            spec = BenchCase(preset=case.preset, threads=case.threads, seed=case.seed, weights=case.weights,
                             onnx_path=case.onnx_paths.get(key), **_BACKEND_CASES[key])
            trackers[key] = Tracker(_build_predictor(spec), TrackerConfig())
            trackers[key].init(video.frame(0), [video.box(0, 0)])
            result.labels[key] = spec.label
            result.latencies_ms[key] = []
        for index in range(1, case.warmup + case.frames + 1):
            frame = video.frame(index)
            for key, tracker in trackers.items():
                tick = time.perf_counter()
                tracker.track(frame)
                if index > case.warmup:
                    result.latencies_ms[key].append(1000.0 * (time.perf_counter() - tick))
    except Exception as error:
        result.error = f"{type(error).__name__}: {error}"[:300]
    return result


def _interleaved_main(case_path: str, result_path: str) -> int:
    case = InterleavedCase(**json.loads(Path(case_path).read_text()))
    Path(result_path).write_text(json.dumps(dataclasses.asdict(run_interleaved(case))))
    return 0


def _run_worker(flag: str, case: dict, workdir: Path, stem: str, timeout_s: float,
                env: dict | None = None) -> tuple[dict | None, str]:
    """Run ``python -m seqtrack.export.bench FLAG case.json result.json`` in a fresh interpreter.

    Returns ``(result dict, "")`` or ``(None, error)`` — a timeout, or the worker's last output line.
    """
    case_path, result_path = workdir / f"{stem}.json", workdir / f"{stem}.result.json"
    result_path.unlink(missing_ok=True)
    case_path.write_text(json.dumps(case))
    command = [sys.executable, "-m", "seqtrack.export.bench", flag, str(case_path), str(result_path)]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout_s:.0f} s"
    if completed.returncode != 0 or not result_path.is_file():
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        return None, f"worker exited {completed.returncode}: {tail[0][:300]}"
    return json.loads(result_path.read_text()), ""


def run_interleaved_subprocess(case: InterleavedCase, workdir: Path, timeout_s: float = 1800.0) -> InterleavedResult:
    data, error = _run_worker("--interleaved", dataclasses.asdict(case), workdir, "interleaved", timeout_s)
    if data is None:
        return InterleavedResult(case=case, error=error)
    return InterleavedResult(case=case, latencies_ms=data["latencies_ms"], labels=data["labels"], error=data["error"])


def _worker_main(case_path: str, result_path: str) -> int:
    case = BenchCase(**json.loads(Path(case_path).read_text()))
    result = run_case(case)
    Path(result_path).write_text(json.dumps(result.to_json()))
    return 0


def run_in_subprocess(case: BenchCase, workdir: Path, timeout_s: float = 1800.0) -> CaseResult:
    """Run a case in a fresh interpreter (clean peak RSS) and read its result back."""
    env = dict(os.environ)
    if case.omp_passive:
        env["OMP_WAIT_POLICY"] = "PASSIVE"  # read by the OpenMP runtime at start-up only
    data, error = _run_worker("--worker", dataclasses.asdict(case), workdir, "case", timeout_s, env)
    if data is None:
        return CaseResult(case=case, error=error)
    data.pop("case")
    for key in ("label", "median_ms", "p90_ms", "fps", "gflops"):
        data.pop(key)
    return CaseResult(case=case, **data)


# ---------------------------------------------------------------------------------------------- agreement
def box_iou(a, b) -> np.ndarray:
    """IoU of ``xywh`` boxes ``(..., 4)``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    x1 = np.maximum(a[..., 0], b[..., 0])
    y1 = np.maximum(a[..., 1], b[..., 1])
    x2 = np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2])
    y2 = np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def fill_agreement(results: list[CaseResult]) -> None:
    """Compare every run with the ``torch fp32`` eager run of the same preset/targets/threads/video."""
    references = {r.case.key(): r for r in results if r.case.is_reference and not r.error}
    for r in results:
        ref = references.get(r.case.key())
        if ref is None or r.error:
            continue
        n = min(len(ref.boxes), len(r.boxes))
        if n == 0:
            continue
        iou = box_iou(np.array(r.boxes[:n]), np.array(ref.boxes[:n]))  # (frames, targets)
        same = (np.array(r.tokens[:n]) == np.array(ref.tokens[:n])).all(axis=-1)
        r.agreement_frames = n * r.case.targets
        r.iou_share = float((iou >= IOU_THRESHOLD).mean())
        r.token_share = float(same.mean())


# ---------------------------------------------------------------------------------------------- golden
@dataclass
class GoldenAgreement:
    """One backend on the golden tracker video with the golden (trained) tiny network."""

    label: str
    frames: int
    tokens_equal: float  # share of tracked frames with the official tokens
    iou_share: float  # share with IoU >= 0.99 against the official boxes
    max_box_error_px: float
    updates_equal: float
    error: str | None = None


def golden_tiny_config():
    """The tiny network of the golden files (``/work/shared/golden/README.md``)."""
    from seqtrack.config import DecoderConfig, EncoderConfig, ModelConfig

    return ModelConfig(encoder=EncoderConfig(embed_dim=64, depth=2, num_heads=4),
                       decoder=DecoderConfig(hidden_dim=32, num_heads=4, num_layers=2, dim_feedforward=64),
                       template_size=128, search_size=128, name="tiny")


def golden_agreement(golden_dir: Path, option_sets: list[dict], threads: int) -> list[GoldenAgreement]:
    """Track the golden 40-frame video with each option set and compare with the official outputs."""
    import torch

    from seqtrack.config import TrackerConfig
    from seqtrack.export.backends import make_predictor
    from seqtrack.model.weights import load_model
    from seqtrack.tracking.tracker import Tracker

    torch.set_num_threads(threads)
    data = dict(np.load(golden_dir / "tiny_tracker.npz"))
    config = TrackerConfig(template_factor=float(data["template_factor"]), search_factor=float(data["search_factor"]),
                           window=bool(data["window"]), update_interval=int(data["update_interval"]),
                           update_threshold=float(data["update_threshold"]))
    rows = []
    for options in option_sets:
        label = _options_label(options)
        try:
            model = load_model(golden_dir / "tiny_official_checkpoint.pth.tar", config=golden_tiny_config())
            tracker = Tracker(make_predictor(model, threads=threads, **options), config)
            frames = data["frames"]
            tracker.init(frames[0], data["init_box"])
            tokens, boxes, updates = [], [], []
            for i in range(1, len(frames)):
                result = tracker.track(frames[i])
                tokens.append(result.tokens)
                boxes.append(result.box)
                updates.append(result.template_updated)
            tokens, boxes = np.array(tokens), np.array(boxes)
            rows.append(GoldenAgreement(
                label=label, frames=len(tokens),
                tokens_equal=float((tokens == data["tokens"][1:]).all(axis=1).mean()),
                iou_share=float((box_iou(boxes, data["boxes"][1:]) >= IOU_THRESHOLD).mean()),
                max_box_error_px=float(np.abs(boxes - data["boxes"][1:]).max()),
                updates_equal=float((np.array(updates) == data["updated"][1:]).mean())))
        except Exception as error:
            rows.append(GoldenAgreement(label, 0, float("nan"), float("nan"), float("nan"), float("nan"),
                                        error=f"{type(error).__name__}: {error}"[:300]))
    return rows


def _options_label(options: dict) -> str:
    from seqtrack.export.options import PredictorOptions

    return PredictorOptions(**options).label


# ---------------------------------------------------------------------------------------------- machine
def machine_info(threads: int) -> dict:
    """CPU model and relevant flags, cores, library versions and the load at the time of the run."""
    import torch

    info: dict = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                  "cores": os.cpu_count(), "threads": threads, "platform": platform.platform()}
    for module in ("onnxruntime", "onnx", "cv2"):
        try:
            info[module] = __import__(module).__version__
        except ImportError:
            info[module] = None
    cpu, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and cpu in ("unknown", ""):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    info["cpu"] = cpu
    info["cpu_flags"] = sorted(flags & {"avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni",
                                        "amx_bf16", "amx_int8"})
    info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    info["load_average"] = list(os.getloadavg())
    return info


# ---------------------------------------------------------------------------------------------- driver
@dataclass
class BenchSettings:
    """What `run_benchmark` measures (the ``seqtrack bench`` flags)."""

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
    backends: tuple[str, ...] = ("torch-fp32", "torch-bf16", "torch-bf16-autocast", "torch-compile",
                                 "onnxruntime-fp32", "onnxruntime-int8")
    scaling_preset: str | None = "t128"
    scaling_targets: tuple[int, ...] = (1, 2, 4, 8)
    scaling_backends: tuple[str, ...] = ("torch-fp32", "onnxruntime-fp32")
    thread_sweep: bool = True
    interleaved: bool = True  # the same-process A/B table (bf16 left out: far slower, no ambiguity)
    interleaved_frames: int = 20
    interleaved_large_frames: int = 8
    golden_dir: str | None = None
    out_dir: str = "benchmarks/results"
    note: str = "other processes were running on this shared machine during the run: timings are noisy"
    quick: bool = False

    @classmethod
    def quick_settings(cls, **overrides) -> "BenchSettings":
        """A few seconds per configuration: for tests and smoke checks, numbers are not meaningful."""
        base = dict(presets=("t128",), warmup=1, frames=2, large_frames=2, max_seconds=10.0, width=320,
                    height=240, backends=("torch-fp32", "onnxruntime-fp32"), scaling_targets=(1, 2),
                    scaling_backends=("torch-fp32",), thread_sweep=False, interleaved=False, quick=True)
        base.update(overrides)
        return cls(**base)


_BACKEND_CASES = {
    "torch-fp32": dict(backend="torch", dtype="fp32"),
    "torch-bf16": dict(backend="torch", dtype="bf16"),
    "torch-bf16-autocast": dict(backend="torch", dtype="bf16-autocast"),
    "torch-compile": dict(backend="torch", dtype="fp32", compile=True),
    "onnxruntime-fp32": dict(backend="onnxruntime"),
    "onnxruntime-int8": dict(backend="onnxruntime", quantize="int8"),
}


def _have_onnxruntime() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class BenchReport:
    """Everything one benchmark run produced."""

    settings: BenchSettings
    machine: dict
    results: list[CaseResult]
    scaling: list[CaseResult]
    threads: list[CaseResult]
    golden: list[GoldenAgreement]
    interleaved: list[InterleavedResult]
    exports: dict[str, float]  # "preset precision" -> seconds to export (and quantise)
    skipped: list[str]
    wall_s: float

    def to_json(self) -> dict:
        return {"settings": dataclasses.asdict(self.settings), "machine": self.machine,
                "results": [r.to_json(keep_traces=False) for r in self.results],
                "scaling": [r.to_json(keep_traces=False) for r in self.scaling],
                "threads": [r.to_json(keep_traces=False) for r in self.threads],
                "golden": [dataclasses.asdict(g) for g in self.golden],
                "interleaved": [dataclasses.asdict(i) for i in self.interleaved],
                "exports_s": self.exports, "skipped": self.skipped, "wall_s": self.wall_s}


class _Exports:
    """ONNX files for the onnxruntime cases, made once per (preset, precision) by the parent process."""

    def __init__(self, workdir: Path, settings: BenchSettings) -> None:
        self.workdir, self.settings = workdir, settings
        self.paths: dict[tuple[str, str | None], str] = {}
        self.seconds: dict[str, float] = {}

    def path(self, preset: str, quantize: str | None) -> str:
        key = (preset, quantize)
        if key not in self.paths:
            import torch

            from seqtrack.config import model_preset
            from seqtrack.export.onnx import export_onnx
            from seqtrack.model.seqtrack import SeqTrack
            from seqtrack.model.weights import load_model

            if self.settings.weights:
                model = load_model(self.settings.weights)
            else:
                torch.manual_seed(self.settings.seed)  # same weights as the torch workers
                model = SeqTrack(model_preset(preset))
            target = self.workdir / f"{preset}.{quantize or 'fp32'}.onnx"
            start = time.perf_counter()
            export_onnx(model, target, quantize=quantize, validate=False)
            self.seconds[f"{preset} {quantize or 'fp32'}"] = time.perf_counter() - start
            self.paths[key] = str(target)
        return self.paths[key]


def run_benchmark(settings: BenchSettings, log=print) -> BenchReport:
    """Measure every configuration of ``settings`` and return the report (see `write_report`)."""
    started = time.perf_counter()
    machine = machine_info(settings.threads)
    skipped: list[str] = []
    has_ort = _have_onnxruntime()
    backends = [b for b in settings.backends if has_ort or not b.startswith("onnxruntime")]
    if len(backends) < len(settings.backends):
        skipped.append("onnxruntime backends: onnx/onnxruntime not installed (pip install 'seqtrack[export]')")
    presets = settings.presets
    if settings.weights:
        from seqtrack.model.weights import load_model

        presets = (load_model(settings.weights).config.name,)

    def case(preset: str, backend: str, **extra) -> BenchCase:
        large = _is_large(preset, settings)
        fields = dict(preset=preset, threads=settings.threads, warmup=settings.warmup,
                      frames=settings.large_frames if large else settings.frames,
                      max_seconds=settings.max_seconds, width=settings.width, height=settings.height,
                      seed=settings.seed, weights=settings.weights)
        return BenchCase(**{**fields, **_BACKEND_CASES[backend], **extra})

    results, scaling, threads = [], [], []
    with tempfile.TemporaryDirectory(prefix="seqtrack-bench-") as tmp:
        workdir = Path(tmp)
        exports = _Exports(workdir, settings)

        def measure(c: BenchCase) -> CaseResult:
            if c.backend == "onnxruntime":
                c.onnx_path = exports.path(c.preset, c.quantize)
            r = run_in_subprocess(c, workdir)
            status = r.error or (f"{r.fps:.2f} fps, median {r.median_ms:.1f} ms, peak RSS {r.peak_rss_mib:.0f} MiB")
            log(f"  {c.preset:>5} {c.label:<26} threads {c.threads} targets {c.targets}: {status}")
            return r

        for preset in presets:
            log(f"preset {preset}")
            # The reference first, so a failure of an optional backend never hides it.
            for backend in backends:
                results.append(measure(case(preset, backend)))
        fill_agreement(results)

        scale_preset = settings.scaling_preset if not settings.weights else presets[0]
        if scale_preset and settings.scaling_targets:
            log(f"targets ({scale_preset})")
            for backend in [b for b in settings.scaling_backends if b in backends]:
                for n in settings.scaling_targets:
                    reuse = [r for r in results if r.case.preset == scale_preset and r.case.targets == n
                             and r.case.label == case(scale_preset, backend).label]
                    scaling.append(reuse[0] if reuse else measure(case(scale_preset, backend, targets=n)))
            fill_agreement(scaling)

        sweep_preset = scale_preset or presets[0]
        if settings.thread_sweep:
            log(f"threads ({sweep_preset})")
            counts = sorted({1, os.cpu_count() or 1})
            sweep = [(b, n, False) for b in ("torch-fp32", "onnxruntime-fp32") if b in backends for n in counts]
            # torch's OpenMP threads spin while idle; on a shared machine that can cost more than it gains.
            sweep += [("torch-fp32", n, True) for n in counts if n > 1]
            for backend, n, passive in sweep:
                wanted = case(sweep_preset, backend, threads=n, omp_passive=passive)
                reuse = [r for r in results if r.case.preset == sweep_preset and r.case.threads == n
                         and r.case.targets == 1 and r.case.label == wanted.label]
                threads.append(reuse[0] if reuse else measure(wanted))
        interleaved: list[InterleavedResult] = []
        if settings.interleaved:
            keys = [b for b in backends if "bf16" not in b]
            for preset in presets:
                log(f"interleaved A/B ({preset}): {', '.join(keys)}")
                large = _is_large(preset, settings)
                paths = {k: exports.path(preset, _BACKEND_CASES[k].get("quantize")) for k in keys
                         if k.startswith("onnxruntime")}
                item = InterleavedCase(preset=preset, backends=keys, onnx_paths=paths, threads=settings.threads,
                                       warmup=2, frames=settings.interleaved_large_frames if large
                                       else settings.interleaved_frames, width=settings.width,
                                       height=settings.height, seed=settings.seed, weights=settings.weights)
                done = run_interleaved_subprocess(item, workdir)
                log("  " + (done.error or ", ".join(f"{done.labels[k]} {done.median_ms(k):.1f} ms" for k in keys)))
                interleaved.append(done)
        export_seconds = exports.seconds

    golden: list[GoldenAgreement] = []
    if settings.golden_dir:
        log("golden tiny model (official outputs)")
        option_sets = [_golden_options(b) for b in backends]
        golden = golden_agreement(Path(settings.golden_dir), option_sets, settings.threads)
    machine["load_average_end"] = list(os.getloadavg())
    return BenchReport(settings, machine, results, scaling, threads, golden, interleaved, export_seconds, skipped,
                       time.perf_counter() - started)


def _golden_options(backend: str) -> dict:
    spec = dict(_BACKEND_CASES[backend])
    return {"backend": spec["backend"], "dtype": spec.get("dtype", "fp32"), "compile": spec.get("compile", False),
            "quantize": spec.get("quantize")}


def _is_large(preset: str, settings: BenchSettings) -> bool:
    from seqtrack.config import model_preset

    try:
        return model_preset(preset).encoder.embed_dim >= 768
    except Exception:
        return False


# ---------------------------------------------------------------------------------------------- report
def _fmt(value: float, digits: int = 1) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _pct(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{100 * value:.0f}%"


def render_markdown(report: BenchReport) -> str:
    """The human-readable tables of a report."""
    m, s = report.machine, report.settings
    lines = ["# SeqTrack tracker speed (CPU, end to end)", ""]
    if s.quick:
        lines += ["**Quick mode** (smoke test): too few frames for the numbers to mean anything.", ""]
    lines += [
        f"- CPU: {m['cpu']} ({m['cores']} logical cores; flags: {', '.join(m['cpu_flags']) or 'none'}; "
        f"torch kernels: {m['torch_cpu_capability']})",
        f"- threads: {s.threads} (intra-op; torch and onnxruntime alike); torch {m['torch']}, "
        f"onnxruntime {m.get('onnxruntime') or 'not installed'}, onnx {m.get('onnx') or 'not installed'}, "
        f"OpenCV {m.get('cv2')}, numpy {m['numpy']}, Python {m['python']}",
        f"- note: {s.note}; load average at start {', '.join(f'{v:.2f}' for v in m['load_average'])}, "
        f"at end {', '.join(f'{v:.2f}' for v in m.get('load_average_end', []))}",
        f"- video: {s.width}x{s.height} generated frames (seed {s.seed}); weights: "
        f"{s.weights or 'random (seeded) — speed is weight-independent, agreement is not (see below)'}",
        f"- per configuration: a fresh process; {s.warmup} warm-up frames, then up to {s.frames} timed frames "
        f"({s.large_frames} for ViT-B presets, or fewer when a configuration exceeds {s.max_seconds:.0f} s); "
        "fps = 1000 / median ms of `Tracker.track` (crop + network + box)",
        "- agreement: share of tracked frames (warm-up included) whose box has IoU >= 0.99 with the torch fp32 "
        "eager box / whose 4 tokens are identical, same video, closed loop",
        "",
        "## Backends and precisions", "",
        "| preset | backend | fps | median ms | p90 ms | GFLOP/s | peak RSS MiB | setup s | 1st frame s | "
        "timed frames | IoU≥0.99 | tokens equal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in report.results:
        lines.append(_row(r))
    if report.exports:
        lines += ["", "ONNX export time (s, in the parent process, includes int8 quantisation): "
                  + ", ".join(f"{k} {v:.1f}" for k, v in report.exports.items())]
    if report.scaling:
        preset = report.scaling[0].case.preset
        lines += ["", f"## Cost per target ({preset}, threads {s.threads}, one batched forward per frame)", "",
                  "| backend | targets | median ms / frame | ms / target | target-frames/s | peak RSS MiB | "
                  "IoU≥0.99 | tokens equal |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in report.scaling:
            n = r.case.targets
            lines.append(f"| {r.case.label} | {n} | {_fmt(r.median_ms)} | {_fmt(r.median_ms / n)} | "
                         f"{_fmt(n * r.fps)} | {_fmt(r.peak_rss_mib, 0)} | {_pct(r.iou_share)} | "
                         f"{_pct(r.token_share)} |" if not r.error else f"| {r.case.label} | {n} | {r.error} |||||")
    if report.threads:
        preset = report.threads[0].case.preset
        lines += ["", f"## Threads ({preset}, one target)", "", "| backend | threads | fps | median ms | p90 ms |",
                  "|---|---:|---:|---:|---:|"]
        for r in report.threads:
            lines.append(f"| {r.case.label} | {r.case.threads} | {_fmt(r.fps, 2)} | {_fmt(r.median_ms)} | "
                         f"{_fmt(r.p90_ms)} |" if not r.error else f"| {r.case.label} | {r.case.threads} | {r.error} |||")
    if report.interleaved:
        lines += ["", f"## Same-process A/B (threads {s.threads}; each frame tracked by every backend in turn)", "",
                  "Fresh processes give clean memory figures but meet different loads on a shared machine; here a "
                  "busy moment slows every backend alike, so compare backends with this table.", "",
                  "| preset | backend | median ms | fps | speed-up vs torch fp32 | frames |",
                  "|---|---|---:|---:|---:|---:|"]
        for item in report.interleaved:
            if item.error:
                lines.append(f"| {item.case.preset} | failed: {item.error} |||||")
                continue
            base = item.median_ms("torch-fp32")
            for key in item.case.backends:
                ms = item.median_ms(key)
                lines.append(f"| {item.case.preset} | {item.labels[key]} | {_fmt(ms)} | {_fmt(1000 / ms, 2)} | "
                             f"{_fmt(base / ms, 2)}x | {len(item.latencies_ms[key])} |")
    if report.golden:
        lines += ["", "## Agreement with the official outputs (golden tiny trained model, golden 40-frame video)", "",
                  "| backend | frames | tokens equal | IoU≥0.99 | max box error px | update decisions equal |",
                  "|---|---:|---:|---:|---:|---:|"]
        for g in report.golden:
            lines.append(f"| {g.label} | {g.frames} | {_pct(g.tokens_equal)} | {_pct(g.iou_share)} | "
                         f"{_fmt(g.max_box_error_px, 3)} | {_pct(g.updates_equal)} |" if not g.error
                         else f"| {g.label} | {g.error} |||||")
    if report.skipped:
        lines += ["", "Skipped: " + "; ".join(report.skipped)]
    lines += ["", f"Total benchmark wall time {report.wall_s / 60:.1f} min.", ""]
    return "\n".join(lines)


def _row(r: CaseResult) -> str:
    c = r.case
    if r.error:
        return f"| {c.preset} | {c.label} | failed: {r.error} ||||||||||"
    return (f"| {c.preset} | {c.label} | {_fmt(r.fps, 2)} | {_fmt(r.median_ms)} | {_fmt(r.p90_ms)} | "
            f"{_fmt(r.gflops, 0)} | {_fmt(r.peak_rss_mib, 0)} | {_fmt(r.setup_s)} | {_fmt(r.first_frame_s)} | "
            f"{len(r.latencies_ms)} | {_pct(r.iou_share)} | {_pct(r.token_share)} |")


def write_report(report: BenchReport, out_dir: str | Path, name: str = RESULT_NAME) -> tuple[Path, Path]:
    """Write ``<name>.json`` and ``<name>.md`` into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / f"{name}.json", out / f"{name}.md"
    json_path.write_text(json.dumps(_clean(report.to_json()), indent=1, allow_nan=False) + "\n")
    md_path.write_text(render_markdown(report))
    return json_path, md_path


def _clean(value):
    """Strict JSON: NaN/inf become null, numpy scalars become Python numbers, tuples become lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ---------------------------------------------------------------------------------------------- CLI
def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``seqtrack bench`` / ``benchmarks/speed.py``."""
    parser.add_argument("--presets", default=",".join(DEFAULT_PRESETS),
                        help="comma-separated model presets with random seeded weights (default: b256,t128,s128)")
    parser.add_argument("--weights", help="benchmark this checkpoint instead of random-weight presets")
    parser.add_argument("--backends", default=",".join(BenchSettings().backends),
                        help=f"comma-separated subset of {', '.join(_BACKEND_CASES)}")
    parser.add_argument("--threads", type=int, default=None,
                        help="intra-op threads (default: all cores; 1 with --quick)")
    parser.add_argument("--frames", type=int, default=BenchSettings.frames, help="timed frames for small presets")
    parser.add_argument("--large-frames", type=int, default=BenchSettings.large_frames,
                        help="timed frames for ViT-B and larger presets")
    parser.add_argument("--warmup", type=int, default=BenchSettings.warmup)
    parser.add_argument("--max-seconds", type=float, default=BenchSettings.max_seconds,
                        help="stop timing a configuration after this long (at least 3 frames)")
    parser.add_argument("--size", default="640x480", help="frame size WxH (default 640x480)")
    parser.add_argument("--scaling-preset", default="t128", help="preset for the cost-per-target table ('' to skip)")
    parser.add_argument("--no-thread-sweep", action="store_true", help="skip the 1-thread vs all-cores table")
    parser.add_argument("--no-interleaved", action="store_true", help="skip the same-process A/B table")
    parser.add_argument("--golden", help="golden folder: also compare each backend with the official outputs")
    parser.add_argument("--out-dir", default="benchmarks/results", help="where speed.json and speed.md go")
    parser.add_argument("--note", default=BenchSettings.note, help="a remark recorded with the results")
    parser.add_argument("--quick", action="store_true", help="seconds-long smoke run (t128, tiny frame counts)")


def settings_from_args(args: argparse.Namespace) -> BenchSettings:
    from seqtrack.errors import InputError

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise InputError(f"--size must look like 640x480, got {args.size!r}") from None
    backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    unknown = [b for b in backends if b not in _BACKEND_CASES]
    if unknown:
        raise InputError(f"unknown backend(s) {', '.join(unknown)}; known: {', '.join(_BACKEND_CASES)}")
    if "torch-fp32" not in backends:
        backends = ("torch-fp32",) + backends  # the reference for the agreement columns
    presets = tuple(p.strip() for p in args.presets.split(",") if p.strip())
    from seqtrack.config import model_preset

    for p in presets:
        model_preset(p)  # raises InputError naming the known presets
    if args.weights and not Path(args.weights).is_file():
        raise InputError(f"weights file not found: {args.weights}")
    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads must be >= 1, got {args.threads}")
    threads = args.threads or (1 if args.quick else os.cpu_count() or 1)
    common = dict(weights=args.weights, threads=threads, golden_dir=args.golden, out_dir=args.out_dir,
                  note=args.note)
    if args.quick:
        return BenchSettings.quick_settings(**common)
    return BenchSettings(presets=presets, backends=backends, warmup=args.warmup, frames=args.frames,
                         large_frames=args.large_frames, max_seconds=args.max_seconds, width=width, height=height,
                         scaling_preset=args.scaling_preset or None, thread_sweep=not args.no_thread_sweep,
                         interleaved=not args.no_interleaved, **common)


def run_from_args(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    report = run_benchmark(settings)
    json_path, md_path = write_report(report, settings.out_dir)
    print(f"wrote {json_path} and {md_path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``benchmarks/speed.py`` entry point (same flags as ``seqtrack bench``)."""
    from seqtrack.errors import SeqTrackError

    parser = argparse.ArgumentParser(prog="speed.py", description="SeqTrack end-to-end CPU speed benchmark")
    add_bench_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_from_args(args)
    except SeqTrackError as error:
        print(f"speed.py: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        sys.exit(_worker_main(sys.argv[2], sys.argv[3]))
    if len(sys.argv) == 4 and sys.argv[1] == "--interleaved":
        sys.exit(_interleaved_main(sys.argv[2], sys.argv[3]))
    sys.exit(main())
