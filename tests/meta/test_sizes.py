"""Source files stay readable: none over 500 lines, no function over 80 lines (issue 16's rule).

A function may be longer only when it is listed in `LONG_FUNCTIONS` with the reason, so that every
exception is a decision someone wrote down.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 80
LONG_FUNCTIONS: dict[str, str] = {}  # "path::function" -> why it may be longer


def python_files() -> list[Path]:
    return sorted((REPO / "src" / "seqtrack").rglob("*.py")) + sorted((REPO / "benchmarks").glob("*.py"))


def test_no_source_file_over_500_lines():
    long = [
        f"{p.relative_to(REPO)}: {n} lines"
        for p in python_files()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES
    ]
    assert not long, "\n".join(long)


def test_no_function_over_80_lines():
    long = []
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                key = f"{path.relative_to(REPO)}::{node.name}"
                if length > MAX_FUNCTION_LINES and key not in LONG_FUNCTIONS:
                    long.append(f"{key} (line {node.lineno}): {length} lines")
    assert not long, "\n".join(long)
