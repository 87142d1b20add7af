"""The ``seqtrack`` entry point: every command module registers exactly the commands `COMMAND_MODULES`
says (so a command line imports only its own module), ``--version``, and a fast torch-free start."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from seqtrack import __version__
from seqtrack.cli import COMMAND_MODULES, main


@pytest.mark.parametrize("module", list(COMMAND_MODULES))
def test_each_module_registers_the_commands_listed(module):
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers(dest="command")
    importlib.import_module(module).register(subparsers)
    assert tuple(subparsers.choices) == COMMAND_MODULES[module]


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"seqtrack {__version__}"


def test_info_and_models_need_neither_torch_nor_numpy():
    code = (
        "import sys; from seqtrack.cli import main; main(['info', 'demo']); main(['models']); "
        "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "3,604,527 parameters" in out and "window_power=4.0" in out and "| b256 |" in out
    assert out.strip().splitlines()[-1] == "[]"
