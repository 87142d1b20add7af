"""Two-process DDP on CPU (gloo, under torchrun) = one process with the doubled batch."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from seqtrack.config import load_yaml
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.train.metrics import read_metrics


def test_two_ranks_match_one_process_with_double_batch(write_config, data_root, tmp_path, run_train):
    # Dropout off: each rank draws its own masks, which a single process cannot reproduce.
    overrides = {"model": {"decoder": {"dropout": 0.0}}, "train": {"samples_per_epoch": 20, "epochs": 1}}
    common = ["--data-root", str(data_root), "--log-every", "1", "--no-progress", "--threads", "1"]
    single, double = tmp_path / "single", tmp_path / "ddp"
    run_train(
        [
            str(write_config("single.yaml", {**overrides, "train": {**overrides["train"], "batch_size": 4}})),
            *common,
            "--out",
            str(single),
        ]
    )
    run_train(
        [
            str(write_config("ddp.yaml", {**overrides, "train": {**overrides["train"], "batch_size": 2}})),
            *common,
            "--out",
            str(double),
        ],
        nproc=2,
    )

    def steps(out):
        return [r for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "step"]

    start = [r for r in read_metrics(double / "metrics.jsonl") if r["kind"] == "start"][0]
    assert start["world_size"] == 2 and start["global_batch"] == 4
    a, b = steps(single), steps(double)
    assert [r["step"] for r in a] == [r["step"] for r in b] == [1, 2, 3, 4, 5]  # 20 // 4
    for x, y in zip(a, b):
        assert y["loss"] == pytest.approx(x["loss"], rel=1e-5)
        assert y["grad_norm"] == pytest.approx(x["grad_norm"], rel=1e-4)
    wa = load_file(single / "checkpoint_ep0001.safetensors")
    wb = load_file(double / "checkpoint_ep0001.safetensors")
    torch.manual_seed(0)  # the trainer's initialisation (train.seed = 0)
    initial = SeqTrack(load_yaml(single / "config.yaml").model).state_dict()
    moved = max((wa[k] - initial[k]).abs().max().item() for k in wa)
    worst = max((wa[k] - wb[k]).abs().max().item() for k in wa)
    print(f"weights moved by up to {moved:.2e}; DDP vs single process differ by up to {worst:.2e}")
    assert moved > 1e-3  # 5 AdamW steps at lr 5e-4 moved them...
    assert worst < 2e-5, f"weights differ by {worst}"  # ...and both runs moved them the same way
