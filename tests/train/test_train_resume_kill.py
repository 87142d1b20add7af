"""Exact resume: SIGKILL ``seqtrack train`` mid-epoch after a resume point, start it again, and get
the loss curve (and weights) of a run that was never interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from seqtrack.train.checkpoint import load_resume
from seqtrack.train.metrics import read_metrics

REPO = Path(__file__).resolve().parents[2]


def _losses(out):
    records = read_metrics(out / "metrics.jsonl")
    return (
        [(r["step"], r["epoch"], r["batch"], r["loss"], r["grad_norm"]) for r in records if r["kind"] == "step"],
        [(r["epoch"], r["loss"]) for r in records if r["kind"] == "epoch"],
    )


def _wait_for_step(out, step, process, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"training ended before step {step}: {process.communicate()}")
        records = read_metrics(out / "metrics.jsonl")
        if any(r.get("kind") == "step" and r["step"] >= step for r in records):
            return
        time.sleep(0.005)
    pytest.fail(f"no step {step} within {timeout} s")


def test_sigkill_then_resume_gives_the_same_losses(write_config, data_root, tmp_path, train_cmd, run_env, run_train):
    # 40 samples / batch 2 = 20 steps an epoch, 2 epochs; decoder dropout stays on (0.1) on purpose.
    config = write_config(overrides={"train": {"samples_per_epoch": 40, "epochs": 2}})
    common = [
        str(config),
        "--data-root",
        str(data_root),
        "--log-every",
        "1",
        "--checkpoint-every-steps",
        "3",
        "--no-progress",
    ]
    reference = tmp_path / "reference"
    run_train([*common, "--out", str(reference)])

    killed = tmp_path / "killed"
    # The interrupted run loads data in a worker process; the reference and the restart do not.
    process = subprocess.Popen(
        train_cmd([*common, "--out", str(killed), "--workers", "1"]),
        env=run_env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_step(killed, 8, process)  # resume points were written after steps 3 and 6
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    point = load_resume(killed / "resume.pt").progress
    assert point.epoch == 1 and 0 < point.samples_in_epoch < 40 and point.global_step % 3 == 0
    logged = max(r["step"] for r in read_metrics(killed / "metrics.jsonl") if r.get("kind") == "step")
    assert logged >= point.global_step

    done = run_train([*common, "--out", str(killed)])
    assert "resuming" in done.stdout
    resumed = [r for r in read_metrics(killed / "metrics.jsonl") if r["kind"] == "resume"]
    assert [r["step"] for r in resumed] == [point.global_step]

    ref_steps, ref_epochs = _losses(reference)
    got_steps, got_epochs = _losses(killed)
    assert len(ref_steps) == 40
    assert [s[:3] for s in got_steps] == [s[:3] for s in ref_steps]  # no step lost, none repeated
    for ref, got in zip(ref_steps, got_steps):
        assert got[3] == pytest.approx(ref[3], rel=0, abs=1e-6), f"loss differs at step {ref[0]}"
        assert got[4] == pytest.approx(ref[4], rel=1e-6, abs=1e-9), f"grad norm differs at step {ref[0]}"
    assert [e for e, _ in got_epochs] == [e for e, _ in ref_epochs] == [1, 2]
    assert [loss for _, loss in got_epochs] == pytest.approx([loss for _, loss in ref_epochs], rel=0, abs=1e-6)
    a = load_file(reference / "checkpoint_ep0002.safetensors")
    b = load_file(killed / "checkpoint_ep0002.safetensors")
    assert a.keys() == b.keys()
    assert max((a[k] - b[k]).abs().max().item() for k in a) <= 1e-6
    assert all(torch.equal(a[k], b[k]) for k in a)  # in fact bit-identical on CPU
