"""Success and precision plots as in tracking papers (PNG and PDF, legend sorted by score), and a grid of
per-attribute success plots (as LaSOT's toolkit draws one plot per attribute; Fig. 4 of the SeqTrack
paper sums them up as AUC per attribute).

Uses matplotlib's object API with the Agg canvas directly: no pyplot, no global backend switch, so
it works headless and does not disturb a caller's own matplotlib state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqtrack.errors import require_extra
from seqtrack.evaluate.metrics import (
    GOT10K_THRESHOLDS,
    NORM_PRECISION_THRESHOLDS,
    PRECISION_THRESHOLDS,
    success_thresholds,
)
from seqtrack.evaluate.report import Report
from seqtrack.io.files import OutputError, atomic_path, os_error_text

_STYLES = ("-", "--", "-.", ":")


def _save(figure, out_dir: Path, stem: str) -> list[Path]:
    FigureCanvasAgg = require_extra("matplotlib.backends.backend_agg", "plots", "plotting").FigureCanvasAgg

    FigureCanvasAgg(figure)
    paths = []
    for suffix in (".png", ".pdf"):
        path = out_dir / f"{stem}{suffix}"
        # Through a temporary file (whose name says nothing of the format: given explicitly), so that a
        # full disk leaves the previous plot whole and no partial file.
        with atomic_path(path, "plot") as temp:
            figure.savefig(temp, format=suffix[1:], dpi=200 if suffix == ".png" else None, bbox_inches="tight")
        paths.append(path)
    return paths


def _plot(
    curves: list[tuple[str, float, np.ndarray]],
    x: np.ndarray,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    score_name: str,
    legend_loc: str,
    out_dir: Path,
    stem: str,
) -> list[Path]:
    Figure = require_extra("matplotlib.figure", "plots", "plotting (--plots)").Figure

    figure = Figure(figsize=(5.0, 4.2))
    axes = figure.add_subplot(1, 1, 1)
    ranked = sorted(curves, key=lambda item: -item[1] if np.isfinite(item[1]) else np.inf)
    for rank, (name, score, y) in enumerate(ranked):
        axes.plot(
            x, np.asarray(y) * 100.0, _STYLES[(rank // 10) % len(_STYLES)], linewidth=2, label=f"[{score:.1f}] {name}"
        )
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xlim(float(x[0]), float(x[-1]))
    axes.set_ylim(0, 100)
    axes.grid(True, linestyle=":", linewidth=0.6)
    legend = axes.legend(loc=legend_loc, fontsize=8, title=score_name, title_fontsize=8)
    legend.set_frame_on(True)
    return _save(figure, out_dir, stem)


def write_plots(report: Report, out_dir: Path) -> list[Path]:
    """Draw the report's plots into ``out_dir`` (created); returns the written files. Each file is written
    atomically: a failure (full disk...) is one `OutputError`, and the plots written before stay whole.

    pytracking scoring: ``success_plot``, ``precision_plot`` and ``norm_precision_plot``, plus
    ``attribute_success_plots`` where the sequences have attributes (`write_attribute_plots`); GOT-10k
    scoring: ``success_plot`` (101 thresholds, AO in the legend). Each as ``.png`` and ``.pdf``.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"could not write plots to {out_dir}: {os_error_text(error)}") from None
    title = report.benchmark.title
    evaluations = report.evaluations
    if report.benchmark.scoring == "got10k":
        curves = [(e.run.name, e.summary.ao, e.summary.success_curve) for e in evaluations]
        return _plot(
            curves,
            GOT10K_THRESHOLDS,
            title=f"Success plot on {title}",
            xlabel="Overlap threshold",
            ylabel="Success rate (%)",
            score_name="AO",
            legend_loc="lower left",
            out_dir=out_dir,
            stem="success_plot",
        )
    paths = _plot(
        [(e.run.name, e.summary.auc, e.summary.success_curve) for e in evaluations],
        success_thresholds(report.pytracking_compat),
        title=f"Success plot on {title}",
        xlabel="Overlap threshold",
        ylabel="Success rate (%)",
        score_name="AUC",
        legend_loc="lower left",
        out_dir=out_dir,
        stem="success_plot",
    )
    paths += _plot(
        [(e.run.name, e.summary.precision, e.summary.precision_curve) for e in evaluations],
        PRECISION_THRESHOLDS,
        title=f"Precision plot on {title}",
        xlabel="Location error threshold (pixels)",
        ylabel="Precision (%)",
        score_name="P@20",
        legend_loc="lower right",
        out_dir=out_dir,
        stem="precision_plot",
    )
    paths += _plot(
        [(e.run.name, e.summary.norm_precision, e.summary.norm_precision_curve) for e in evaluations],
        NORM_PRECISION_THRESHOLDS,
        title=f"Normalized precision plot on {title}",
        xlabel="Normalized location error threshold",
        ylabel="Normalized precision (%)",
        score_name="P_norm@0.2",
        legend_loc="lower right",
        out_dir=out_dir,
        stem="norm_precision_plot",
    )
    return paths + write_attribute_plots(report, out_dir)


def _attribute_title(attribute: str) -> str:
    """``out_of_view`` -> ``Out-of-View``, ``aspect_ratio_change`` -> ``Aspect Ratio Change``."""
    return "Out-of-View" if attribute == "out_of_view" else attribute.replace("_", " ").title()


def write_attribute_plots(report: Report, out_dir: Path) -> list[Path]:
    """One success plot per attribute that some scored sequence has, in a grid (``attribute_success_plots``
    ``.png`` / ``.pdf`` in ``out_dir``, which must exist); each panel is titled with the attribute and its
    sequence count, and its legend ranks the trackers by AUC over those sequences. Nothing is written (an
    empty list) under GOT-10k scoring or without attributes."""
    if report.benchmark.scoring == "got10k":
        return []
    attributes = [a for a in report.attribute_counts if any(a in e.attributes for e in report.evaluations)]
    if not attributes:
        return []
    Figure = require_extra("matplotlib.figure", "plots", "plotting (--plots)").Figure

    columns = min(4, len(attributes))
    rows = -(-len(attributes) // columns)
    figure = Figure(figsize=(3.6 * columns, 3.0 * rows))
    x = success_thresholds(report.pytracking_compat)
    for index, attr in enumerate(attributes):
        axes = figure.add_subplot(rows, columns, index + 1)
        scored = [(i, e.run.name, e.attributes[attr]) for i, e in enumerate(report.evaluations) if attr in e.attributes]
        # Legend ranked by this attribute's AUC, but colour and style fixed by the tracker's position, so
        # that a tracker keeps its look from panel to panel.
        for i, name, summary in sorted(scored, key=lambda item: -np.nan_to_num(item[2].auc)):
            style = _STYLES[(i // 10) % len(_STYLES)]
            axes.plot(
                x,
                summary.success_curve * 100.0,
                style,
                color=f"C{i % 10}",
                linewidth=1.5,
                label=f"[{summary.auc:.1f}] {name}",
            )
        axes.set_title(f"{_attribute_title(attr)} ({report.attribute_counts[attr]})", fontsize=9)
        axes.set_xlim(float(x[0]), float(x[-1]))
        axes.set_ylim(0, 100)
        axes.tick_params(labelsize=7)
        axes.grid(True, linestyle=":", linewidth=0.6)
        axes.legend(loc="lower left", fontsize=6, title="AUC", title_fontsize=6)
    figure.suptitle(f"Success plots by attribute on {report.benchmark.title} (overlap threshold vs success %)")
    figure.tight_layout(rect=(0, 0, 1, 0.96))  # leave the top strip to the overall title
    return _save(figure, out_dir, "attribute_success_plots")
