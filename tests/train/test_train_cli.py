"""``seqtrack train`` in-process: a full short run, the run folder, and the refusals."""

from __future__ import annotations

import json

import pytest
import torch

from safetensors.torch import load_file

from seqtrack.cli import main
from seqtrack.model.weights import load_model
from seqtrack.train.metrics import read_metrics

pytestmark = pytest.mark.usefixtures("one_thread")


def _args(config, data_root, out, *extra):
    return ["train", str(config), "--data-root", str(data_root), "--out", str(out), "--no-progress",
            "--log-every", "1", *extra]


def test_train_run_folder_and_refusals(write_config, data_root, tmp_path, capsys):
    config = write_config(overrides={"train": {"samples_per_epoch": 8, "epochs": 2}})
    out = tmp_path / "run"
    assert main(_args(config, data_root, out)) == 0
    printed = capsys.readouterr().out
    assert "epoch 2/2: loss" in printed and "samples/s" in printed and "finished" in printed
    names = sorted(p.name for p in out.iterdir())
    assert names == ["checkpoint_ep0001.safetensors", "checkpoint_ep0002.safetensors", "config.yaml",
                     "finished.json", "metrics.jsonl", "resume.pt"]
    records = read_metrics(out / "metrics.jsonl")
    steps = [r for r in records if r["kind"] == "step"]
    assert [r["step"] for r in steps] == list(range(1, 9))  # 8 samples / batch 2 = 4 steps an epoch
    assert all(r["loss"] > 0 and r["samples_per_s"] > 0 and r["lr"] == 5e-4 for r in steps)
    assert [r["epoch"] for r in records if r["kind"] == "epoch"] == [1, 2]
    summary = json.loads((out / "finished.json").read_text())
    assert summary["steps"] == 8 and summary["checkpoint"].endswith("checkpoint_ep0002.safetensors")
    model = load_model(out / "checkpoint_ep0002.safetensors")  # our safetensors format, config inside
    assert model.config.encoder.depth == 1 and model.config.bins == 32

    # a finished run is never overwritten without --force
    before = load_file(out / "checkpoint_ep0002.safetensors")
    stamp = (out / "checkpoint_ep0002.safetensors").stat().st_mtime_ns
    assert main(_args(config, data_root, out)) == 2
    assert "finished run" in capsys.readouterr().err
    assert (out / "checkpoint_ep0002.safetensors").stat().st_mtime_ns == stamp
    # --force starts over (same seed: same weights)
    assert main(_args(config, data_root, out, "--force")) == 0
    assert (out / "checkpoint_ep0002.safetensors").stat().st_mtime_ns != stamp
    after = load_file(out / "checkpoint_ep0002.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_unfinished_run_needs_resume_or_force(write_config, data_root, tmp_path, capsys):
    config = write_config(overrides={"train": {"samples_per_epoch": 8, "epochs": 1}})
    out = tmp_path / "run"
    assert main(_args(config, data_root, out)) == 0
    (out / "finished.json").unlink()  # as if killed after its last resume point
    assert main(_args(config, data_root, out, "--no-resume")) == 2
    assert "unfinished run" in capsys.readouterr().err
    # another recipe cannot continue it
    other = write_config("other.yaml", {"train": {"samples_per_epoch": 8, "epochs": 1, "lr": 1e-3}})
    assert main(_args(other, data_root, out)) == 2
    assert "train.lr" in capsys.readouterr().err
    # more epochs may be asked for: the run continues from epoch 2
    assert main(_args(config, data_root, out, "--epochs", "2")) == 0
    assert "resuming" in capsys.readouterr().out
    kinds = [(r["kind"], r["step"]) for r in read_metrics(out / "metrics.jsonl") if r["kind"] != "step"]
    assert kinds == [("start", 0), ("epoch", 4), ("resume", 4), ("epoch", 8)]


def test_user_errors_are_one_line(write_config, data_root, tmp_path, capsys):
    config = write_config(overrides={"train": {"datasets": ["LASOT"]}})
    assert main(_args(config, tmp_path / "nowhere", tmp_path / "run")) == 2
    assert "missing LaSOT root" in capsys.readouterr().err
    config = write_config("bad.yaml", {"train": {"datasets": ["IMAGENET"]}})
    assert main(_args(config, data_root, tmp_path / "run2")) == 2
    assert "unknown training dataset 'IMAGENET'" in capsys.readouterr().err
    config = write_config("ok.yaml")
    assert main(_args(config, data_root, tmp_path / "run3", "--amp", "fp16", "--device", "cpu")) == 2
    assert "fp16 needs a CUDA device" in capsys.readouterr().err
    assert main(_args(tmp_path / "missing.yaml", data_root, tmp_path / "run4")) == 2
    assert "config file not found" in capsys.readouterr().err


def test_resume_may_move_an_lr_drop_that_has_not_happened(write_config, data_root, tmp_path, capsys):
    def recipe(name, epochs, drop, tracker=None):
        return write_config(name, {"train": {"samples_per_epoch": 4, "epochs": epochs, "lr_drop_epoch": drop},
                                   "tracker": tracker or {}})

    def epochs_of(out):
        return [(r["lr"], r["loss"]) for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "epoch"]

    out = tmp_path / "run"
    assert main(_args(recipe("a.yaml", 1, 2), data_root, out)) == 0
    (out / "finished.json").unlink()
    # Epoch 1 done, no drop yet under 2 or 3: moving it to 3 gives the run a fresh start with drop 3 gives.
    # (Tracker settings play no part in training: changing them does not block the resumption.)
    assert main(_args(recipe("b.yaml", 4, 3, {"size_smoothing": 0.5}), data_root, out)) == 0
    assert "lr drop moved" in capsys.readouterr().out
    fresh = tmp_path / "fresh"
    assert main(_args(recipe("c.yaml", 4, 3), data_root, fresh)) == 0
    assert epochs_of(out) == epochs_of(fresh)
    assert [lr for lr, _ in epochs_of(out)] == pytest.approx([5e-4, 5e-4, 5e-4, 5e-5])
    # After a drop has happened it cannot be moved.
    (out / "finished.json").unlink()
    assert main(_args(recipe("d.yaml", 5, 5), data_root, out)) == 2
    assert "train.lr_drop_epoch" in capsys.readouterr().err
