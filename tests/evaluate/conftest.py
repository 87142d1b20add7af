"""Shared fixtures of the evaluation tests: one generated benchmark of every layout per session, and the
weights of a tiny randomly initialised SeqTrack."""

from __future__ import annotations

import dataclasses
import errno
import os
from pathlib import Path

import pytest

from seqtrack.evaluate.fixtures import write_all

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def bench_roots(tmp_path_factory) -> dict[str, Path]:
    """benchmark name -> ``--root`` of a 3-sequence x 12-frame generated dataset (read-only for tests)."""
    return write_all(tmp_path_factory.mktemp("benchmarks"))


@pytest.fixture
def doubles(monkeypatch) -> str:
    """Puts the test-double tracker module ``eval_doubles`` on sys.path; returns its folder."""
    monkeypatch.syspath_prepend(str(HERE))
    return str(HERE)


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """``tiny.safetensors``: a SeqTrack ``t128`` preset cut to one encoder block, seeded, untrained (its
    label is ``seqtrack-tiny``). Torch is imported here, not at collection, so torch-free tests stay so."""
    import torch

    from seqtrack import SeqTrack, model_preset, save_safetensors

    config = model_preset("t128")
    config = dataclasses.replace(config, encoder=dataclasses.replace(config.encoder, depth=1))
    torch.manual_seed(0)
    weights = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    save_safetensors(SeqTrack(config).eval(), weights)
    return weights


@pytest.fixture
def full_disk(monkeypatch):
    """``full_disk(match, after=0)``: from then on, flushing to disk (``os.fsync``, which every atomic write
    calls before its rename) a file whose path contains ``match`` fails with ENOSPC, after ``after`` such
    flushes succeeded: the disk fills up in the middle of a run. Linux only (the path comes from /proc)."""
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc/self/fd to tell which file is flushed")
    real_fsync = os.fsync

    def install(match: str, after: int = 0) -> None:
        left = after

        def fsync(fd: int) -> None:
            nonlocal left
            if match in os.readlink(f"/proc/self/fd/{fd}"):
                if left <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                left -= 1
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", fsync)

    return install
