"""The package's layers only point down: a module may import its own package and the layers below it.

Every ``import`` in ``src/seqtrack`` is read with `ast` (also imports inside functions, which are how
optional parts load lazily), so a lower layer reaching up fails here even if it is never executed.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "seqtrack"

# Lower number = lower layer. Packages of one rank are peers and may not import each other.
RANKS = {
    "errors": 0,
    "version": 0,
    "config": 1,
    "geometry": 2,
    "io": 2,
    "model": 3,
    "runtime": 4,
    "tracking": 5,
    "data": 6,
    "train": 7,
    "evaluate": 7,
    "export": 7,
    "bench": 8,
    "integrations": 8,
    "cli": 9,
    "app": 9,
}
# Where one peer may build on another (stated, not silently allowed).
ALLOWED_PEERS = {("bench", "export"), ("cli", "app")}


def top_package(module: str) -> str | None:
    """``seqtrack.geometry.crop`` -> ``geometry``; None for modules outside the package."""
    parts = module.split(".")
    if parts[0] != "seqtrack" or len(parts) < 2:
        return None
    return parts[1]


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """``(line, module)`` for every absolute or relative import in a file of the package at ``root``."""
    module = "seqtrack." + ".".join(path.relative_to(root).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # ``from seqtrack import model`` names a package, not an attribute
            if target == "seqtrack":
                found += [
                    (node.lineno, f"seqtrack.{alias.name}")
                    for alias in node.names
                    if (root / alias.name).is_dir() or (root / f"{alias.name}.py").is_file()
                ]
    return found


def layer_violations(root: Path = SRC) -> list[str]:
    """One line per import that points to a higher layer or a peer, naming the file and line."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        own = rel.parts[0].removesuffix(".py")
        if own in ("__init__", "__main__"):
            continue  # the root re-exports lazily; __main__ is the command line
        if own not in RANKS:
            problems.append(f"{rel}: package {own!r} has no layer in RANKS")
            continue
        for line, module in imported_modules(path, root):
            target = top_package(module)
            if target is None or target == own:
                continue
            if target not in RANKS:
                problems.append(f"{rel}:{line} imports {module}, which has no layer")
            elif RANKS[target] > RANKS[own] or (RANKS[target] == RANKS[own] and (own, target) not in ALLOWED_PEERS):
                problems.append(f"{rel}:{line} ({own}, layer {RANKS[own]}) imports {module} (layer {RANKS[target]})")
    return problems


def test_layers_only_point_down():
    problems = layer_violations()
    assert not problems, "imports that point up or sideways:\n" + "\n".join(problems)


def test_core_layers_do_not_import_applications():
    core = {"geometry", "io", "model", "runtime", "tracking"}
    applications = {"export", "bench", "evaluate", "train", "cli", "app"}
    bad = [
        p
        for p in layer_violations()
        if any(f"seqtrack.{a}" in p for a in applications) and p.split("/")[0].split(":")[0].removesuffix(".py") in core
    ]
    assert not bad, "\n".join(bad)


def test_the_checker_sees_an_upward_import(tmp_path):
    """The checker must catch a lower layer importing a higher one, lazily or relatively (else the tests
    above prove nothing)."""
    fake = tmp_path / "seqtrack"
    (fake / "geometry").mkdir(parents=True)
    (fake / "geometry" / "bad.py").write_text("def f():\n    from seqtrack.tracking.tracker import Tracker\n")
    (fake / "tracking").mkdir()
    (fake / "tracking" / "ok.py").write_text("from ..geometry import bad\n")
    (fake / "tracking" / "worse.py").write_text("from ..cli import main\n")
    assert layer_violations(fake) == [
        "geometry/bad.py:2 (geometry, layer 2) imports seqtrack.tracking.tracker (layer 5)",
        "tracking/worse.py:1 (tracking, layer 5) imports seqtrack.cli (layer 9)",
    ]
