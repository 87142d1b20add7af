"""The official tracker on the tiny model over 40 frames: tokens and updates exact, boxes within 0.01 px."""

import numpy as np
import pytest

from seqtrack.config import TrackerConfig
from seqtrack.errors import InputError
from seqtrack.tracking.tracker import Tracker
from support import golden_file


@pytest.fixture(scope="module")
def tracker_data():
    return dict(np.load(golden_file("tiny_tracker.npz")))


def _tracker(model, data):
    config = TrackerConfig(
        template_factor=float(data["template_factor"]),
        search_factor=float(data["search_factor"]),
        window=bool(data["window"]),
        update_interval=int(data["update_interval"]),
        update_threshold=float(data["update_threshold"]),
    )
    return Tracker(model, config)


def test_golden_tracker_run(golden_model, tracker_data):
    tracker = _tracker(golden_model, tracker_data)
    frames = tracker_data["frames"]
    init = tracker.init(frames[0], tracker_data["init_box"])
    np.testing.assert_array_equal(init.box, tracker_data["boxes"][0])
    for i in range(1, len(frames)):
        result = tracker.track(frames[i])
        assert result.tokens.tolist() == tracker_data["tokens"][i].tolist(), f"frame {i}"
        assert result.template_updated == bool(tracker_data["updated"][i]), f"frame {i}"
        np.testing.assert_allclose(result.box, tracker_data["boxes"][i], atol=0.01, rtol=0, err_msg=f"frame {i}")
        np.testing.assert_allclose(result.score, tracker_data["scores"][i], rtol=1e-4, err_msg=f"frame {i}")
        np.testing.assert_allclose(result.confidences, tracker_data["confidences"][i], rtol=1e-4, err_msg=f"frame {i}")


def test_track_video_generator_matches(golden_model, tracker_data):
    tracker = _tracker(golden_model, tracker_data)
    results = list(tracker.track_video(iter(tracker_data["frames"]), tracker_data["init_box"]))
    assert [i for i, _ in results] == list(range(40))
    boxes = np.stack([r.box for _, r in results])
    np.testing.assert_allclose(boxes, tracker_data["boxes"], atol=0.01, rtol=0)


def test_three_targets_batched_equal_single(golden_model, tracker_data):
    frames = tracker_data["frames"]
    boxes = [tracker_data["init_box"], [20.0, 30.0, 40.0, 25.0], [200.0, 150.0, 30.0, 60.0]]
    multi = _tracker(golden_model, tracker_data)
    started = multi.init_many(frames[0], boxes)
    np.testing.assert_array_equal(started.boxes, np.asarray(boxes))
    assert np.isnan(started.scores).all() and started.tokens.shape == (3, 4)
    singles = [_tracker(golden_model, tracker_data) for _ in boxes]
    for tracker, box in zip(singles, boxes):
        tracker.init(frames[0], box)
    for i in range(1, 25):
        together = multi.track_many(frames[i])
        assert together.boxes.shape == (3, 4) and together.scores.shape == (3,) and len(together) == 3
        np.testing.assert_array_equal(together.boxes[1], together[1].box)
        for k, tracker in enumerate(singles):
            alone = tracker.track(frames[i])
            assert together[k].tokens.tolist() == alone.tokens.tolist(), (i, k)
            assert together[k].template_updated == alone.template_updated
            np.testing.assert_allclose(together[k].box, alone.box, atol=1e-3)
            np.testing.assert_allclose(together[k].score, alone.score, rtol=1e-4)


def test_api_one_target_and_many_are_distinct(golden_model, tracker_data):
    frames, box = tracker_data["frames"], tracker_data["init_box"]
    tracker = _tracker(golden_model, tracker_data)
    with pytest.raises(InputError, match="use init_many"):
        tracker.init(frames[0], [box, box])
    with pytest.raises(InputError, match="before tracking"):
        tracker.track(frames[1])
    tracker.init_many(frames[0], [box, box])
    with pytest.raises(InputError, match="use track_many"):
        tracker.track(frames[1])
    tracker.reset()
    assert tracker.state is None
    first = tracker.init(frames[0], box)
    result = tracker.track(frames[1])
    assert first.seconds > 0 and result.seconds > 0 and result.frame_index == 1
    np.testing.assert_allclose(result.box, tracker_data["boxes"][1], atol=0.01, rtol=0)


def test_track_video_many_targets_yields_arrays(golden_model, tracker_data):
    tracker = _tracker(golden_model, tracker_data)
    boxes = np.stack([tracker_data["init_box"], [20.0, 30.0, 40.0, 25.0]])
    steps = list(tracker.track_video(iter(tracker_data["frames"][:5]), boxes))
    assert [i for i, _ in steps] == list(range(5))
    assert all(r.boxes.shape == (2, 4) for _, r in steps)
    np.testing.assert_allclose(steps[4][1].boxes[0], tracker_data["boxes"][4], atol=0.01, rtol=0)


def test_from_pretrained_reads_a_path(tmp_path, golden_model, tracker_data):
    from seqtrack.model.weights import save_safetensors

    path = tmp_path / "tiny.safetensors"
    save_safetensors(golden_model, path)
    tracker = Tracker.from_pretrained(
        path,
        update_interval=int(tracker_data["update_interval"]),
        update_threshold=float(tracker_data["update_threshold"]),
    )
    tracker.init(tracker_data["frames"][0], tracker_data["init_box"])
    result = tracker.track(tracker_data["frames"][1])
    assert result.tokens.tolist() == tracker_data["tokens"][1].tolist()
