"""LaSOT's 14 attributes and the throughput table in `seqtrack report`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seqtrack.cli import main
from seqtrack.errors import DatasetError
from seqtrack.evaluate.benchmarks import get_benchmark
from seqtrack.evaluate.benchmarks.lasot import ATTRIBUTES
from seqtrack.evaluate.fixtures import FixtureSpec, write_lasot
from seqtrack.evaluate.metrics import summarize
from seqtrack.evaluate.report import TrackerRun, build_report
from seqtrack.evaluate.runner import RunOptions, run_benchmark
from seqtrack.evaluate.throughput import BENCHMARK_SIZES, format_duration
from seqtrack.evaluate.trackers import TrackerSpec


@pytest.fixture(scope="module")
def lasot_att(tmp_path_factory):
    """A 3-sequence LaSOT-layout set with ``att/<seq>.txt`` files."""
    return write_lasot(tmp_path_factory.mktemp("lasot_att"), FixtureSpec(), attributes=True)


def _run(benchmark, kind, results):
    summary = run_benchmark(
        TrackerSpec(kind=kind),
        benchmark.sequences(),
        RunOptions(results_dir=results, layout=benchmark.info.layout, progress=False),
    )
    assert summary.ok, summary.failed


def test_lasot_reads_the_14_flags(lasot_att, tmp_path):
    seqs = get_benchmark("lasot", lasot_att).sequences()
    assert all(list(s.attributes) == list(ATTRIBUTES) for s in seqs)
    # every attribute is present in some sequence; the file's FOC / OV agree with the per-frame flags
    assert all(any(s.attributes[a] for s in seqs) for a in ATTRIBUTES)
    assert [s.attributes["full_occlusion"] for s in seqs] == [True, False, False]
    assert [s.attributes["out_of_view"] for s in seqs] == [False, True, False]
    # the toolkit's own folder (annos/att) is read too; a wrong flag count names the file
    root = write_lasot(tmp_path / "toolkit", FixtureSpec(n_sequences=1, n_frames=3), attributes=True)
    (root / "annos").mkdir()
    (root / "att").rename(root / "annos" / "att")
    flags = (root / "annos" / "att" / "airplane-1.txt").read_text().strip().split(",")
    assert get_benchmark("lasot", root).sequences()[0].attributes == dict(
        zip(ATTRIBUTES, (f == "1" for f in flags), strict=True)
    )
    (root / "annos" / "att" / "airplane-1.txt").write_text(",".join(flags[:13]) + "\n")
    with pytest.raises(DatasetError, match=r"airplane-1.txt: 13 flags, expected 14"):
        get_benchmark("lasot", root).sequences()


def test_report_attribute_table_plots_json(lasot_att, tmp_path, doubles, capsys):
    benchmark = get_benchmark("lasot", lasot_att)
    _run(benchmark, "eval_doubles:TemplateTracker", tmp_path / "runs" / "template" / "lasot")
    _run(benchmark, "eval_doubles:StillTracker", tmp_path / "runs" / "still" / "lasot")
    out_json, plots = tmp_path / "r.json", tmp_path / "plots"
    args = ["report", str(tmp_path / "runs"), "--benchmark", "lasot", "--root", str(lasot_att)]
    assert main([*args, "--json", str(out_json), "--plots", str(plots)]) == 0
    out = capsys.readouterr().out
    seqs = benchmark.sequences()
    counts = {a: sum(s.attributes[a] for s in seqs) for a in ATTRIBUTES}
    rows = [line for line in out.splitlines() if any(line.startswith(f"| {a} (") for a in ATTRIBUTES)]
    assert [row.split(" (")[0][2:] for row in rows] == list(ATTRIBUTES)  # all 14, in LaSOT's order
    for row, attr in zip(rows, ATTRIBUTES, strict=True):
        assert row.startswith(f"| {attr} ({counts[attr]}) |")
    data = json.loads(out_json.read_text())
    assert data["attribute_counts"] == counts
    report = build_report(benchmark, [TrackerRun("t", tmp_path / "runs" / "template" / "lasot")])
    curves = report.evaluations[0].curves
    for tracker in data["trackers"]:
        assert list(tracker["attributes"]) == sorted(ATTRIBUTES)
    template = next(t for t in data["trackers"] if t["name"] == "template")
    for attr in ATTRIBUTES:  # each attribute's AUC is the AUC over the sequences having it
        expected = summarize([curves[s.name] for s in seqs if s.attributes[attr]])
        assert template["attributes"][attr]["auc"] == pytest.approx(expected.auc)
        assert f"{expected.auc:.1f}" in next(r for r in rows if r.startswith(f"| {attr} ("))
    for suffix in (".png", ".pdf"):
        assert (plots / f"attribute_success_plots{suffix}").stat().st_size > 1000


def test_throughput_table_and_json(lasot_att, tmp_path, doubles, capsys):
    benchmark = get_benchmark("lasot", lasot_att)
    results = tmp_path / "mine" / "lasot"
    _run(benchmark, "eval_doubles:TemplateTracker", results)
    # known times: 0.02 s a frame -> 50 fps, so LaSOT's 690,000 frames take 13,800 s = 3 h 50 min
    for seq in benchmark.sequences():
        (results / f"{seq.name}_time.txt").write_text("0.02\n" * len(seq.frames))
    out_json = tmp_path / "t.json"
    assert (
        main(
            [
                "report",
                str(tmp_path / "mine"),
                "--benchmark",
                "lasot",
                "--root",
                str(lasot_att),
                "--json",
                str(out_json),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "| Tracker | FPS | LaSOT (scored) | LaSOT | LaSOT_ext |" in out
    assert "| mine | 50.0 | 1 s | 3 h 50 min |" in out
    data = json.loads(out_json.read_text())
    row = data["throughput"]["trackers"][0]
    assert row["name"] == "mine" and row["fps"] == pytest.approx(50.0)
    assert row["projected_seconds"]["lasot"] == pytest.approx(13_800.0)
    assert row["projected_seconds"]["scored"] == pytest.approx(36 / 50)
    assert row["projected_seconds"]["got10k_test"] is None  # frame count not recorded
    assert data["throughput"]["benchmark_frames"]["lasot"]["frames"] == BENCHMARK_SIZES["lasot"].frames
    assert data["trackers"][0]["timed_frames"] == 36
    assert data["trackers"][0]["timed_seconds"] == pytest.approx(0.72)


def test_format_duration():
    assert [format_duration(v) for v in (None, np.inf, 12.4, 245, 13_800, 200_000)] == [
        "–",
        "–",
        "12 s",
        "4 min 05 s",
        "3 h 50 min",
        "2.3 d",
    ]
