"""Item 2 of issue 22: open-/closed-loop agreement with fp32 (`seqtrack.bench.fidelity`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqtrack.bench.fidelity import Clip, FidelityRow, measure_fidelity, open_loop_share
from support import bench_machine, golden_file


def test_open_loop_share_counts_frames_with_all_four_tokens_close():
    ref = np.array([[10, 10, 10, 10], [20, 20, 20, 20], [30, 30, 30, 30]])
    other = np.array([[11, 9, 10, 10], [20, 20, 22, 20], [30, 30, 30, 30]])
    assert open_loop_share(ref, other) == pytest.approx(2 / 3)
    assert open_loop_share(ref, other, tolerance=0) == pytest.approx(1 / 3)
    assert open_loop_share(ref, other, tolerance=2) == 1.0
    with pytest.raises(ValueError, match="must match"):
        open_loop_share(ref, other[:2])


class _Shifted:
    """The reference network with every token moved by ``shift`` bins (a wrong fast path)."""

    def __init__(self, model, shift: int) -> None:
        self.model, self.shift = model, shift
        self.config, self.device, self.dtype = model.config, model.device, model.dtype

    def generate(self, templates, search, window=True, history=None):
        tokens, probs = self.model.generate(templates, search, window=window)
        return (tokens + self.shift).clamp(0, self.config.bins - 1), probs


@pytest.fixture(scope="module")
def golden_setup(golden_model):
    from seqtrack.config import TrackerConfig

    data = dict(np.load(golden_file("tiny_tracker.npz")))
    config = TrackerConfig(
        template_factor=float(data["template_factor"]),
        search_factor=float(data["search_factor"]),
        window=bool(data["window"]),
        update_interval=int(data["update_interval"]),
        update_threshold=float(data["update_threshold"]),
    )
    frames = data["frames"][:15]
    clip = Clip("golden", lambda: iter(frames), data["init_box"], data["boxes"][:15])
    real = Clip("golden-real", lambda: iter(frames), data["init_box"])
    return config, clip, real


def test_measure_fidelity_same_and_shifted(golden_model, golden_setup):
    config, clip, real = golden_setup
    torch.set_num_threads(1)
    rows = measure_fidelity(
        golden_model, {"same": golden_model, "shifted": _Shifted(golden_model, 300)}, config, [clip, clip], [real]
    )
    same, shifted = rows
    assert same.error is None and shifted.error is None
    assert same.frames_open_loop == 14 * 3  # 3 clips, 14 tracked frames each
    assert same.open_loop_share == same.open_loop_exact == 1.0
    assert same.auc_difference == 0.0 and same.auc == same.auc_fp32 > 0
    assert same.iou_to_fp32_real == pytest.approx(1.0) and same.iou_to_fp32_generated == pytest.approx(1.0)
    assert shifted.open_loop_share == 0.0
    assert shifted.iou_to_fp32_real < 0.99
    assert shifted.auc_low <= shifted.auc_difference <= shifted.auc_high


def test_a_failing_candidate_is_a_row(golden_model, golden_setup):
    from seqtrack.bench.fidelity import _Failed

    config, clip, _ = golden_setup
    (row,) = measure_fidelity(golden_model, {"broken": _Failed("no engine")}, config, [clip], [])
    assert row.error and "no engine" in row.error


def test_report_renders_the_fidelity_table():
    from seqtrack.bench.cases import BenchSettings
    from seqtrack.bench.report import BenchReport, render_markdown

    row = FidelityRow("fast", 100, 0.996, 0.8, 61.0, 61.5, -0.5, -1.2, 0.1, 0.93, 0.95)
    report = BenchReport(BenchSettings(), bench_machine(), [], [], [], [], [], {}, [], 1.0, [row])
    text = render_markdown(report)
    assert "| fast | 100 | 99.60% | 80.0% | 61.00 | 61.50 | -0.50 [-1.20, 0.10] | 0.930 | 0.950 |" in text
    assert report.to_json()["fidelity"][0]["open_loop_share"] == 0.996


def test_bench_fidelity_flags(tmp_path):
    import argparse

    from seqtrack.bench.arguments import add_bench_arguments, settings_from_args
    from seqtrack.errors import InputError

    parser = argparse.ArgumentParser()
    add_bench_arguments(parser)
    with pytest.raises(InputError, match="no list.txt"):
        settings_from_args(parser.parse_args(["--fidelity", str(tmp_path), "--weights", "demo"]))
    (tmp_path / "list.txt").write_text("clip\n")
    with pytest.raises(InputError, match="needs --weights"):
        settings_from_args(parser.parse_args(["--fidelity", str(tmp_path)]))
    args = parser.parse_args(
        ["--fidelity", str(tmp_path), "--weights", "demo", "--fidelity-clips", "3", "--no-real-clip"]
    )
    settings = settings_from_args(args)
    assert settings.fidelity_root == str(tmp_path) and settings.fidelity_clips == 3 and not settings.fidelity_real
    assert settings.weights.endswith("seqtrack_demo.safetensors")  # a registered name resolves to its file
