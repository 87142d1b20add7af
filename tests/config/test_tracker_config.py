"""`TrackerConfig`: the template-update presets."""

import pytest

from seqtrack.config import TrackerConfig, UpdatePolicy, experiment_preset
from seqtrack.errors import InputError


def test_update_presets():
    tracker = experiment_preset("b256").tracker
    assert tracker.with_updates("lasot").update_interval == 450
    assert tracker.with_updates("vot20").update_threshold == 0.55
    assert experiment_preset("l256").tracker.with_updates("vot20").update_threshold == 0.475
    assert tracker.with_updates("lasot", interval=3).update_interval == 3
    with pytest.raises(InputError, match="unknown update preset"):
        tracker.with_updates("nope")


def test_update_presets_keep_the_callers_entries_in_a_mapping_of_their_own():
    given = {"mine": {"interval": 3, "threshold": 0.1}, "lasot": UpdatePolicy(450, 0.6)}
    config = TrackerConfig(update_presets=given)
    assert config.update_presets == {"mine": UpdatePolicy(3, 0.1), "lasot": UpdatePolicy(450, 0.6)}
    config.update_presets["other"] = UpdatePolicy()
    assert set(given) == {"mine", "lasot"}
