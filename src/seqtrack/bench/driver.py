"""`run_speed_benchmark`: every table of the speed benchmark, each configuration in a fresh worker process.

What is measured, per configuration (preset x backend x precision x threads x number of targets):

* **speed**: wall time of ``Tracker.track_many(frame)`` — crop, normalisation, the network, the box
  read-out — on a `SyntheticVideo`; median over the timed frames after a warm-up (frames/s and ms);
* **peak RSS** of the worker process that ran only that configuration (it includes the Python/torch
  runtime itself);
* **agreement with fp32 eager** (`seqtrack.bench.agreement.fill_agreement`);
* **per-target cost** for a small preset as the number of targets grows (one batched forward per frame);
* **threads**: the small preset at 1 thread and at every core;
* **same-process A/B**: the backends of a preset taking turns frame by frame, for fair ratios;
* optionally, **agreement with the official outputs** on the golden video (``--golden tests/golden``).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seqtrack.bench.agreement import fill_agreement, golden_agreement, golden_options
from seqtrack.bench.cases import BACKEND_CASES, BenchCase, BenchSettings, CaseResult, InterleavedCase, InterleavedResult
from seqtrack.bench.machine import machine_info
from seqtrack.bench.report import BenchReport
from seqtrack.bench.workers import run_in_subprocess, run_interleaved_subprocess


class OnnxExports:
    """ONNX files for the onnxruntime cases, made once per (preset, precision) by the parent process."""

    def __init__(self, workdir: Path, settings: BenchSettings) -> None:
        self.workdir, self.settings = workdir, settings
        self.paths: dict[tuple[str, str | None], str] = {}
        self.seconds: dict[str, float] = {}  # "preset precision" -> seconds to export (and quantise)

    def path(self, preset: str, quantize: str | None) -> str:
        """The ``.onnx`` file of ``preset`` (``quantize``: None or ``"int8"``), exported on first use."""
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


@dataclass
class _Session:
    """What the measurements of one run share: settings, the backends that can run here, the scratch folder."""

    settings: BenchSettings
    backends: list[str]
    workdir: Path
    exports: OnnxExports
    log: Callable[[str], None]

    def case(self, preset: str, backend: str, **extra) -> BenchCase:
        """The `BenchCase` of ``preset`` on ``backend`` (a ``--backends`` name) with the run's settings."""
        s = self.settings
        fields = dict(
            preset=preset,
            threads=s.threads,
            warmup=s.warmup,
            frames=s.large_frames if _is_large(preset) else s.frames,
            max_seconds=s.max_seconds,
            width=s.width,
            height=s.height,
            seed=s.seed,
            weights=s.weights,
            device=s.device,
        )
        return BenchCase(**{**fields, **BACKEND_CASES[backend], **extra})

    def measure(self, case: BenchCase) -> CaseResult:
        """Run ``case`` in a fresh worker (exporting its ONNX file first if it needs one) and log the outcome."""
        if case.backend == "onnxruntime":
            case.onnx_path = self.exports.path(case.preset, case.quantize)
        r = run_in_subprocess(case, self.workdir)
        status = r.error or f"{r.fps:.2f} fps, median {r.median_ms:.1f} ms, peak RSS {r.peak_rss_mib:.0f} MiB"
        self.log(f"  {case.preset:>5} {case.label:<26} threads {case.threads} targets {case.targets}: {status}")
        return r


def run_speed_benchmark(settings: BenchSettings, log: Callable[[str], None] = print) -> BenchReport:
    """Measure every configuration of ``settings`` and return the report (see `seqtrack.bench.report.write_report`)."""
    started = time.perf_counter()
    machine = machine_info(settings.threads, settings.device)
    skipped: list[str] = []
    has_ort = _have_onnxruntime()
    backends = [b for b in settings.backends if has_ort or not b.startswith("onnxruntime")]
    if len(backends) < len(settings.backends):
        skipped.append("onnxruntime backends: onnx/onnxruntime not installed (pip install 'seqtrack[export]')")
    presets = settings.presets
    if settings.weights:
        from seqtrack.model.weights import load_model

        presets = (load_model(settings.weights).config.name,)

    with tempfile.TemporaryDirectory(prefix="seqtrack-bench-") as tmp:
        session = _Session(settings, backends, Path(tmp), OnnxExports(Path(tmp), settings), log)
        results = _backend_rows(session, presets)
        scale_preset = settings.scaling_preset if not settings.weights else presets[0]
        scaling = _scaling_rows(session, scale_preset, results) if scale_preset and settings.scaling_targets else []
        threads = _thread_rows(session, scale_preset or presets[0], results) if settings.thread_sweep else []
        interleaved = _interleaved_rows(session, presets) if settings.interleaved else []
        export_seconds = session.exports.seconds

    golden = []
    if settings.golden_dir:
        log("golden tiny model (official outputs)")
        options = [golden_options(b) for b in backends]
        golden = golden_agreement(Path(settings.golden_dir), options, settings.threads, settings.device)
    fidelity = []
    if settings.fidelity_root:
        from seqtrack.bench.fidelity import fidelity_rows

        fidelity = fidelity_rows(settings, backends, log)
    machine["load_average_end"] = list(os.getloadavg())
    return BenchReport(
        settings,
        machine,
        results,
        scaling,
        threads,
        golden,
        interleaved,
        export_seconds,
        skipped,
        time.perf_counter() - started,
        fidelity,
    )


def _backend_rows(session: _Session, presets: tuple[str, ...]) -> list[CaseResult]:
    """The main table: every preset on every backend, one target, agreement with torch fp32 filled in."""
    results = []
    for preset in presets:
        session.log(f"preset {preset}")
        # The reference first, so a failure of an optional backend never hides it.
        for backend in session.backends:
            results.append(session.measure(session.case(preset, backend)))
    fill_agreement(results)
    return results


def _scaling_rows(session: _Session, preset: str, results: list[CaseResult]) -> list[CaseResult]:
    """Cost per target: ``preset`` with 1, 2, 4 ... targets (rows of the main table are reused)."""
    session.log(f"targets ({preset})")
    scaling = []
    for backend in [b for b in session.settings.scaling_backends if b in session.backends]:
        for n in session.settings.scaling_targets:
            reuse = [
                r
                for r in results
                if r.case.preset == preset
                and r.case.targets == n
                and r.case.label == session.case(preset, backend).label
            ]
            scaling.append(reuse[0] if reuse else session.measure(session.case(preset, backend, targets=n)))
    fill_agreement(scaling)
    return scaling


def _thread_rows(session: _Session, preset: str, results: list[CaseResult]) -> list[CaseResult]:
    """``preset`` at 1 thread and at every core (and torch with passive OpenMP waiting)."""
    session.log(f"threads ({preset})")
    counts = sorted({1, os.cpu_count() or 1})
    sweep = [(b, n, False) for b in ("torch-fp32", "onnxruntime-fp32") if b in session.backends for n in counts]
    # torch's OpenMP threads spin while idle; on a shared machine that can cost more than it gains.
    sweep += [("torch-fp32", n, True) for n in counts if n > 1]
    rows = []
    for backend, n, passive in sweep:
        wanted = session.case(preset, backend, threads=n, omp_passive=passive)
        reuse = [
            r
            for r in results
            if r.case.preset == preset and r.case.threads == n and r.case.targets == 1 and r.case.label == wanted.label
        ]
        rows.append(reuse[0] if reuse else session.measure(wanted))
    return rows


def _interleaved_rows(session: _Session, presets: tuple[str, ...]) -> list[InterleavedResult]:
    """The same-process A/B table: per preset, the backends (bf16 left out) taking turns frame by frame."""
    s = session.settings
    keys = [b for b in session.backends if "bf16" not in b]
    rows = []
    for preset in presets:
        session.log(f"interleaved A/B ({preset}): {', '.join(keys)}")
        paths = {
            k: session.exports.path(preset, BACKEND_CASES[k].get("quantize"))
            for k in keys
            if k.startswith("onnxruntime")
        }
        item = InterleavedCase(
            preset=preset,
            backends=keys,
            onnx_paths=paths,
            threads=s.threads,
            warmup=2,
            frames=s.interleaved_large_frames if _is_large(preset) else s.interleaved_frames,
            width=s.width,
            height=s.height,
            seed=s.seed,
            weights=s.weights,
            device=s.device,
        )
        done = run_interleaved_subprocess(item, session.workdir)
        session.log("  " + (done.error or ", ".join(f"{done.labels[k]} {done.median_ms(k):.1f} ms" for k in keys)))
        rows.append(done)
    return rows


def _is_large(preset: str) -> bool:
    """ViT-B or wider: such presets get fewer timed frames."""
    from seqtrack.config import model_preset

    try:
        return model_preset(preset).encoder.embed_dim >= 768
    except Exception:  # a checkpoint's own config name that is no preset: treat as small
        return False


def _have_onnxruntime() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


__all__ = ["run_speed_benchmark", "OnnxExports"]
