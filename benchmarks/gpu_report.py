"""Markdown of a `benchmarks/gpu_speed.py` report (one section per part that ran); kept apart from the
measuring script so that a report can be re-rendered from its JSON without a GPU."""

from __future__ import annotations

PAPER_FPS = {"b256": 40, "b384": 15, "l256": 15, "l384": 5}  # paper Tab. 1, one RTX 2080 Ti


def markdown(report: dict) -> str:
    """The whole report as Markdown: one section per part that ran."""
    meta = report["meta"]
    lines = [
        f"# GPU speed: {meta['gpu']}",
        "",
        f"torch {meta['torch']} (CUDA {meta['cuda']}), {meta['date']}; frames 640x480, synthetic video "
        f"(`seqtrack.bench.video.SyntheticVideo`); median of the timed frames after {meta['warmup']} warm-up "
        "frames; a frame = crop, normalise, network, four greedy steps, box back on the host. "
        "Produced by `python benchmarks/gpu_speed.py`.",
        "",
    ]
    for key, render in (
        ("golden", _golden_md),
        ("tracking", _tracking_md),
        ("demo", _demo_md),
        ("demo_open_loop", _open_loop_md),
        ("targets", _targets_md),
        ("train", _train_md),
    ):
        if report.get(key):
            lines += render(report)
    return "\n".join(lines)


def _golden_md(report: dict) -> list[str]:
    g = report["golden"]
    return [
        "## Golden tiny network on the GPU (fp32, TF32 off)",
        "",
        "| check | tolerance (golden README) | measured |",
        "|---|---|---|",
        f"| encoder_out | 1e-4 | max abs diff {g['encoder_max_abs_diff']:.2g} |",
        f"| teacher-forced logits | 1e-4 | max abs diff {g['logits_max_abs_diff']:.2g} |",
        f"| generated tokens window / plain | exact | {g['tokens_equal_window']} / {g['tokens_equal_plain']} |",
        f"| confidences window / plain | 1e-5 | {g['confidence_max_abs_diff_window']:.2g} / "
        f"{g['confidence_max_abs_diff_plain']:.2g} |",
        f"| tracker tokens / updates ({g['tracker_frames']} frames) | exact | {g['tracker_tokens_equal']} / "
        f"{g['tracker_updates_equal']} equal |",
        f"| tracker boxes | 0.01 px | max {g['tracker_box_max_abs_diff_px']:.2g} px |",
        f"| tracker scores | 1e-4 rel | max {g['tracker_score_max_rel_diff']:.2g} rel |",
        "",
    ]


def _tracking_md(report: dict) -> list[str]:
    rows = []
    for r in report["tracking"]:
        agree = r.get("agreement") or {}
        rows.append(
            f"| {r['preset']} | {r['mode']} | {r['gflop']:.0f} | {r['median_ms']:.2f} | {r['p90_ms']:.2f} | "
            f"{r['fps']:.1f} | {PAPER_FPS.get(r['preset'], '')} | {r['peak_gpu_mib']:.0f} | "
            f"{_pct(agree.get('tokens_equal'))} | {_pct(agree.get('iou_ge_099'))} | {r['first_frame_s']:.2f} |"
        )
    return _section(
        "## Tracking, one target",
        "| network | precision | GFLOP/frame | median ms | p90 ms | fps | paper fps (2080 Ti) | peak GPU MiB "
        "| tokens = fp32 | IoU>=0.99 vs fp32 | first frame s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        rows,
    ) + [
        "The agreement columns here come from random weights, whose answers barely depend on the image: "
        "they catch gross errors only. The trained demo model below is the real test.",
        "",
    ]


def _demo_md(report: dict) -> list[str]:
    meta = report["meta"]
    when = f" (measured in a second run, {meta['demo_date']})" if meta.get("demo_date") else ""
    rows = [
        f"| {r['mode']} | {r['fps']:.1f} | {_pct(r['agreement']['iou_ge_099'])} | "
        f"{_pct(r['agreement']['tokens_equal'])} |"
        for r in report["demo"]
    ]
    return _section(
        f"## Trained demo model (t128), 300 frames: agreement{when}",
        "| precision | fps | IoU>=0.99 vs GPU fp32 | tokens = GPU fp32 |",
        "|---|---:|---:|---:|",
        rows,
    ) + [
        "Tracked (closed loop): a difference on one frame moves the next crop, so runs drift apart. "
        "Open loop below: the fp32 run's crops replayed through each precision (one forward each).",
        "",
    ]


def _open_loop_md(report: dict) -> list[str]:
    rows = [
        f"| {r['mode']} | {r['frames']} | {_pct(r['tokens_equal'])} | {r['max_abs_token_diff']:.0f} | "
        f"{r['mean_abs_token_diff']:.3f} |"
        for r in report["demo_open_loop"]
    ]
    header = "| precision | frames | all 4 tokens = fp32 | max abs token diff (bins) | mean abs token diff |"
    return [header, "|---|---:|---:|---:|---:|", *rows, ""]


def _targets_md(report: dict) -> list[str]:
    return _section(
        "## Cost per target (first network above, one batch per frame)",
        "| precision | targets | median ms/frame | ms per target | target-frames/s |",
        "|---|---:|---:|---:|---:|",
        [
            f"| {r['mode']} | {r['targets']} | {r['median_ms']:.2f} | {r['median_ms'] / r['targets']:.2f} | "
            f"{1000.0 * r['targets'] / r['median_ms']:.0f} |"
            for r in report["targets"]
        ],
    )


def _train_md(report: dict) -> list[str]:
    return _section(
        "## Training step (forward, loss, backward, clip, AdamW; random inputs)",
        "| network | batch | precision | median step s | samples/s | peak GPU MiB |",
        "|---|---:|---|---:|---:|---:|",
        [
            f"| {r['preset']} | {r['batch']} | {r['precision']} | {r['median_step_s']:.4f} | "
            f"{r['samples_per_s']:.1f} | {r['peak_gpu_mib']:.0f} |"
            for r in report["train"]
        ],
    )


def _section(title: str, header: str, rule: str, rows: list[str]) -> list[str]:
    """A Markdown section: title, blank line, table header and rule, the rows, a blank line."""
    return [title, "", header, rule, *rows, ""]


def _pct(value) -> str:
    return "" if value is None else f"{100.0 * value:.1f}%"
