"""The wheel holds what an installed seqtrack needs, and only that (issue 17).

Builds the wheel the way `make wheel-check` does (from a clean copy of pyproject.toml, README.md and src/,
``pip wheel --no-deps --no-build-isolation``: setuptools comes with the ``test`` extra) and reads it as a
zip: package data, the console script, no tests or caches, and dependency metadata with lower bounds only.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "seqtrack"
EXTRAS = {"export", "plots", "synthetic", "video", "demo", "train", "app", "baselines", "all", "test"}
EXTRA_MARKER = re.compile(r"""^(?P<requirement>[^;]+?)\s*;\s*extra\s*==\s*["'](?P<extra>[\w-]+)["']\s*$""")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    pytest.importorskip("setuptools", reason="building the wheel needs setuptools (the test extra)")
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    done = subprocess.run([*command, "-w", str(tmp / "dist"), str(source)], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    (path,) = (tmp / "dist").glob("seqtrack-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    (path,) = [n for n in wheel.namelist() if re.fullmatch(rf"seqtrack-[^/]+\.dist-info/{name}", n)]
    return wheel.read(path).decode("utf-8")


def metadata(wheel: zipfile.ZipFile):
    return Parser().parsestr(dist_info(wheel, "METADATA"))


def test_package_data_is_inside(wheel):
    names = set(wheel.namelist())
    assert "seqtrack/assets/seqtrack_demo.safetensors" in names
    configs = sorted(p.name for p in (PACKAGE / "configs").glob("*.yaml"))
    assert configs and "demo.yaml" in configs
    assert {f"seqtrack/configs/{name}" for name in configs} <= names
    splits = sorted(p.name for p in (PACKAGE / "data" / "splits").glob("*.txt"))
    assert splits and {f"seqtrack/data/splits/{name}" for name in splits} <= names
    # Every module of the source tree, and no module that is not in it.
    modules = {f"seqtrack/{p.relative_to(PACKAGE).as_posix()}" for p in PACKAGE.rglob("*.py")}
    assert modules == {n for n in names if n.endswith(".py")}


def test_demo_weights_are_the_shipped_file(wheel):
    shipped = (PACKAGE / "assets" / "seqtrack_demo.safetensors").stat().st_size
    assert wheel.getinfo("seqtrack/assets/seqtrack_demo.safetensors").file_size == shipped


def test_nothing_but_the_package(wheel):
    stray = [
        n
        for n in wheel.namelist()
        if not (n.startswith("seqtrack/") or re.match(r"seqtrack-[^/]+\.dist-info/", n))
        or re.search(
            r"(^|/)(tests?|golden|fixtures|__pycache__|\.pytest_cache|\.ruff_cache)/|\.pyc$|/test_[^/]*\.py$", n
        )
        or n.endswith((".pt", ".pth", ".tar", ".npz", ".onnx"))
    ]
    assert not stray, stray


def test_console_script(wheel):
    entry_points = dist_info(wheel, "entry_points.txt")
    section = entry_points.split("[console_scripts]", 1)[1].split("\n[", 1)[0]
    assert re.search(r"^seqtrack\s*=\s*seqtrack\.cli:main\s*$", section, re.MULTILINE), entry_points


def test_version_is_the_package_version(wheel):
    version = re.search(r'^__version__ = "([^"]+)"', (PACKAGE / "__init__.py").read_text(), re.MULTILINE)
    assert version and metadata(wheel)["Version"] == version.group(1)


def requirements(wheel) -> tuple[list[str], dict[str, list[str]]]:
    """``(runtime requirements, {extra: requirements})`` from the wheel's ``Requires-Dist`` lines."""
    runtime, extras = [], {}
    for line in metadata(wheel).get_all("Requires-Dist") or []:
        match = EXTRA_MARKER.match(line)
        if match:
            extras.setdefault(match["extra"], []).append(match["requirement"])
        else:
            assert ";" not in line, f"unexpected marker: {line}"
            runtime.append(line.strip())
    return runtime, extras


def test_dependencies_have_lower_bounds_only(wheel):
    runtime, extras = requirements(wheel)
    names = {re.match(r"[A-Za-z0-9._-]+", r).group(0).lower() for r in runtime}
    assert names == {"torch", "numpy", "opencv-contrib-python-headless", "pyyaml", "tqdm", "safetensors"}
    assert "torch>=2.11" in runtime
    every = runtime + [r for group in extras.values() for r in group]
    pinned = [r for r in every if re.search(r"==|<|~=|===", r)]
    assert not pinned, f"exact pins and upper bounds belong in constraints.txt: {pinned}"
    # One OpenCV distribution owns cv2: nothing may pull a second one in next to the contrib build.
    opencv = [r for r in every if r.lower().startswith("opencv")]
    assert all(r.startswith("opencv-contrib-python-headless") for r in opencv), opencv


def test_extras(wheel):
    provided = set(metadata(wheel).get_all("Provides-Extra") or [])
    assert provided == EXTRAS
    _, extras = requirements(wheel)
    names = {extra: {re.match(r"[A-Za-z0-9._-]+", r).group(0).lower() for r in reqs} for extra, reqs in extras.items()}
    assert names["plots"] == {"matplotlib"} and names["synthetic"] == {"scikit-image", "av"}
    assert names["video"] == {"av"} and names["demo"] == {"scikit-video"}
    assert names["export"] == {"onnx", "onnxruntime"} and names["app"] == {"fastapi", "uvicorn"}
    assert names["synthetic"] <= names["train"]
    assert {"pytest", "got10k", "ruff", "setuptools"} <= names["test"]
    # `all` is every extra but the test tools.
    union = set().union(*(reqs for extra, reqs in names.items() if extra not in ("all", "test")))
    assert names["all"] == union
