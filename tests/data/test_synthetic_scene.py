"""The synthetic generator's random stream and its command line.

The scene plan draws every random choice of a sequence from one stream in a fixed order; moving a draw
changes every sequence after it (and the demo model's training data with it). These fingerprints pin
the order through what the draws decide (sources, shape, camera, look-alikes, occluders, exit, blur):
they change when a draw is added, removed or moved, and not with rasterisation details.
"""

from __future__ import annotations

import pytest

from seqtrack.data.synthetic import SyntheticConfig, generate_sequence
from seqtrack.data.synthetic.__main__ import main

BUSY = SyntheticConfig(max_distractors=4, occluder_prob=0.7, exit_prob=0.7)

# (split, index) -> target source, background source, shape, camera, distractors, occluders, exit, blur
# (generated at seed 7, 45 frames of 72x96, by the generator as it was before it became a package).
FINGERPRINTS = {
    ("train", 0): ("chelsea", "motorcycle_left", "synthetic segment", "following camera", "1", "1", "False", "True"),
    ("train", 1): ("motorcycle_left", "astronaut", "synthetic segment", "static camera", "0", "1", "False", "False"),
    ("mixed", 2): ("moon", "leaves-370758", "synthetic ellipse", "following camera", "2", "1", "True", "False"),
    ("mixed", 3): ("astronaut", "rocket", "synthetic polygon", "following camera", "1", "1", "False", "False"),
    ("val", 4): ("clock_motion", "page", "synthetic polygon", "following camera", "1", "1", "True", "False"),
    ("test", 5): ("camera", "hubble_deep_field", "synthetic segment", "following camera", "2", "1", "False", "False"),
}
KEYS = (
    "target_source",
    "background_source",
    "object_class",
    "motion_class",
    "distractors",
    "occluders",
    "exit_event",
    "motion_blur",
)


@pytest.mark.parametrize(("split", "index"), sorted(FINGERPRINTS))
def test_random_stream_order_is_unchanged(split, index):
    meta = generate_sequence(index, 45, (72, 96), split, seed=7, config=BUSY).meta
    assert tuple(meta[key] for key in KEYS) == FINGERPRINTS[split, index]


def test_command_line_writes_a_dataset(tmp_path, capsys):
    assert main([str(tmp_path), "--sequences", "2", "--frames", "3", "--size", "48", "64", "--split", "val"]) == 0
    assert (tmp_path / "list.txt").read_text().split() == ["Synthetic_Val_000001", "Synthetic_Val_000002"]
    assert (tmp_path / "Synthetic_Val_000002" / "00000003.jpg").is_file()
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "other"), "--max-distractors", "-1"])
    assert exit_info.value.code == 2
    assert "--max-distractors must be >= 0, got -1" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()
