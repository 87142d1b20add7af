"""The pieces of the speed benchmark: video, FLOPs, agreement, workers and the recorded paths."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seqtrack.bench.agreement import fill_agreement, golden_agreement, golden_options
from seqtrack.bench.cases import BenchCase, BenchSettings, CaseResult, InterleavedCase, InterleavedResult
from seqtrack.bench.flops import frame_flops
from seqtrack.bench.report import BenchReport, recorded_path, render_markdown
from seqtrack.bench.video import SyntheticVideo
from seqtrack.bench.workers import run_interleaved_subprocess
from seqtrack.config import model_preset
from support import GOLDEN, REPO, bench_machine, golden_file


def test_synthetic_video_is_deterministic_and_boxes_stay_inside():
    a, b = SyntheticVideo(160, 120, num_objects=3, seed=4), SyntheticVideo(160, 120, num_objects=3, seed=4)
    frames = list(a.frames(3))
    assert [index for index, _ in frames] == [0, 1, 2]
    assert frames[2][1].shape == (120, 160, 3) and frames[2][1].dtype == np.uint8
    assert np.array_equal(frames[2][1], b.frame(2))
    boxes = a.boxes(2, 3)
    assert boxes.shape == (3, 4) and boxes.tolist()[1] == a.box(2, 1)
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 0] + boxes[:, 2] <= 160).all()
    assert (boxes[:, 1] >= 0).all() and (boxes[:, 1] + boxes[:, 3] <= 120).all()


def test_frame_flops_grow_with_the_network_and_the_targets():
    small, large = frame_flops(model_preset("t128")), frame_flops(model_preset("b256"))
    assert 0 < small < large
    assert frame_flops(model_preset("t128"), targets=3) == pytest.approx(3 * small)


def _result(tokens: list, boxes: list, **case) -> CaseResult:
    return CaseResult(case=BenchCase(preset="t128", **case), tokens=tokens, boxes=boxes)


def test_fill_agreement_compares_with_torch_fp32_of_the_same_video():
    reference = _result([[[1, 2, 3, 4]], [[1, 2, 3, 4]]], [[[0, 0, 10, 10]], [[0, 0, 10, 10]]])
    other = _result([[[1, 2, 3, 4]], [[1, 2, 3, 5]]], [[[0, 0, 10, 10]], [[5, 0, 10, 10]]], backend="onnxruntime")
    elsewhere = _result([[[9, 9, 9, 9]]], [[[0, 0, 1, 1]]], backend="onnxruntime", seed=1)  # no reference
    fill_agreement([other, reference, elsewhere])
    assert (reference.token_share, reference.iou_share) == (1.0, 1.0)
    assert (other.token_share, other.iou_share, other.agreement_frames) == (0.5, 0.5, 2)
    assert math.isnan(elsewhere.token_share) and elsewhere.agreement_frames == 0


def test_golden_agreement_of_torch_fp32_is_exact():
    golden_file("tiny_tracker.npz")  # fails (never skips) when the golden files are missing
    (row,) = golden_agreement(GOLDEN, [golden_options("torch-fp32")], threads=1)
    assert row.error is None, row.error
    assert row.frames == 39 and row.tokens_equal == 1.0 and row.updates_equal == 1.0 and row.iou_share == 1.0
    assert row.max_box_error_px < 0.01


def test_interleaved_worker_runs_in_a_fresh_process(tmp_path):
    case = InterleavedCase(
        preset="t128", backends=["torch-fp32", "torch-bf16"], warmup=1, frames=2, width=160, height=120
    )
    done = run_interleaved_subprocess(case, tmp_path, timeout_s=300)
    assert done.error is None, done.error
    assert done.labels == {"torch-fp32": "torch fp32", "torch-bf16": "torch bf16"}
    assert [len(done.latencies_ms[k]) for k in case.backends] == [2, 2]
    assert done.median_ms("torch-fp32") > 0


def test_recorded_paths_are_repository_relative_or_bare_names(tmp_path, monkeypatch):
    assert recorded_path(REPO / "tests" / "golden") == "tests/golden"
    assert recorded_path(tmp_path / "b256.fp32.onnx") == "b256.fp32.onnx"
    monkeypatch.chdir(REPO)
    assert recorded_path("benchmarks/results") == "benchmarks/results"


def test_report_json_and_table_hold_no_absolute_paths(tmp_path):
    weights = str(REPO / "src" / "seqtrack" / "assets" / "seqtrack_demo.safetensors")
    settings = BenchSettings.quick_settings(
        weights=weights, golden_dir=str(REPO / "tests" / "golden"), out_dir=str(tmp_path / "out")
    )
    row = _result([], [], weights=weights, backend="onnxruntime", onnx_path=str(tmp_path / "demo.fp32.onnx"))
    interleaved = InterleavedResult(
        InterleavedCase("demo", ["onnxruntime-fp32"], onnx_paths={"onnxruntime-fp32": str(tmp_path / "demo.onnx")}),
        error="not run",
    )
    machine = bench_machine()
    report = BenchReport(settings, machine, [row], [], [], [], [interleaved], {}, [], 1.0)
    data = report.to_json()
    assert data["settings"]["weights"] == "src/seqtrack/assets/seqtrack_demo.safetensors"
    assert data["settings"]["golden_dir"] == "tests/golden" and data["settings"]["out_dir"] == "out"
    assert data["results"][0]["case"]["weights"] == "src/seqtrack/assets/seqtrack_demo.safetensors"
    assert data["results"][0]["case"]["onnx_path"] == "demo.fp32.onnx"
    assert data["interleaved"][0]["case"]["onnx_paths"] == {"onnxruntime-fp32": "demo.onnx"}
    assert row.case.onnx_path == str(tmp_path / "demo.fp32.onnx")  # the run itself keeps the real path
    table = render_markdown(report)
    assert "weights: src/seqtrack/assets/seqtrack_demo.safetensors" in table and str(REPO) not in table
