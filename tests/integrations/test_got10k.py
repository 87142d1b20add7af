"""`seqtrack.integrations.got10k.SeqTrackTracker` inside the official GOT-10k toolkit.

The main test runs the toolkit's ``ExperimentGOT10k`` with our tracker on a generated val-style set and
``seqtrack eval`` / ``seqtrack report`` on the same set with the same weights and settings: both drive
the same `Tracker` on the same decoded frames, so the boxes and the AO must agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seqtrack.cli import main
from seqtrack.errors import InputError
from seqtrack.evaluate.fixtures import FixtureSpec, write_benchmark
from seqtrack.integrations.got10k import default_name, to_rgb_array

os.environ.setdefault("MPLBACKEND", "Agg")  # the toolkit draws its success plot with pyplot
import got10k.experiments as got10k_experiments  # a test dependency (pyproject [test]): never skipped
import got10k.trackers as got10k_trackers
from PIL import Image


def test_module_imports_without_the_toolkit():
    # A fresh interpreter where ``import got10k`` fails: the module loads, the class says how to get it.
    code = (
        "import sys; sys.modules['got10k'] = None\n"
        "import seqtrack.integrations.got10k as m\n"
        "from seqtrack.errors import InputError\n"
        "try:\n    m.SeqTrackTracker\nexcept InputError as e:\n    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    message = done.stdout.strip()
    assert message.count("\n") == 0 and message.endswith("pip install got10k"), done.stdout + done.stderr


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P", "LA"])
def test_pil_frames_of_any_mode_become_rgb_arrays(mode):
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    image = Image.fromarray(rgb).convert(mode)
    frame = to_rgb_array(image)
    assert frame.shape == (5, 7, 3) and frame.dtype == np.uint8 and frame.flags.writeable
    np.testing.assert_array_equal(frame, np.asarray(image.convert("RGB")))
    if mode == "RGB":
        np.testing.assert_array_equal(frame, rgb)
    if mode in ("L", "LA"):  # grey repeated over the three channels
        assert (frame == frame[..., :1]).all()


def test_arrays_are_accepted_or_refused_in_one_line():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.testing.assert_array_equal(to_rgb_array(grey), np.stack([grey] * 3, axis=-1))
    rgba = np.zeros((3, 4, 4), dtype=np.uint8)
    assert to_rgb_array(rgba).shape == (3, 4, 3)
    with pytest.raises(InputError, match=r"shape \(3, 4, 3\) dtype float32"):
        to_rgb_array(np.zeros((3, 4, 3), dtype=np.float32))


def test_names_and_wrapping(tiny_weights):
    from seqtrack.integrations.got10k import SeqTrackTracker
    from seqtrack.tracking.tracker import Tracker

    assert default_name(tiny_weights) == "seqtrack-tiny"
    assert default_name("b256", dtype="bf16") == "seqtrack-b256-torch-bf16"
    given = Tracker.from_pretrained(tiny_weights, threads=1)
    wrapped = SeqTrackTracker(given)
    assert isinstance(wrapped, got10k_trackers.Tracker) and wrapped.is_deterministic
    assert wrapped.tracker is given and wrapped.name.startswith("seqtrack-")
    assert SeqTrackTracker(given, name="mine").name == "mine"
    with pytest.raises(InputError, match="ready Tracker and tracker options"):
        SeqTrackTracker(given, updates="lasot")


def _toolkit_run(root: Path, weights: Path, out: Path) -> tuple[str, dict]:
    """The toolkit's experiment with our tracker: ``(tracker name, its performance report)``."""
    from seqtrack.integrations.got10k import SeqTrackTracker

    # The settings ``seqtrack eval got10k_val`` uses: the weights' recommended ones, the benchmark's update
    # preset (``default``) and one intra-op thread on the CPU.
    tracker = SeqTrackTracker(weights, settings="weights", updates="default", threads=1)
    experiment = got10k_experiments.ExperimentGOT10k(
        str(root), subset="val", result_dir=str(out / "results"), report_dir=str(out / "reports")
    )
    experiment.run(tracker)
    return tracker.name, experiment.report([tracker.name])[tracker.name]


def _report_ao(root: Path, results: Path, json_path: Path) -> float:
    """``seqtrack report``'s AO, as a fraction like the toolkit's, of the one tracker in ``results``."""
    assert (
        main(["report", str(results), "--benchmark", "got10k_val", "--root", str(root), "--json", str(json_path)]) == 0
    )
    (tracker,) = json.loads(json_path.read_text())["trackers"]
    return tracker["summary"]["ao"] / 100


def test_toolkit_experiment_equals_seqtrack_eval(tmp_path, tiny_weights, capsys):
    # 3 sequences x 10 frames; the second has absent frames, which the toolkit and our report both skip.
    root = write_benchmark("got10k_val", tmp_path / "got10k", FixtureSpec(n_sequences=3, n_frames=10))
    name, official = _toolkit_run(root, tiny_weights, tmp_path / "toolkit")
    ours = tmp_path / "ours"
    eval_args = ["eval", "got10k_val", "--root", str(root), "--weights", str(tiny_weights), "--results", str(ours)]
    assert main([*eval_args, "--no-progress"]) == 0
    capsys.readouterr()

    # Boxes: the toolkit saves three decimals; ours, saved exactly, print to the same text.
    toolkit_results = tmp_path / "toolkit" / "results" / "GOT-10k" / name
    for seq in (root / "val" / "list.txt").read_text().split():
        theirs = (toolkit_results / seq / f"{seq}_001.txt").read_text()
        exact = np.loadtxt(ours / seq / f"{seq}_001.txt", delimiter=",")
        assert theirs == "".join(",".join(f"{v:.3f}" for v in row) + "\n" for row in exact), seq
        assert not (toolkit_results / seq / f"{seq}_002.txt").exists()  # deterministic: one repetition

    # AO: seqtrack report on the toolkit's own files gives the toolkit's AO exactly; on our exact boxes,
    # the same up to the toolkit's rounding of the boxes to 1/1000 px.
    on_toolkit_files = _report_ao(root, toolkit_results, tmp_path / "toolkit.json")
    on_our_files = _report_ao(root, ours, tmp_path / "ours.json")
    print(f"toolkit AO {official['overall']['ao']!r}, seqtrack report AO {on_our_files!r}")
    assert on_toolkit_files == pytest.approx(official["overall"]["ao"], abs=1e-12)
    assert on_our_files == pytest.approx(official["overall"]["ao"], abs=1e-4)
    assert 0 < official["overall"]["ao"] < 1  # a real score, not an empty or perfect one
