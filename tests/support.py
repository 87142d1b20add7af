"""Helpers shared by the tests (importable because pytest puts tests/ on sys.path)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path(os.environ.get("SEQTRACK_GOLDEN", REPO / "tests" / "golden"))


def golden_file(name: str) -> Path:
    """Path of a golden file; a missing file FAILS the test (never skips)."""
    path = GOLDEN / name
    if not path.is_file():
        pytest.fail(f"golden file missing: {path} (set SEQTRACK_GOLDEN to the folder holding it)")
    return path
