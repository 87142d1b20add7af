"""Our GOT-10k AO / SR equal the official ``got10k`` toolkit's on the same files.

The toolkit (``pip install got10k``, test-only) runs offline on a local GOT-10k layout: we generate a
val-style dataset (with absent frames and a resolution in meta_info.ini), write results with our
runner for two trackers (one drifting out of the image, so that clipping matters), and compare.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from seqtrack.evaluate.benchmarks import get_benchmark
from seqtrack.evaluate.fixtures import FixtureSpec, write_benchmark
from seqtrack.evaluate.report import TrackerRun, build_report
from seqtrack.evaluate.runner import RunOptions, run_benchmark
from seqtrack.evaluate.trackers import TrackerSpec

os.environ.setdefault("MPLBACKEND", "Agg")  # the toolkit draws with pyplot
import got10k.experiments as got10k_experiments  # a test dependency (pyproject [test]): never skipped


def test_ao_and_sr_equal_the_got10k_toolkit(tmp_path, doubles):
    root = write_benchmark("got10k_val", tmp_path / "got10k", FixtureSpec(n_sequences=4, n_frames=15))
    benchmark = get_benchmark("got10k_val", root)
    results = tmp_path / "results" / "GOT-10k"  # the toolkit reads <result_dir>/GOT-10k/<tracker>/<seq>/
    runs = []
    for kind, name in (("eval_doubles:TemplateTracker", "template"), ("eval_doubles:DriftTracker", "drift")):
        summary = run_benchmark(
            TrackerSpec(kind=kind),
            benchmark.sequences(),
            RunOptions(results_dir=results / name, layout=benchmark.info.layout, progress=False),
        )
        assert summary.ok, summary.failed
        runs.append(TrackerRun(name, results / name))
    ours = build_report(benchmark, runs)

    experiment = got10k_experiments.ExperimentGOT10k(
        str(root), subset="val", result_dir=str(tmp_path / "results"), report_dir=str(tmp_path / "reports")
    )
    official = experiment.report(["template", "drift"])
    for evaluation in ours.evaluations:
        theirs = official[evaluation.run.name]["overall"]
        assert evaluation.summary.ao / 100 == pytest.approx(theirs["ao"], abs=1e-12)
        assert evaluation.summary.sr50 / 100 == pytest.approx(theirs["sr"], abs=1e-12)
        # SR0.75 is not printed by the toolkit; it is its success curve at threshold 0.75 (index 75)
        assert evaluation.summary.sr75 / 100 == pytest.approx(theirs["succ_curve"][75], abs=1e-12)
        np.testing.assert_allclose(evaluation.summary.success_curve, theirs["succ_curve"], atol=1e-12)
        for seq, values in evaluation.per_sequence.items():
            assert values["ao"] / 100 == pytest.approx(official[evaluation.run.name]["seq_wise"][seq]["ao"], abs=1e-12)
    # the two trackers differ, and the drifting one really leaves the image (clipping exercised)
    assert abs(ours.evaluations[0].summary.ao - ours.evaluations[1].summary.ao) > 1
