"""Realism effects of the synthetic generator: defaults unchanged, determinism, exact ground truth under each
effect (the box equals the bounding box of the target's rendered mask), and the command-line flags."""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import replace

import cv2
import numpy as np
import pytest

from seqtrack.data.synthetic import SyntheticConfig, generate_sequence
from seqtrack.data.synthetic.__main__ import _parser, config_from_args, main
from seqtrack.data.synthetic.fx import effects_stream
from seqtrack.data.synthetic.scene import plan_scene
from seqtrack.data.synthetic.sequence import render_scene
from seqtrack.data.synthetic.settings import realistic
from seqtrack.data.synthetic.sources import SOURCE_SPLITS, SourcePool, split_stream
from seqtrack.errors import InputError

SIZE = (72, 96)
# H.264 needs PyAV (the ``video`` extra): without it the preset is tested without its H.264 part.
HAVE_AV = importlib.util.find_spec("av") is not None
REALISM = realistic() if HAVE_AV else replace(realistic(), h264_prob=0.0)
GEOMETRIC = {
    "warp": SyntheticConfig(warp=0.8),
    "shake": SyntheticConfig(shake=3.0),
    "rolling_shutter": SyntheticConfig(rolling_shutter=1.0),
    "large": SyntheticConfig(large_prob=1.0),
    "realism": REALISM,
}
PHOTOMETRIC = {
    "color_drift": SyntheticConfig(color_drift=0.2),
    "jpeg": SyntheticConfig(jpeg_range=(20, 60)),
    "h264": SyntheticConfig(h264_prob=1.0),
}


def test_defaults_are_bit_identical_to_the_generator_without_effects():
    # sha256 of frames + boxes from the generator before the realism options existed (same code path since).
    seq = generate_sequence(2, 8, SIZE, "mixed", seed=3, config=SyntheticConfig(max_distractors=4))
    digest = hashlib.sha256()
    for frame in seq.frames:
        digest.update(frame.tobytes())
    digest.update(seq.boxes.tobytes())
    assert digest.hexdigest()[:32] == "7325643a95e76189542f4d3e8c02ad5d"
    assert "large_target" not in seq.meta and not SyntheticConfig().effects_on


def test_realism_is_deterministic_and_depends_on_the_seed():
    config = REALISM
    a = generate_sequence(1, 20, SIZE, "train", seed=4, config=config)
    b = generate_sequence(1, 20, SIZE, "train", seed=4, config=config)
    c = generate_sequence(1, 20, SIZE, "train", seed=5, config=config)
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames))
    np.testing.assert_array_equal(a.boxes, b.boxes)
    assert a.meta == b.meta and not np.array_equal(a.frames[5], c.frames[5])


@pytest.mark.parametrize("name", sorted(PHOTOMETRIC))
def test_photometric_effects_change_pixels_not_the_ground_truth(name):
    if name == "h264" and not HAVE_AV:
        pytest.skip("H.264 needs PyAV (pip install 'seqtrack[video]')")
    base = generate_sequence(0, 15, SIZE, "train", seed=2)
    seq = generate_sequence(0, 15, SIZE, "train", seed=2, config=PHOTOMETRIC[name])
    np.testing.assert_array_equal(seq.boxes, base.boxes)  # the scene itself is unchanged (second stream)
    np.testing.assert_array_equal(seq.cover, base.cover)
    assert np.mean([np.abs(a.astype(int) - b).mean() for a, b in zip(seq.frames, base.frames)]) > 0.5
    assert seq.frames[0].shape == (*SIZE, 3) and seq.frames[0].dtype == np.uint8


def _mask_boxes(config: SyntheticConfig, index: int, n: int, sources=SOURCE_SPLITS["train"]):
    """(boxes of the real render, boxes of the target's mask rendered alone through the same geometry)."""
    rng = np.random.default_rng([6, split_stream("train"), index])
    scene = plan_scene(rng, n, SIZE, sources, config, effects_stream(6, split_stream("train"), index))
    _, boxes, _ = render_scene(scene, SIZE)
    # The target alone, its colour = 256 x alpha over black, no lighting, noise or blur: a frame pixel
    # is >= 128 exactly where the rendered alpha is >= 0.5 (scaling by 2^8 is exact in float32).
    scene.background = np.zeros_like(scene.background)
    scene.layers_below, scene.layers_above = [], []
    layer = scene.target.layer
    premult = layer.sprite.premult.copy()
    premult[..., :3] = 256.0 * premult[..., 3:4]
    layer.sprite.premult = premult
    layer.gain = np.ones(n)
    light = scene.lighting
    light.log_gain, light.gradient, light.noise, light.balance, light.blur_on = (
        np.zeros(n),
        np.zeros((n, 2)),
        None,
        None,
        False,
    )
    scene.finish = None
    frames, _, _ = render_scene(scene, SIZE)
    mask_boxes = np.zeros((n, 4))
    for t, frame in enumerate(frames):
        rows, cols = np.flatnonzero((frame[..., 0] >= 128).any(1)), np.flatnonzero((frame[..., 0] >= 128).any(0))
        if rows.size:
            mask_boxes[t] = (cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1)
    return boxes, mask_boxes


@pytest.mark.parametrize("name", sorted(GEOMETRIC))
def test_ground_truth_is_the_box_of_the_rendered_target_under_each_geometric_effect(name):
    config = GEOMETRIC[name]
    changed = 0
    for index in range(3):
        boxes, mask_boxes = _mask_boxes(config, index, 40)
        np.testing.assert_array_equal(boxes, mask_boxes)
        assert (boxes[:, 2] > 0).sum() >= 10  # the target is in view: the comparison is not vacuous
        default = generate_sequence(index, 40, SIZE, "train", seed=6).boxes
        changed += not np.array_equal(boxes, default)
    assert changed >= 2  # the effect moves the target's geometry


def test_large_targets_are_large_and_slow():
    seq = generate_sequence(0, 60, (120, 160), "train", seed=1, config=SyntheticConfig(large_prob=1.0))
    assert seq.meta["large_target"] == "True"
    side = np.sqrt(seq.boxes[0, 2] * seq.boxes[0, 3])
    assert 0.25 * 120 <= side <= 0.9 * 120
    assert seq.absence[0] == 0 and seq.cover[0] == 8


def test_config_is_validated():
    with pytest.raises(InputError, match="warp"):
        SyntheticConfig(warp=-0.1)
    with pytest.raises(InputError, match="jpeg_range"):
        SyntheticConfig(jpeg_range=(80, 20))
    with pytest.raises(InputError, match="h264_prob"):
        SyntheticConfig(h264_prob=1.5)


def test_command_line_realism_flags(tmp_path, capsys):
    args = _parser().parse_args([str(tmp_path), "--realism", "--warp", "0.2", "--jpeg-range", "40", "70"])
    config = config_from_args(args)
    assert config == replace(realistic(), warp=0.2, jpeg_range=(40, 70))
    assert config_from_args(_parser().parse_args([str(tmp_path)])) == SyntheticConfig()
    no_av = [] if HAVE_AV else ["--h264-prob", "0"]
    assert (
        main([str(tmp_path / "out"), "--sequences", "1", "--frames", "2", "--size", "48", "64", "--realism", *no_av])
        == 0
    )
    assert "large_target" in (tmp_path / "out" / "Synthetic_Train_000001" / "meta_info.ini").read_text()
    assert main([str(tmp_path / "bad"), "--photos", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: missing photo folder") and not (tmp_path / "bad").exists()
    assert main([str(tmp_path / "bad"), "--warp", "3"]) == 1
    assert "warp must be at most 1" in capsys.readouterr().err


def _cutout_folder(folder) -> SourcePool:
    """Two photographs and three RGBA object cut-outs (an ellipse with a notch, a triangle, a ring)."""
    rng = np.random.default_rng(0)
    for k in range(2):
        small = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f"photo_{k}.jpg"), cv2.resize(small, (160, 120)))
    shapes = []
    for k in range(3):
        rgba = np.zeros((90, 70, 4), np.uint8)
        rgba[..., :3] = rng.integers(0, 255, (90, 70, 3), dtype=np.uint8)
        alpha = np.zeros((90, 70), np.uint8)
        if k == 0:
            cv2.ellipse(alpha, (35, 45), (30, 40), 0, 0, 360, 255, -1)
            alpha[40:50, :35] = 0
        elif k == 1:
            cv2.fillPoly(alpha, [np.array([[5, 85], [65, 85], [35, 5]], np.int32)], 255)
        else:
            cv2.circle(alpha, (35, 45), 30, 255, -1)
            cv2.circle(alpha, (35, 45), 12, 0, -1)
        rgba[..., 3] = cv2.GaussianBlur(alpha, (5, 5), 0)
        cv2.imwrite(str(folder / f"object_{k}.cutout.png"), rgba)
        shapes.append(f"photo:{folder / f'object_{k}.cutout.png'}")
    photos = tuple(f"photo:{folder / f'photo_{k}.jpg'}" for k in range(2))
    return SourcePool(SOURCE_SPLITS["train"], photos, 0.5, tuple(shapes), 1.0)


def test_ground_truth_is_exact_for_cutout_targets(tmp_path):
    pool = _cutout_folder(tmp_path)
    for index in range(3):
        boxes, mask_boxes = _mask_boxes(REALISM, index, 30, pool)
        np.testing.assert_array_equal(boxes, mask_boxes)
        assert (boxes[:, 2] > 0).sum() >= 10
    rng = np.random.default_rng([6, split_stream("train"), 0])
    scene = plan_scene(rng, 5, SIZE, pool, SyntheticConfig(), None)
    assert scene.target.kind == "object" and scene.target.name in pool.cutouts
