"""``seqtrack train`` in-process: a full short run, the run folder, and the refusals."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from seqtrack.cli import build_parser, main
from seqtrack.cli.train import experiment_from_args
from seqtrack.config import load_yaml
from seqtrack.model.weights import load_model
from seqtrack.train.metrics import read_metrics

pytestmark = pytest.mark.usefixtures("one_thread")


def _args(config, data_root, out, *extra):
    return [
        "train",
        str(config),
        "--data-root",
        str(data_root),
        "--out",
        str(out),
        "--no-progress",
        "--log-every",
        "1",
        *extra,
    ]


def test_train_run_folder_and_refusals(write_config, data_root, tmp_path, capsys):
    config = write_config(overrides={"train": {"samples_per_epoch": 8, "epochs": 2}})
    out = tmp_path / "run"
    assert main(_args(config, data_root, out)) == 0
    printed = capsys.readouterr().out
    assert "epoch 2/2: loss" in printed and "samples/s" in printed and "finished" in printed
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "checkpoint_ep0001.safetensors",
        "checkpoint_ep0002.safetensors",
        "config.yaml",
        "finished.json",
        "metrics.jsonl",
        "resume.pt",
    ]
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
        return write_config(
            name, {"train": {"samples_per_epoch": 4, "epochs": epochs, "lr_drop_epoch": drop}, "tracker": tracker or {}}
        )

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


def test_scientific_lr_trains_and_set_reaches_the_run(write_config, data_root, tmp_path):
    config = write_config(overrides={"train": {"epochs": 3}})
    # YAML 1.1 reads 1e-4 (no dot) as a string: it used to crash the run after its folder was made.
    config.write_text(config.read_text().replace("lr: 0.0005", "lr: 1e-4"))
    assert "lr: 1e-4" in config.read_text()
    out = tmp_path / "run"
    sets = ["--set", "train.samples_per_epoch=4", "--set", "train.epochs=1"]
    assert main(_args(config, data_root, out, *sets)) == 0
    steps = [r for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "step"]
    assert len(steps) == 2 and all(r["lr"] == 1e-4 for r in steps)  # 4 samples / batch 2, one epoch
    saved = load_yaml(out / "config.yaml")
    assert (saved.train.lr, saved.train.samples_per_epoch, saved.train.epochs) == (1e-4, 4, 1)


def test_set_applies_after_the_file_and_the_flags(write_config, tmp_path):
    config = write_config()
    args = build_parser().parse_args(
        ["train", str(config), "--out", str(tmp_path / "run"), "--lr", "1e-3", "--set", "train.lr=2e-4"]
        + ["--set", "model.encoder.depth=2", "--set", "tracker.window_power=4"]
    )
    experiment = experiment_from_args(args)
    assert experiment.train.lr == 2e-4 and experiment.model.encoder.depth == 2
    assert experiment.tracker.window_power == 4.0


@pytest.mark.parametrize(
    ("overrides", "extra", "message"),
    [
        ({"train": {"lr": "abc"}}, [], "bad.yaml: train.lr: expected a number (float), got 'abc' (str)"),
        ({"train": {"batch_size": "two"}}, [], "bad.yaml: train.batch_size: expected an integer (int), got 'two'"),
        ({"train": {"lrr": 1e-4}}, [], "bad.yaml: train.lrr: unknown key (did you mean 'lr'?); valid keys of train:"),
        ({"train": {"amp": "fp32"}}, [], "bad.yaml: train.amp: expected one of 'off', 'fp16', 'bf16', got 'fp32'"),
        ({}, ["--set", "train.lr=abc"], "--set train.lr=abc: train.lr: expected a number (float), got 'abc' (str)"),
        ({}, ["--set", "model.encoder.dpeth=2"], "--set model.encoder.dpeth=2: model.encoder.dpeth: unknown key"),
        ({}, ["--set", "train.lr"], "--set train.lr: expected KEY=VALUE"),
        ({}, ["--set", "train.epochs=0"], "--set train.epochs=0: train.epochs: must be at least 1, got 0"),
        ({"train": {"epochs": -1}}, [], "bad.yaml: train.epochs: must be at least 1, got -1"),
        ({}, ["--epochs", "-1"], "--epochs -1: train.epochs: must be at least 1, got -1"),
        ({}, ["--lr", "nan"], "--lr nan: train.lr: must be a finite number, got nan"),
        ({}, ["--set", "train.lr=-1"], "--set train.lr=-1: train.lr: must be > 0, got -1.0"),
        ({}, ["--set", "train.lr_drop_gamma=0"], "--set train.lr_drop_gamma=0: train.lr_drop_gamma: must be in (0, 1]"),
        ({}, ["--set", "train.samples_per_epoch=abc"], "--set train.samples_per_epoch=abc: train.samples_per_epoch: "),
        ({}, ["--device", "foo"], "unknown device 'foo'; expected one of auto, cpu, cuda, cuda:N, mps; available: "),
        ({}, ["--device", "cuda:99"], "device 'cuda:99': "),
        ({}, ["--set", "train.samples_per_epoch=1"], "samples_per_epoch 1 is smaller than the global batch 2"),
        ({}, ["--amp", "fp16", "--device", "cpu"], "--amp fp16 needs a CUDA device"),
    ],
)
def test_bad_configs_fail_in_one_line_before_the_run_folder(
    write_config, data_root, tmp_path, capsys, overrides, extra, message
):
    config = write_config("bad.yaml", overrides)
    out = tmp_path / "run"
    assert main(_args(config, data_root, out, *extra)) == 2
    err = capsys.readouterr().err.replace(str(tmp_path) + "/", "")
    assert err.startswith(f"seqtrack: error: {message}") and err.count("\n") == 1, err
    assert not out.exists()
