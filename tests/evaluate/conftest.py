"""Shared fixtures of the evaluation tests: one generated benchmark of every layout per session."""

from __future__ import annotations

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
