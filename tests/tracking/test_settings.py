"""Which tracker settings apply (`seqtrack.tracking.settings`): official < the weights' recommended < the
caller's; and `seqtrack track` with the demo weights and no flags tracks exactly like `seqtrack demo`."""

from __future__ import annotations

import numpy as np
import pytest

from seqtrack.cli import main
from seqtrack.cli.demo import DEMO_TRACKER_SETTINGS
from seqtrack.config import TrackerConfig, model_preset
from seqtrack.errors import CheckpointError, InputError
from seqtrack.io.boxes import read_box_file
from seqtrack.tracking.settings import resolve_tracker_config
from seqtrack.tracking.tracker import Tracker

B256 = model_preset("b256")


def test_priority_official_then_weights_then_caller():
    official = resolve_tracker_config(B256, None)
    assert official.window_power == TrackerConfig().window_power == 1.0
    stored = {"window_power": 4.0, "hold_score": 1.5}
    weights = resolve_tracker_config(B256, stored)
    assert (weights.window_power, weights.hold_score) == (4.0, 1.5)
    mine = resolve_tracker_config(B256, stored, overrides={"window_power": 2.0})
    assert (mine.window_power, mine.hold_score) == (2.0, 1.5)
    forced = resolve_tracker_config(B256, stored, settings="official", overrides={"size_smoothing": 0.5})
    assert (forced.window_power, forced.hold_score, forced.size_smoothing) == (1.0, 0.0, 0.5)
    lasot = resolve_tracker_config(B256, stored, updates="lasot", update_threshold=0.7)
    assert lasot.update_threshold == 0.7 and lasot.window_power == 4.0


def test_bad_settings_are_named():
    with pytest.raises(CheckpointError, match="stored with the weights are invalid"):
        resolve_tracker_config(B256, {"window_power": 99.0})
    with pytest.raises(InputError, match="settings must be one of weights, official"):
        resolve_tracker_config(B256, None, settings="paper")
    with pytest.raises(InputError, match="unknown tracker setting"):
        resolve_tracker_config(B256, None, overrides={"windw": 2})


def test_from_pretrained_uses_the_demo_settings_unless_official():
    assert {
        k: getattr(Tracker.from_pretrained("demo").config, k) for k in DEMO_TRACKER_SETTINGS
    } == DEMO_TRACKER_SETTINGS
    plain = Tracker.from_pretrained("demo", settings="official").config
    assert (plain.window_power, plain.lost_search_factor) == (1.0, None)


def _frames_folder(tmp_path):
    import cv2

    from seqtrack.data.synthetic import generate_sequence

    sequence = generate_sequence(0, num_frames=12, size=(240, 320), split="test", seed=7)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(sequence.frames):
        cv2.imwrite(str(folder / f"{i:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return folder, ",".join(repr(float(v)) for v in sequence.boxes[0])


def test_track_without_flags_equals_the_demo_settings(tmp_path, one_thread_cli):
    folder, box = _frames_folder(tmp_path)
    run = lambda name, *extra: (  # noqa: E731
        main(["track", str(folder), "--box", box, "--out", str(tmp_path / name), "-q", *extra]),
        read_box_file(tmp_path / name).boxes,
    )
    status, plain = run("plain.txt")
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in DEMO_TRACKER_SETTINGS.items()]
    _, explicit = run("explicit.txt", "--weights", "demo", "--settings", "official", *flags)
    _, official = run("official.txt", "--settings", "official")
    assert status == 0 and len(plain) == 12
    np.testing.assert_array_equal(plain, explicit)  # no flags = the demo settings, exactly
    assert not np.array_equal(plain, official)  # and they are not the official tracker's


@pytest.fixture
def one_thread_cli():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_set_assignments_become_checked_tracker_fields():
    from seqtrack.cli.tracker_flags import set_overrides

    fields = set_overrides(["tracker.window_power=4", "hold_score=1e-1", "window=false"], {"size_smoothing": 0.7})
    assert fields == {"size_smoothing": 0.7, "window_power": 4.0, "hold_score": 0.1, "window": False}
    with pytest.raises(InputError, match="expected a number"):
        set_overrides(["tracker.window_power=strong"])
