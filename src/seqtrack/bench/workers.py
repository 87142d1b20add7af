"""The benchmark's worker processes: each configuration runs in a fresh interpreter, started as

    python -m seqtrack.bench.workers --worker CASE.json RESULT.json        # one `BenchCase`
    python -m seqtrack.bench.workers --interleaved CASE.json RESULT.json   # one `InterleavedCase`

so that its peak resident memory is its own. The parent side (`run_in_subprocess`,
`run_interleaved_subprocess`) writes the case, starts the worker and reads the result back; the worker
side (`run_case`, `run_interleaved`) tracks the generated video and times every ``track`` call.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from seqtrack.bench.cases import BACKEND_CASES, BenchCase, CaseResult, InterleavedCase, InterleavedResult
from seqtrack.bench.flops import frame_flops
from seqtrack.bench.video import SyntheticVideo

WORKER_MODULE = "seqtrack.bench.workers"  # what the parent runs with ``python -m``


# ---------------------------------------------------------------------------------------------- worker side
def build_predictor(case: BenchCase):
    """The predictor ``case`` asks for; random weights are seeded, so every process builds the same network."""
    import torch

    from seqtrack.config import model_preset
    from seqtrack.model.seqtrack import SeqTrack
    from seqtrack.runtime.factory import make_predictor

    torch.set_num_threads(case.threads)
    if case.backend == "onnxruntime":
        return make_predictor(case.onnx_path, backend="onnxruntime", threads=case.threads, device=case.device)
    if case.weights:
        weights = case.weights
    else:
        torch.manual_seed(case.seed)  # the parent builds the same weights for the ONNX export
        weights = SeqTrack(model_preset(case.preset))
    return make_predictor(
        weights,
        backend="torch",
        dtype=case.dtype,
        compile=case.compile,
        threads=case.threads,
        fast=case.fast,
        kernel=case.kernel,
        device=case.device,
        cuda_graphs=case.cuda_graphs,
    )


def run_case(case: BenchCase) -> CaseResult:
    """Run one configuration in this process (the worker side); a failure becomes ``result.error``."""
    from seqtrack.config import TrackerConfig
    from seqtrack.tracking.loop import track_frames
    from seqtrack.tracking.tracker import Tracker

    result = CaseResult(case=case)
    try:
        start = time.perf_counter()
        predictor = build_predictor(case)
        result.setup_s = time.perf_counter() - start
        result.gflop_per_frame = frame_flops(predictor.config, case.targets) / 1e9
        video = SyntheticVideo(case.width, case.height, num_objects=max(case.targets, 1), seed=case.seed)
        tracker = Tracker(predictor, TrackerConfig())
        # Always the batched (many-target) calls, one target included: the rows differ only in the batch.
        steps = track_frames(
            tracker, video.frames(case.warmup + case.frames + 1), video.boxes(0, case.targets), many=True
        )
        _record_steps(result, steps, start)
    except Exception as error:  # a backend that does not work here is a row, not a crash
        result.error = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
    result.peak_rss_mib = peak_rss_mib()
    if case.device.startswith("cuda"):
        result.peak_gpu_mib = peak_gpu_mib(case.device)
    return result


def _record_steps(result: CaseResult, steps: Iterable, start: float) -> None:
    """Keep the tokens, boxes and call times of tracked frames 1, 2, ... until the time budget is spent.

    Args:
        steps: `seqtrack.tracking.loop.TrackedFrame` steps whose results are `TrackResults`; the init
            frame is neither timed nor recorded (only ``track`` calls are).
        start: when the case began (``perf_counter``), for the warm-up budget.
    """
    case = result.case
    budget_start = None
    for step in steps:
        if step.first:
            continue
        if step.index == 1:
            result.first_frame_s = step.seconds
        result.tokens.append(step.result.tokens.tolist())
        result.boxes.append(step.result.boxes.tolist())
        if step.index > case.warmup:
            result.latencies_ms.append(1000.0 * step.seconds)
            budget_start = budget_start or time.perf_counter() - step.seconds  # when the first timed call began
            if len(result.latencies_ms) >= case.min_frames and time.perf_counter() - budget_start > case.max_seconds:
                break
        elif time.perf_counter() - start > 2 * case.max_seconds:
            break  # a pathologically slow warm-up: keep what the budget allows


def run_interleaved(case: InterleavedCase) -> InterleavedResult:
    """Worker side of `InterleavedCase`: every frame goes through each backend's tracker in turn."""
    from seqtrack.config import TrackerConfig
    from seqtrack.tracking.loop import track_frames
    from seqtrack.tracking.tracker import Tracker

    result = InterleavedResult(case=case)
    try:
        video = SyntheticVideo(case.width, case.height, num_objects=1, seed=case.seed)
        loops = []
        for key in case.backends:
            spec = BenchCase(
                preset=case.preset,
                threads=case.threads,
                seed=case.seed,
                weights=case.weights,
                device=case.device,
                onnx_path=case.onnx_paths.get(key),
                **BACKEND_CASES[key],
            )
            tracker = Tracker(build_predictor(spec), TrackerConfig())
            loops.append(
                track_frames(tracker, video.frames(case.warmup + case.frames + 1), video.boxes(0, 1), many=True)
            )
            result.labels[key] = spec.label
            result.latencies_ms[key] = []
        # zip advances the loops one step each in turn: frame i is tracked by every backend before frame i + 1.
        for steps in zip(*loops):
            for key, step in zip(case.backends, steps):
                if not step.first and step.index > case.warmup:
                    result.latencies_ms[key].append(1000.0 * step.seconds)
    except Exception as error:
        result.error = f"{type(error).__name__}: {error}"[:300]
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


def peak_gpu_mib(device: str) -> float:
    """Peak memory torch allocated on ``device`` in this process, in MiB (NaN when CUDA is unusable)."""
    try:
        import torch

        return torch.cuda.max_memory_allocated(device) / 2**20
    except Exception:  # a CPU-only build or a device that failed: the row says why elsewhere
        return float("nan")


def _worker_main(case_path: str, result_path: str) -> int:
    case = BenchCase(**json.loads(Path(case_path).read_text()))
    Path(result_path).write_text(json.dumps(run_case(case).to_json()))
    return 0


def _interleaved_main(case_path: str, result_path: str) -> int:
    case = InterleavedCase(**json.loads(Path(case_path).read_text()))
    Path(result_path).write_text(json.dumps(dataclasses.asdict(run_interleaved(case))))
    return 0


# ---------------------------------------------------------------------------------------------- parent side
def _run_worker(
    flag: str, case: dict, workdir: Path, stem: str, timeout_s: float, env: dict | None = None
) -> tuple[dict | None, str]:
    """Run ``python -m seqtrack.bench.workers FLAG case.json result.json`` in a fresh interpreter.

    Returns ``(result dict, "")`` or ``(None, error)`` — a timeout, or the worker's last output line.
    """
    case_path, result_path = workdir / f"{stem}.json", workdir / f"{stem}.result.json"
    result_path.unlink(missing_ok=True)
    case_path.write_text(json.dumps(case))
    command = [sys.executable, "-m", WORKER_MODULE, flag, str(case_path), str(result_path)]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout_s:.0f} s"
    if completed.returncode != 0 or not result_path.is_file():
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        return None, f"worker exited {completed.returncode}: {tail[0][:300]}"
    return json.loads(result_path.read_text()), ""


def run_in_subprocess(case: BenchCase, workdir: Path, timeout_s: float = 1800.0) -> CaseResult:
    """Run a case in a fresh interpreter (clean peak RSS) and read its result back."""
    env = dict(os.environ)
    if case.omp_passive:
        env["OMP_WAIT_POLICY"] = "PASSIVE"  # read by the OpenMP runtime at start-up only
    data, error = _run_worker("--worker", dataclasses.asdict(case), workdir, "case", timeout_s, env)
    if data is None:
        return CaseResult(case=case, error=error)
    return CaseResult.from_json(case, data)


def run_interleaved_subprocess(case: InterleavedCase, workdir: Path, timeout_s: float = 1800.0) -> InterleavedResult:
    """Run an `InterleavedCase` in a fresh interpreter and read its result back."""
    data, error = _run_worker("--interleaved", dataclasses.asdict(case), workdir, "interleaved", timeout_s)
    if data is None:
        return InterleavedResult(case=case, error=error)
    return InterleavedResult(case=case, latencies_ms=data["latencies_ms"], labels=data["labels"], error=data["error"])


_ENTRY_POINTS = {"--worker": _worker_main, "--interleaved": _interleaved_main}

if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in _ENTRY_POINTS:
        sys.exit(f"usage: python -m {WORKER_MODULE} --worker|--interleaved CASE.json RESULT.json")
    sys.exit(_ENTRY_POINTS[sys.argv[1]](sys.argv[2], sys.argv[3]))
