"""The run folder when writing fails or was cut short (issue 18): an unwritable ``--out`` is refused before
any work, a full disk is one error line that keeps the previous files whole and leaves no temporary file,
and the temporary files of killed runs are removed when the next run starts."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from seqtrack.cli import main
from seqtrack.config import load_yaml
from seqtrack.io.files import OutputError
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.model.weights import load_model
from seqtrack.train.checkpoint import (
    Progress,
    ResumeState,
    atomic_save_weights,
    load_resume,
    remove_stale_temp_files,
    save_resume,
)
from seqtrack.train.metrics import MetricsLog, read_metrics, truncate_after
from seqtrack.train.options import TrainOptions
from seqtrack.train.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _state(step: int) -> ResumeState:
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)
    return ResumeState(
        progress=Progress(global_step=step),
        config={},
        model=model.state_dict(),
        optimizer=optimizer.state_dict(),
        scheduler=scheduler.state_dict(),
    )


def _one_error(capsys, *expected: str) -> None:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seqtrack: error: ") and "Traceback" not in err, err
    assert all(text in lines[0] for text in expected), err


def test_a_full_disk_keeps_the_previous_resume_file(tmp_path, full_disk):
    path = tmp_path / "resume.pt"
    save_resume(_state(3), path)
    full_disk("resume.pt")
    with pytest.raises(OutputError, match=f"^could not write resume file {path}: No space left on device$"):
        save_resume(_state(4), path)
    assert load_resume(path).progress.global_step == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["resume.pt"]


def test_weights_checkpoints_are_ours_and_atomic(write_config, tmp_path, full_disk):
    model = SeqTrack(load_yaml(write_config()).model)
    path = tmp_path / "checkpoint_ep0001.safetensors"
    atomic_save_weights(model, path)
    loaded = load_model(path)  # the model config travels in the metadata
    assert loaded.config == model.config
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())
    before = path.read_bytes()
    full_disk("checkpoint_ep0001")
    with torch.no_grad():
        model.bottleneck.weight.add_(1.0)
    with pytest.raises(OutputError, match="could not write weights checkpoint .*: No space left on device"):
        atomic_save_weights(model, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, "tiny.yaml"]


def test_a_full_disk_in_the_metrics_log_is_one_error(tmp_path):
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    log = MetricsLog(Path("/dev/full"), tensorboard_dir=None)  # appended to, never replaced
    with pytest.raises(OutputError, match="^could not write the metrics log /dev/full: No space left on device$"):
        log.write({"kind": "step", "step": 1})
    log.close()


def test_a_full_disk_while_cutting_the_log_back_keeps_it(tmp_path, full_disk):
    path = tmp_path / "metrics.jsonl"
    log = MetricsLog(path, tensorboard_dir=None)
    for step in range(1, 4):
        log.write({"kind": "step", "step": step})
    log.close()
    full_disk("metrics.jsonl")
    with pytest.raises(OutputError, match="could not write the metrics log"):
        truncate_after(path, 1)
    assert [r["step"] for r in read_metrics(path)] == [1, 2, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.jsonl"]


def test_stale_temporary_files_of_dead_writers_are_removed(tmp_path):
    dead = _dead_pid()
    stale = [
        tmp_path / f".resume.pt.tmp{dead}",  # the names of earlier versions
        tmp_path / f".resume.pt.{dead}.tmp",  # seqtrack.io.files.temporary_path
        tmp_path / f".checkpoint_ep0002.safetensors.{dead}.tmp",
    ]
    kept = [tmp_path / f".resume.pt.{os.getpid()}.tmp", tmp_path / ".hidden", tmp_path / "resume.pt"]
    for path in stale + kept:
        path.write_bytes(b"x")
    assert sorted(remove_stale_temp_files(tmp_path)) == sorted(stale)
    assert sorted(tmp_path.iterdir()) == sorted(kept)


def test_a_new_session_removes_the_leftovers_of_killed_ones(write_config, squares, tmp_path):
    config = load_yaml(write_config())
    config.train = dataclasses.replace(config.train, samples_per_epoch=4, batch_size=2, epochs=1)
    out = tmp_path / "run"
    out.mkdir()
    dead = _dead_pid()
    for name in (f".resume.pt.tmp{dead}", f".resume.pt.{dead}.tmp", f".checkpoint_ep0001.safetensors.{dead}.tmp"):
        (out / name).write_bytes(b"half a file")
    options = TrainOptions(out=out, progress=False, tensorboard=False, print_fn=lambda *_: None)
    train(config, options, dataset=squares(64, config.model.bins, 2, 4))
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def _args(config, data_root, out, *extra):
    flags = ["--data-root", str(data_root), "--out", str(out), "--no-progress", "--no-tensorboard"]
    return ["train", str(config), *flags, *extra]


def test_unwritable_out_is_refused_before_anything(write_config, data_root, tmp_path, capsys):
    config = write_config()
    taken = tmp_path / "taken"
    taken.write_text("mine")
    assert main(_args(config, data_root, taken)) == 2
    _one_error(capsys, f"--out {taken} is a file; expected a folder")
    assert taken.read_text() == "mine"
    assert main(_args(config, data_root, taken / "run")) == 2
    _one_error(capsys, f"{taken} is a file, not a folder")
    assert main(_args(config, data_root, tmp_path / ("r" * 300))) == 2
    _one_error(capsys, "longer than 255 bytes")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken", "tiny.yaml"]


def test_a_full_disk_during_training_is_one_line(write_config, data_root, tmp_path, capsys, full_disk):
    config = write_config(overrides={"train": {"samples_per_epoch": 4, "epochs": 2}})
    out = tmp_path / "run"
    full_disk("checkpoint_ep0002")  # epoch 1 is saved, then the disk is full
    assert main(_args(config, data_root, out)) == 2
    _one_error(capsys, "could not write weights checkpoint", "checkpoint_ep0002.safetensors: No space left on device")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["checkpoint_ep0001.safetensors", "config.yaml", "metrics.jsonl", "resume.pt"]
    assert load_resume(out / "resume.pt").progress.epoch == 2  # the resume point of epoch 1's end, whole
    load_model(out / "checkpoint_ep0001.safetensors")
    # Space again: the run resumes at epoch 2 and finishes.
    full_disk("nothing is called this")
    assert main(_args(config, data_root, out)) == 0
    assert (out / "finished.json").is_file() and not [p for p in out.iterdir() if p.name.startswith(".")]
