"""``benchmarks/gpu_graphs.py``, the GPU check prepared for a session with a GPU, runs end to end on the CPU
(``--device cpu``: `RerunCapture` instead of CUDA graphs), so that it has not rotted when a GPU is lent: the
golden network graphed gives the official tokens, and graphed fp32 tracks exactly as eager fp32."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_smoke_run_on_the_cpu_writes_its_tables(tmp_path):
    command = [
        sys.executable,
        str(REPO / "benchmarks" / "gpu_graphs.py"),
        "--device", "cpu", "--presets", "t128", "--modes", "eager fp32", "graphs fp32", "graphs bf16",
        "--targets", "1", "2", "--frames", "3", "--warmup", "1", "--demo-frames", "3", "--max-seconds", "2",
        "--out", str(tmp_path),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "gpu_graphs.json").read_text())
    assert report["golden"]["tokens_equal_window"] and report["golden"]["tokens_equal_plain"]
    graphed = [r for r in report["single"] if r["mode"] == "graphs fp32"]
    assert graphed and graphed[0]["agreement"]["tokens_equal"] == 1.0
    assert {(r["mode"], r["targets"]) for r in report["batched"]} == {
        (m, t) for m in ("eager fp32", "graphs fp32") for t in (1, 2)
    }
    closed = {r["mode"]: r["agreement"] for r in report["demo"]["closed_loop"]}
    assert closed["graphs fp32"]["mean_iou"] == 1.0
    assert [r["mode"] for r in report["demo"]["open_loop"]] == ["graphs fp32", "graphs bf16"]
    assert report["onnxruntime_cuda"]["available"] is False  # the CPU build: says why instead
    assert "| t128 | graphs fp32 |" in (tmp_path / "gpu_graphs.md").read_text()
