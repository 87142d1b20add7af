"""Success and precision plots as in tracking papers (PNG and PDF, legend sorted by score).

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

    pytracking scoring: ``success_plot``, ``precision_plot`` and ``norm_precision_plot``; GOT-10k
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
    return paths
