"""`seqtrack track --update-mode` and `--no-window` (issue 21: Tab. 4 #9 and the window-off ablation)."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from seqtrack.cli import build_parser, main
from seqtrack.cli.tracker_flags import tracker_overrides
from seqtrack.model.weights import save_safetensors
from support import golden_file


def _overrides(*flags: str) -> dict:
    return tracker_overrides(build_parser("track").parse_args(["track", "clip.mp4", "--box", "1,2,3,4", *flags]))


def test_flags_become_tracker_settings():
    assert _overrides() == {}  # unset: the weights' or the official settings stay in charge
    assert _overrides("--no-window", "--update-mode", "naive") == {"window": False, "update_mode": "naive"}
    assert _overrides("--update-mode", "likelihood") == {"update_mode": "likelihood"}
    # eval has no such flags: the same fields go through --set there, as here.
    assert _overrides("--set", "tracker.update_mode=naive", "--set", "tracker.window=false") == {
        "update_mode": "naive",
        "window": False,
    }


@pytest.fixture(scope="module")
def clip(tmp_path_factory, golden_model):
    """The golden tiny weights and the first six golden frames as an image folder; the init box."""
    data = dict(np.load(golden_file("tiny_tracker.npz")))
    root = tmp_path_factory.mktemp("ablation-track")
    weights = root / "tiny.safetensors"
    save_safetensors(golden_model, weights)
    for i, frame in enumerate(data["frames"][:6]):
        cv2.imwrite(str(root / f"{i}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return root, weights, ",".join(repr(float(v)) for v in data["init_box"])


def _track(clip, tmp_path, capsys, *flags) -> tuple[int, list[str]]:
    root, weights, box = clip
    out = tmp_path / "boxes.txt"
    argv = ["track", str(root), "--weights", str(weights), "--box", box, "--out", str(out), "--quiet", *flags]
    assert main(argv) == 0
    updates = int(re.search(r"(\d+) template updates", capsys.readouterr().out).group(1))
    return updates, out.read_text().splitlines()


def test_naive_updates_whatever_the_score(clip, tmp_path, capsys):
    """A threshold no score reaches (scores are at most 40): the likelihood gate never opens, naive updates
    on every one of the 5 tracked frames."""
    gate = ("--update-interval", "1", "--update-threshold", "100")
    assert _track(clip, tmp_path, capsys, *gate)[0] == 0
    assert _track(clip, tmp_path, capsys, *gate, "--update-mode", "naive")[0] == 5


def test_no_window_changes_the_read_out(clip, tmp_path, capsys):
    _, windowed = _track(clip, tmp_path, capsys, "--settings", "official")
    _, plain = _track(clip, tmp_path, capsys, "--settings", "official", "--no-window")
    assert len(plain) == len(windowed) == 6 and plain[0] == windowed[0]
    assert plain[1:] != windowed[1:]  # the confidences at least: the window multiplies two of them


def test_fast_reaches_the_tracker_and_keeps_the_boxes(clip, tmp_path, capsys, monkeypatch):
    """`--fast` is passed to `Tracker.from_pretrained` (issue 22); on the golden frames its boxes are fp32's."""
    from seqtrack.tracking import tracker as tracker_module

    seen = {}
    real = tracker_module.Tracker.from_pretrained.__func__

    def spy(cls, weights, **kwargs):
        seen["fast"] = kwargs.get("fast")
        return real(cls, weights, **kwargs)

    monkeypatch.setattr(tracker_module.Tracker, "from_pretrained", classmethod(spy))
    _, reference = _track(clip, tmp_path, capsys, "--settings", "official")
    assert seen["fast"] is False
    _, fast = _track(clip, tmp_path, capsys, "--settings", "official", "--fast")
    assert seen["fast"] is True
    ref = np.array([[float(v) for v in line.split(",")[:4]] for line in reference[1:]])
    got = np.array([[float(v) for v in line.split(",")[:4]] for line in fast[1:]])
    np.testing.assert_allclose(got, ref, atol=0.01)
