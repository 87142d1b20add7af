"""`seqtrack report`: table, JSON equal to the metric functions, plots, foreign result files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seqtrack.cli import main
from seqtrack.errors import InputError
from seqtrack.evaluate.benchmarks import get_benchmark
from seqtrack.evaluate.metrics import got10k_sequence_ious, got10k_summary, sequence_curves, sequence_errors, summarize
from seqtrack.evaluate.report import TrackerRun, build_report, resolve_runs
from seqtrack.evaluate.results import read_numbers
from seqtrack.evaluate.runner import RunOptions, run_benchmark
from seqtrack.evaluate.trackers import TrackerSpec


def _eval(benchmark, kind, results):
    summary = run_benchmark(
        TrackerSpec(kind=kind),
        benchmark.sequences(),
        RunOptions(results_dir=results, layout=benchmark.info.layout, progress=False),
    )
    assert summary.ok, summary.failed


@pytest.fixture
def lasot_runs(bench_roots, tmp_path, doubles):
    benchmark = get_benchmark("lasot", bench_roots["lasot"])
    _eval(benchmark, "eval_doubles:TemplateTracker", tmp_path / "runs" / "template" / "lasot")
    _eval(benchmark, "eval_doubles:StillTracker", tmp_path / "runs" / "still" / "lasot")
    return benchmark, tmp_path / "runs"


def _expected(benchmark, results_dir, compat):
    curves = []
    for seq in benchmark.sequences():
        pred = read_numbers(results_dir / f"{seq.name}.txt", columns=4)
        errors = sequence_errors(
            pred, seq.boxes, seq.visible, dataset="lasot", strict_length=True, pytracking_compat=compat
        )
        curves.append(sequence_curves(errors, pytracking_compat=compat))
    return summarize(curves, pytracking_compat=compat)


def test_report_cli_table_json_plots(lasot_runs, tmp_path, capsys):
    benchmark, runs = lasot_runs
    out_json, plots = tmp_path / "out" / "lasot.json", tmp_path / "plots"
    status = main(
        [
            "report",
            str(runs),
            "--benchmark",
            "lasot",
            "--root",
            str(benchmark.root),
            "--json",
            str(out_json),
            "--plots",
            str(plots),
        ]
    )
    assert status == 0
    table = capsys.readouterr().out
    assert "| Tracker | AUC | P | P_norm | OP50 | OP75 | FPS |" in table
    assert "| still |" in table and "| template |" in table
    assert "full_occlusion (1)" in table  # attribute table
    assert "| Tracker | FPS | LaSOT (scored) | LaSOT |" in table  # throughput table
    data = json.loads(out_json.read_text())
    assert data["benchmark"] == "lasot" and data["sequences"] == benchmark.names()
    for tracker in data["trackers"]:
        expected = _expected(benchmark, runs / tracker["name"] / "lasot", compat=False)
        for key in ("auc", "precision", "norm_precision", "op50", "op75"):
            assert tracker["summary"][key] == pytest.approx(getattr(expected, key), abs=1e-12)
        np.testing.assert_allclose(tracker["summary"]["success_curve"], expected.success_curve)
        assert tracker["fps"] > 0
        speed = next(t for t in data["throughput"]["trackers"] if t["name"] == tracker["name"])
        assert speed["projected_seconds"]["lasot"] == pytest.approx(690_000 / tracker["fps"])
        assert f"{expected.auc:.1f}" in table
    for stem in ("success_plot", "precision_plot"):
        for suffix in (".png", ".pdf"):
            assert (plots / f"{stem}{suffix}").stat().st_size > 1000


def test_report_paired_differences(lasot_runs, tmp_path, capsys):
    benchmark, runs = lasot_runs
    out_json = tmp_path / "paired.json"
    assert (
        main(
            [
                "report",
                f"tmpl={runs / 'template'}",
                f"still={runs / 'still'}",
                "--benchmark",
                "lasot",
                "--root",
                str(benchmark.root),
                "--paired",
                "--json",
                str(out_json),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "| Tracker | AUC - tmpl's | 95% interval |" in out and "| still | " in out
    data = json.loads(out_json.read_text())
    paired = data["paired"]["differences"]["still"]
    per_seq = {t["name"]: [t["per_sequence"][s]["auc"] for s in data["sequences"]] for t in data["trackers"]}
    assert data["paired"]["reference"] == "tmpl" and paired["n_sequences"] == 3
    assert paired["difference"] == pytest.approx(np.mean(per_seq["still"]) - np.mean(per_seq["tmpl"]))
    assert paired["low"] <= paired["difference"] <= paired["high"]
    assert (
        main(["report", f"tmpl={runs / 'template'}", "--benchmark", "lasot", "--root", str(benchmark.root), "--paired"])
        == 2
    )
    assert "at least two result folders" in capsys.readouterr().err


def test_report_compat_mode_json(lasot_runs, tmp_path):
    benchmark, runs = lasot_runs
    out_json = tmp_path / "compat.json"
    assert (
        main(
            [
                "report",
                f"mine={runs / 'template'}",
                "--benchmark",
                "lasot",
                "--root",
                str(benchmark.root),
                "--json",
                str(out_json),
                "--pytracking-compat",
            ]
        )
        == 0
    )
    data = json.loads(out_json.read_text())
    assert data["pytracking_compat"] is True and data["trackers"][0]["name"] == "mine"
    expected = _expected(benchmark, runs / "template" / "lasot", compat=True)
    assert data["trackers"][0]["summary"]["op75"] is None
    assert data["trackers"][0]["summary"]["norm_precision"] == pytest.approx(expected.norm_precision)


def test_foreign_pytracking_results_comma_separated(bench_roots, tmp_path):
    """Results of another tracker: UAV names with pytracking's 'uav_' prefix, comma-separated integers."""
    benchmark = get_benchmark("uav", bench_roots["uav"])
    folder = tmp_path / "other_tracker"
    folder.mkdir()
    for seq in benchmark.sequences():
        boxes = np.nan_to_num(seq.boxes, nan=0.0).astype(int) + [1, 0, 0, 0]
        (folder / f"uav_{seq.name}.txt").write_text("".join(",".join(map(str, b)) + "\n" for b in boxes))
    report = build_report(benchmark, resolve_runs([str(folder)], "uav"))
    evaluation = report.evaluations[0]
    assert evaluation.run.name == "other_tracker"
    assert np.isnan(evaluation.fps)  # no time files
    assert evaluation.summary.auc > 80
    assert "scale_variation" in evaluation.attributes


def test_got10k_val_report(bench_roots, tmp_path, doubles, capsys):
    benchmark = get_benchmark("got10k_val", bench_roots["got10k_val"])
    _eval(benchmark, "eval_doubles:TemplateTracker", tmp_path / "tmpl")
    assert (
        main(
            [
                "report",
                str(tmp_path / "tmpl"),
                "--benchmark",
                "got10k_val",
                "--root",
                str(benchmark.root),
                "--plots",
                str(tmp_path / "plots"),
            ]
        )
        == 0
    )
    assert "| Tracker | AO | SR0.5 | SR0.75 | FPS |" in capsys.readouterr().out
    assert (tmp_path / "plots" / "success_plot.png").is_file()
    ious = []
    for seq in benchmark.sequences():
        pred = read_numbers(tmp_path / "tmpl" / seq.name / f"{seq.name}_001.txt", columns=4)
        ious.append(got10k_sequence_ious(pred, seq.boxes, seq.meta["cover"], seq.meta["image_wh"]))
    report = build_report(benchmark, [TrackerRun("t", tmp_path / "tmpl")])
    assert report.evaluations[0].summary.ao == pytest.approx(got10k_summary(ious).ao)


def test_server_scored_benchmarks_and_missing_results(bench_roots, lasot_runs, tmp_path, capsys):
    with pytest.raises(InputError, match="seqtrack pack trackingnet"):
        build_report(get_benchmark("trackingnet", bench_roots["trackingnet"]), [TrackerRun("x", tmp_path)])
    benchmark, runs = lasot_runs
    (runs / "still" / "lasot" / "bicycle-1.txt").unlink()
    status = main(["report", str(runs), "--benchmark", "lasot", "--root", str(benchmark.root)])
    assert status == 2
    assert "still has no results for 1 of 3 sequences" in capsys.readouterr().err
    report = build_report(benchmark, resolve_runs([str(runs)], "lasot"), allow_missing=True)
    assert report.sequences == ["airplane-1", "airplane-2"]
    with pytest.raises(InputError, match="no results folder at"):
        resolve_runs([str(tmp_path / "does_not_exist")], "lasot")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no result files for lasot"):
        resolve_runs([str(tmp_path / "empty")], "lasot")


def test_got10k_layout_scored_as_ope(bench_roots, tmp_path, doubles, capsys):
    # --scoring ope: AUC / P / P_norm on GOT-layout data, equal to the metric functions
    benchmark = get_benchmark("got10k_val", bench_roots["got10k_val"])
    _eval(benchmark, "eval_doubles:TemplateTracker", tmp_path / "tmpl")
    assert (
        main(
            [
                "report",
                str(tmp_path / "tmpl"),
                "--benchmark",
                "got10k_val",
                "--root",
                str(benchmark.root),
                "--scoring",
                "ope",
                "--plots",
                str(tmp_path / "plots"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "AUC" in out and "P_norm" in out and "AO" not in out
    assert (tmp_path / "plots" / "norm_precision_plot.png").is_file()
    curves = []
    for seq in benchmark.sequences():
        pred = read_numbers(tmp_path / "tmpl" / seq.name / f"{seq.name}_001.txt", columns=4)
        curves.append(sequence_curves(sequence_errors(pred, seq.boxes, seq.visible, dataset="got10k_val")))
    report = build_report(benchmark, [TrackerRun("t", tmp_path / "tmpl")], scoring="pytracking")
    assert report.evaluations[0].summary.auc == pytest.approx(summarize(curves).auc)
    with pytest.raises(InputError, match="unknown scoring"):
        build_report(benchmark, [TrackerRun("t", tmp_path / "tmpl")], scoring="vot")
