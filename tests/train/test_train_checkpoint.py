"""Resume-file round trip, RNG capture/restore, atomic writes and the metrics log cut-back."""

from __future__ import annotations

import json
import random

import numpy as np
import torch

from seqtrack.train.checkpoint import (
    Progress,
    ResumeState,
    RunFolder,
    atomic_torch_save,
    capture_rng,
    load_resume,
    restore_rng,
    save_resume,
)
from seqtrack.train.metrics import MetricsLog, read_metrics, truncate_after


def _draws():
    return random.random(), float(np.random.rand()), float(torch.rand(()))


def test_rng_round_trip():
    state = capture_rng()
    first = _draws()
    _draws()
    restore_rng(state)
    assert _draws() == first


def test_resume_file_round_trip(tmp_path):
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 2)
    state = ResumeState(
        progress=Progress(epoch=3, samples_in_epoch=8, global_step=17, epoch_loss_sum=1.25),
        config={"train": {"lr": 0.1}},
        model=model.state_dict(),
        optimizer=optimizer.state_dict(),
        scheduler=scheduler.state_dict(),
        rng=[capture_rng()],
        extra={"mae": ""},
    )
    path = tmp_path / "resume.pt"
    save_resume(state, path)
    assert [p.name for p in tmp_path.iterdir()] == ["resume.pt"]  # no temporary file left behind
    back = load_resume(path)  # weights_only=True: plain data and tensors only
    assert back.progress == state.progress
    assert torch.equal(back.model["weight"], model.state_dict()["weight"])
    assert back.optimizer["state"][0]["exp_avg"].shape == (2, 3)
    restore_rng(back.rng[0])


def test_atomic_save_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "x.pt"
    atomic_torch_save({"a": 1}, path)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    try:
        atomic_torch_save({"a": Unpicklable()}, path)
    except RuntimeError:
        pass
    assert torch.load(path) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.pt"]


def test_metrics_truncate_after(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = MetricsLog(path, tensorboard_dir=None)
    for step in range(1, 6):
        log.write({"kind": "step", "step": step, "loss": float(step)})
    log.close()
    with open(path, "a") as handle:
        handle.write('{"kind": "step", "st')  # a torn line from a killed process
    assert truncate_after(path, 3) == 3
    assert [r["step"] for r in read_metrics(path)] == [1, 2, 3]
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_run_folder(tmp_path):
    run = RunFolder(tmp_path)
    assert not run.has_run()
    run.checkpoint(7).write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("mine")
    assert run.has_run() and run.checkpoint(7).name == "checkpoint_ep0007.safetensors"
    run.mark_finished({"steps": 3})
    assert run.is_finished() and run.finished_summary() == {"steps": 3}
    run.clear()
    assert not run.has_run() and (tmp_path / "notes.txt").read_text() == "mine"  # only our files go
