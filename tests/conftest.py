"""Shared fixtures: the golden files made by the official code, and the tiny golden network."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import torch

from support import golden_file


@pytest.fixture(scope="session")
def golden_model_data() -> dict:
    return torch.load(golden_file("tiny_model.pt"), weights_only=True)


@pytest.fixture(scope="session")
def tiny_config():
    from seqtrack.bench.agreement import golden_tiny_config

    return golden_tiny_config()  # the one definition of the golden network's sizes


@pytest.fixture(scope="session")
def golden_model(tiny_config):
    from seqtrack.model.weights import load_model

    return load_model(golden_file("tiny_official_checkpoint.pth.tar"), config=tiny_config)


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


@pytest.fixture(autouse=True)
def graph_cache_dir(tmp_path_factory, monkeypatch):
    """Graphs exported by any test (``--fast``, ONNX Runtime backends) go to a folder of the test session,
    never to the user's cache."""
    folder = tmp_path_factory.getbasetemp() / "graph-cache"
    monkeypatch.setenv("SEQTRACK_CACHE_DIR", str(folder))
    return folder
