"""Everything one benchmark run produced (`BenchReport`), its Markdown tables and its files.

`write_report` writes ``speed.json`` (everything, raw per-frame latencies included) and ``speed.md``
(the tables plus the machine). Results are committed and compared across machines, so every path they
record is relative to the repository root, or only a file name (`recorded_path`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqtrack.bench.agreement import GoldenAgreement
from seqtrack.bench.cases import BenchSettings, CaseResult, InterleavedResult

RESULT_NAME = "speed"
PATH_FIELDS = ("weights", "onnx_path", "golden_dir", "out_dir")  # fields of settings and cases that hold paths


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
    fidelity: list = field(default_factory=list)  # `seqtrack.bench.fidelity.FidelityRow`

    def to_json(self) -> dict:
        """The report as JSON-ready data (per-frame traces left out, paths as `recorded_path` gives them)."""
        return {
            "settings": _portable(dataclasses.asdict(self.settings)),
            "machine": self.machine,
            "results": [_portable_case(r.to_json(keep_traces=False)) for r in self.results],
            "scaling": [_portable_case(r.to_json(keep_traces=False)) for r in self.scaling],
            "threads": [_portable_case(r.to_json(keep_traces=False)) for r in self.threads],
            "golden": [dataclasses.asdict(g) for g in self.golden],
            "interleaved": [_portable_case(dataclasses.asdict(i)) for i in self.interleaved],
            "exports_s": self.exports,
            "skipped": self.skipped,
            "wall_s": self.wall_s,
            "fidelity": [dataclasses.asdict(f) for f in self.fidelity],
        }


# ---------------------------------------------------------------------------------------------- paths
def repository_root() -> Path:
    """The source checkout this package runs from (``src/seqtrack/bench/`` is three folders below it);
    the current directory for an installed package (the benchmark writes relative to it by default)."""
    checkout = Path(__file__).resolve().parents[3]
    return checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()


def recorded_path(path: str | Path, root: Path | None = None) -> str:
    """``path`` as results record it: relative to the repository root when inside it, else its name only.

    A relative ``path`` is taken from the current directory, as the run itself used it. Absolute paths
    name one machine (a home folder, a temporary directory) and must not end up in committed results.
    """
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to((root or repository_root()).resolve()).as_posix()
    except ValueError:
        return resolved.name


def _portable(record: dict) -> dict:
    """``record`` with its path fields (`PATH_FIELDS` and the values of ``onnx_paths``) recorded portably."""
    out = dict(record)
    for key in PATH_FIELDS:
        if out.get(key):
            out[key] = recorded_path(out[key])
    if out.get("onnx_paths"):
        out["onnx_paths"] = {k: recorded_path(v) for k, v in out["onnx_paths"].items()}
    return out


def _portable_case(record: dict) -> dict:
    return {**record, "case": _portable(record["case"])}


# ---------------------------------------------------------------------------------------------- Markdown
def _fmt(value: float, digits: int = 1) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _pct(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{100 * value:.0f}%"


def render_markdown(report: BenchReport) -> str:
    """The human-readable tables of a report."""
    lines = _header(report) + _backend_table(report)
    for section in (_scaling_table, _threads_table, _interleaved_table, _golden_table, _fidelity_table):
        lines += section(report)
    if report.skipped:
        lines += ["", "Skipped: " + "; ".join(report.skipped)]
    lines += ["", f"Total benchmark wall time {report.wall_s / 60:.1f} min.", ""]
    return "\n".join(lines)


def _header(report: BenchReport) -> list[str]:
    """Title, the machine and how the numbers were measured."""
    m, s = report.machine, report.settings
    on_gpu = _on_gpu(report)
    lines = [f"# SeqTrack tracker speed ({'GPU' if on_gpu else 'CPU'}, end to end)", ""]
    if s.quick:
        lines += ["**Quick mode** (smoke test): too few frames for the numbers to mean anything.", ""]
    if on_gpu:
        lines += [
            f"- GPU: {m.get('gpu', '?')} ({m.get('gpu_memory_gib', '?')} GiB; device {s.device}; CUDA "
            f"{m.get('cuda')}); crops are cut on the CPU, the network runs on the GPU; memory columns: peak RSS "
            "/ peak GPU memory allocated by torch"
        ]
    weights = recorded_path(s.weights) if s.weights else None
    return lines + [
        f"- CPU: {m['cpu']} ({m['cores']} logical cores; flags: {', '.join(m['cpu_flags']) or 'none'}; "
        f"torch kernels: {m['torch_cpu_capability']})",
        f"- threads: {s.threads} (intra-op; torch and onnxruntime alike); torch {m['torch']}, "
        f"onnxruntime {m.get('onnxruntime') or 'not installed'}, onnx {m.get('onnx') or 'not installed'}, "
        f"OpenCV {m.get('cv2')}, numpy {m['numpy']}, Python {m['python']}",
        f"- note: {s.note}; load average at start {', '.join(f'{v:.2f}' for v in m['load_average'])}, "
        f"at end {', '.join(f'{v:.2f}' for v in m.get('load_average_end', []))}",
        f"- video: {s.width}x{s.height} generated frames (seed {s.seed}); weights: "
        f"{weights or 'random (seeded) — speed is weight-independent, agreement is not (see below)'}",
        f"- per configuration: a fresh process; {s.warmup} warm-up frames, then up to {s.frames} timed frames "
        f"({s.large_frames} for ViT-B presets, or fewer when a configuration exceeds {s.max_seconds:.0f} s); "
        "fps = 1000 / median ms of `Tracker.track` (crop + network + box)",
        "- agreement: share of tracked frames (warm-up included) whose box has IoU >= 0.99 with the torch fp32 "
        "eager box / whose 4 tokens are identical, same video, closed loop",
        "",
    ]


def _backend_table(report: BenchReport) -> list[str]:
    lines = [
        "## Backends and precisions",
        "",
        f"| preset | backend | fps | median ms | p90 ms | GFLOP/s | {_memory_header(report)} | setup s | "
        "1st frame s | timed frames | IoU≥0.99 | tokens equal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [_row(r, _on_gpu(report)) for r in report.results]
    if report.exports:
        lines += [
            "",
            "ONNX export time (s, in the parent process, includes int8 quantisation): "
            + ", ".join(f"{k} {v:.1f}" for k, v in report.exports.items()),
        ]
    return lines


def _on_gpu(report: BenchReport) -> bool:
    return report.settings.device.startswith("cuda")


def _memory_header(report: BenchReport) -> str:
    return "peak RSS / GPU MiB" if _on_gpu(report) else "peak RSS MiB"


def _memory(r: CaseResult, on_gpu: bool) -> str:
    """Peak RSS, and on a GPU also the peak memory torch allocated there (MiB)."""
    return f"{_fmt(r.peak_rss_mib, 0)} / {_fmt(r.peak_gpu_mib, 0)}" if on_gpu else _fmt(r.peak_rss_mib, 0)


def _row(r: CaseResult, on_gpu: bool = False) -> str:
    c = r.case
    if r.error:
        return f"| {c.preset} | {c.label} | failed: {r.error} ||||||||||"
    return (
        f"| {c.preset} | {c.label} | {_fmt(r.fps, 2)} | {_fmt(r.median_ms)} | {_fmt(r.p90_ms)} | "
        f"{_fmt(r.gflops, 0)} | {_memory(r, on_gpu)} | {_fmt(r.setup_s)} | {_fmt(r.first_frame_s)} | "
        f"{len(r.latencies_ms)} | {_pct(r.iou_share)} | {_pct(r.token_share)} |"
    )


def _scaling_table(report: BenchReport) -> list[str]:
    if not report.scaling:
        return []
    preset = report.scaling[0].case.preset
    lines = [
        "",
        f"## Cost per target ({preset}, threads {report.settings.threads}, one batched forward per frame)",
        "",
        f"| backend | targets | median ms / frame | ms / target | target-frames/s | {_memory_header(report)} | "
        "IoU≥0.99 | tokens equal |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report.scaling:
        n = r.case.targets
        lines.append(
            f"| {r.case.label} | {n} | {_fmt(r.median_ms)} | {_fmt(r.median_ms / n)} | "
            f"{_fmt(n * r.fps)} | {_memory(r, _on_gpu(report))} | {_pct(r.iou_share)} | "
            f"{_pct(r.token_share)} |"
            if not r.error
            else f"| {r.case.label} | {n} | {r.error} |||||"
        )
    return lines


def _threads_table(report: BenchReport) -> list[str]:
    if not report.threads:
        return []
    preset = report.threads[0].case.preset
    lines = [
        "",
        f"## Threads ({preset}, one target)",
        "",
        "| backend | threads | fps | median ms | p90 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in report.threads:
        lines.append(
            f"| {r.case.label} | {r.case.threads} | {_fmt(r.fps, 2)} | {_fmt(r.median_ms)} | {_fmt(r.p90_ms)} |"
            if not r.error
            else f"| {r.case.label} | {r.case.threads} | {r.error} |||"
        )
    return lines


def _interleaved_table(report: BenchReport) -> list[str]:
    if not report.interleaved:
        return []
    lines = [
        "",
        f"## Same-process A/B (threads {report.settings.threads}; each frame tracked by every backend in turn)",
        "",
        "Fresh processes give clean memory figures but meet different loads on a shared machine; here a "
        "busy moment slows every backend alike, so compare backends with this table.",
        "",
        "| preset | backend | median ms | fps | speed-up vs torch fp32 | frames |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for item in report.interleaved:
        if item.error:
            lines.append(f"| {item.case.preset} | failed: {item.error} |||||")
            continue
        base = item.median_ms("torch-fp32")
        for key in item.case.backends:
            ms = item.median_ms(key)
            lines.append(
                f"| {item.case.preset} | {item.labels[key]} | {_fmt(ms)} | {_fmt(1000 / ms, 2)} | "
                f"{_fmt(base / ms, 2)}x | {len(item.latencies_ms[key])} |"
            )
    return lines


def _golden_table(report: BenchReport) -> list[str]:
    if not report.golden:
        return []
    lines = [
        "",
        "## Agreement with the official outputs (golden tiny trained model, golden 40-frame video)",
        "",
        "| backend | frames | tokens equal | IoU≥0.99 | max box error px | update decisions equal |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for g in report.golden:
        lines.append(
            f"| {g.label} | {g.frames} | {_pct(g.tokens_equal)} | {_pct(g.iou_share)} | "
            f"{_fmt(g.max_box_error_px, 3)} | {_pct(g.updates_equal)} |"
            if not g.error
            else f"| {g.label} | {g.error} |||||"
        )
    return lines


def _fidelity_table(report: BenchReport) -> list[str]:
    if not report.fidelity:
        return []
    lines = [
        "",
        "## Agreement with torch fp32 on the trained weights (targets: >= 99.5 %, >= -1 point, >= 0.9)",
        "",
        "Open loop: the fp32 tracker's own crops replayed, share of frames whose 4 tokens are all within one bin "
        "(and all identical). Closed loop: each tracker on its own; AUC on the generated clips with the 95 % "
        "paired bootstrap interval of the difference to fp32; mean IoU of the track to the fp32 track.",
        "",
        "| backend | open-loop frames | tokens within 1 bin | tokens equal | AUC | AUC fp32 | difference [95 % CI] | "
        "IoU to fp32 real | IoU to fp32 generated |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in report.fidelity:
        if f.error:
            lines.append(f"| {f.label} | failed: {f.error} ||||||||")
            continue
        lines.append(
            f"| {f.label} | {f.frames_open_loop} | {100 * f.open_loop_share:.2f}% | {100 * f.open_loop_exact:.1f}% | "
            f"{_fmt(f.auc, 2)} | {_fmt(f.auc_fp32, 2)} | {_fmt(f.auc_difference, 2)} "
            f"[{_fmt(f.auc_low, 2)}, {_fmt(f.auc_high, 2)}] | {_fmt(f.iou_to_fp32_real, 3)} | "
            f"{_fmt(f.iou_to_fp32_generated, 3)} |"
        )
    return lines


# ---------------------------------------------------------------------------------------------- files
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


__all__ = ["BenchReport", "render_markdown", "write_report", "recorded_path", "repository_root", "RESULT_NAME"]
