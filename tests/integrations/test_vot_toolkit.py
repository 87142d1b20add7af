"""End to end with the VOT toolkit itself: ``seqtrack vot-workspace`` writes a workspace, vot-toolkit 0.9.0
runs our TraX server on it (unsupervised experiment) and analyses the results, and its accuracy must
equal `vot_protocol.accuracy` of our own run over the same decoded frames.

The toolkit lives in its own venv, ``.venv-vot`` (``make vot-venv``): it installs opencv-python, which
must not enter the project's venv. Without it the test is skipped. About 35 s on one CPU thread.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from seqtrack.cli import main

VOT_VENV = Path(__file__).resolve().parents[2] / ".venv-vot"
VOT = VOT_VENV / "bin" / "vot"
# Written by `make vot-venv` once everything is installed: a half-built venv is skipped, not failed.
READY = VOT_VENV / ".installed"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not READY.exists(), reason=f"needs the VOT toolkit venv {VOT_VENV}: run `make vot-venv`"),
]


def _vot(*args: str, cwd: Path) -> str:
    """Run a ``vot`` command; its output. The toolkit exits 0 even when the tracker failed, so callers
    check the files it should have written rather than the status alone."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([str(VOT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def _our_accuracy(workspace: Path, names: list[str]) -> float:
    """`vot_protocol.accuracy` of the tracker the workspace runs, over its JPEGs decoded as the server does."""
    from seqtrack.integrations.vot import read_rgb
    from seqtrack.integrations.vot_protocol import accuracy, run_unsupervised
    from seqtrack.tracking.tracker import Tracker

    tracker = Tracker.from_pretrained("demo", threads=1)
    runs = []
    for name in names:
        folder = workspace / "sequences" / name
        frames = [read_rgb(path) for path in sorted((folder / "color").glob("*.jpg"))]
        gt = np.loadtxt(folder / "groundtruth.txt", delimiter=",", ndmin=2)
        height, width = frames[0].shape[:2]
        runs.append(run_unsupervised(tracker, frames, gt, image_wh=(width, height)))
    return accuracy(runs)  # the stack's burn-in (10) and the toolkit's per-sequence weighting


def test_toolkit_accuracy_equals_ours(tmp_path):
    workspace = tmp_path / "ws"
    python = str(VOT_VENV / "bin" / "python")
    assert main(["vot-workspace", str(workspace), "--weights", "demo", "--python", python, "--threads", "1"]) == 0
    names = (workspace / "sequences" / "list.txt").read_text().split()

    evaluated = _vot(
        "evaluate", "--workspace", str(workspace), "--experiments", "unsupervised", "seqtrack", cwd=tmp_path
    )
    for name in names:
        result = workspace / "results" / "seqtrack" / "unsupervised" / name / f"{name}_001.bin"
        assert result.is_file(), f"the toolkit wrote no trajectory for {name}:\n{evaluated}"
    _vot(
        "analysis", "--workspace", str(workspace), "--experiments", "unsupervised", "--format", "json",
        "--name", "check", "seqtrack", cwd=tmp_path,
    )  # fmt: skip
    report = json.loads((workspace / "analysis" / "check.json").read_text())
    (((toolkit,),),) = report["results"]["unsupervised"]["results"]

    ours = _our_accuracy(workspace, names)
    assert 0.2 < ours < 1.0  # the demo model follows the generated targets: a comparison that says something
    assert toolkit == pytest.approx(ours, abs=1e-4)
