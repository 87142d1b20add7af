"""The scripts of ``benchmarks/real_footage`` import each other by their own names (``from clips import ...``),
as ``python benchmarks/real_footage/fetch.py`` runs them. Here they are imported once, with their folder on
``sys.path`` only while they load: the tests of this folder then ``import clips, fetch ...`` (found in
``sys.modules``) and no other test of the session sees the folder's generic module names on its path."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[3] / "benchmarks" / "real_footage"

with pytest.MonkeyPatch.context() as patch:
    patch.syspath_prepend(str(SCRIPTS))
    for name in ("clips", "annotate", "fetch", "sheets"):
        loaded = importlib.import_module(name)
        # a module of that name imported earlier (another package's) would shadow the script
        if Path(loaded.__file__).resolve().parent != SCRIPTS:
            raise ImportError(f"{name} is {loaded.__file__}, not the script in {SCRIPTS}")
