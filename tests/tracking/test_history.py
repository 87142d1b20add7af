"""Temporal tracking (Tab. 5): the tracker keeps each target's last K boxes and hands them to the network,
mapped into the current search crop like the training target; and the naive template update (Tab. 4 #9)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from seqtrack.config import ModelConfig, TrackerConfig, model_preset
from seqtrack.errors import InputError
from seqtrack.geometry.crop import crop_square
from seqtrack.geometry.tokens import history_tokens
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.tracking.history import history_batch, history_in_crop, initial_history, push_box
from seqtrack.tracking.tracker import Tracker
from support import tiny_variant_config

FRAMES = np.random.default_rng(3).integers(0, 255, size=(5, 96, 128, 3), dtype=np.uint8)


def tiny_config(**fields) -> ModelConfig:
    return tiny_variant_config(decoder_layers=1, **fields)


class Recorder:
    """A predictor that answers fixed tokens and records every ``generate`` call's keyword arguments."""

    def __init__(self, config: ModelConfig, tokens=(32, 32, 16, 16), prob: float = 0.25) -> None:
        self.config = config
        self.device, self.dtype = torch.device("cpu"), torch.float32
        self.tokens, self.prob = torch.tensor([tokens]), prob
        self.calls: list[dict] = []

    def generate(self, templates, search, window=True, **extra):
        self.calls.append({"window": window, **extra})
        batch = search.shape[0]
        return self.tokens.repeat(batch, 1), torch.full((batch, 4), self.prob, dtype=torch.float64)


def test_history_bookkeeping_repeats_then_slides():
    history = initial_history([1, 2, 3, 4], 3)
    assert history == [[1.0, 2.0, 3.0, 4.0]] * 3
    history = push_box(history, [5, 6, 7, 8])
    assert history == [[1.0, 2.0, 3.0, 4.0]] * 2 + [[5.0, 6.0, 7.0, 8.0]]
    assert push_box([], [5, 6, 7, 8]) == [] and initial_history([1, 2, 3, 4], 0) == []


def test_history_uses_the_training_convention():
    """The crop's own reference box sits at the centre (S-1)/2 and sizes scale by resize_factor / (S-1):
    the (S-1) convention of the training targets, not the S of the inference read-out."""
    size, factor = 64, 0.5
    ref = [100.0, 40.0, 20.0, 30.0]
    moved = [110.0, 40.0, 40.0, 30.0]  # centre 20 px right of ref's, twice as wide
    boxes = history_in_crop([ref, moved], ref, factor, size)
    assert boxes.shape == (2, 4)
    centre = boxes[0, :2] + boxes[0, 2:] / 2
    np.testing.assert_allclose(centre, [0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(boxes[0, 2:], [20 * factor / (size - 1), 30 * factor / (size - 1)], atol=1e-12)
    np.testing.assert_allclose(boxes[1, 0] + boxes[1, 2] / 2 - 0.5, 20 * factor / (size - 1), atol=1e-12)
    tokens = history_batch([[ref, moved]], [ref], [factor], size, bins=64, seq_format="xywh")
    assert tokens.shape == (1, 8) and tokens.dtype == torch.int64
    assert tokens.tolist() == history_tokens(torch.from_numpy(boxes[None]), 64, "xywh").tolist()


def _expected_history(boxes, reference, frame, config, factor):
    """What the tracker must pass: ``boxes`` mapped into the crop around ``reference`` (the crop's own factor)."""
    _, resize = crop_square(frame, reference, factor, config.search_size)
    return history_batch([boxes], [reference], [resize], config.search_size, config.bins, config.seq_format)[0]


def test_tracker_passes_the_last_k_boxes_in_the_current_crop():
    config = tiny_config(temporal_frames=3)
    predictor = Recorder(config, tokens=(40, 28, 20, 12))  # off-centre: the box moves every frame
    tracker = Tracker(predictor, TrackerConfig(search_factor=4.0, template_factor=2.0))
    init = [40.0, 30.0, 20.0, 24.0]
    tracker.init(FRAMES[0], init)
    boxes = [init]
    for i, frame in enumerate(FRAMES[1:4], start=1):
        previous = list(tracker.state.targets[0].box)
        result = tracker.track(frame)
        sent = predictor.calls[-1]["history"]
        assert sent.shape == (1, 12) and sent.dtype == torch.int64
        past = ([init] * 3 + boxes[1:])[-3:]  # the init box repeated until three frames were tracked
        assert sent[0].tolist() == _expected_history(past, previous, frame, config, 4.0).tolist(), i
        boxes.append(result.box.tolist())
    assert tracker.state.targets[0].history == [list(b) for b in boxes[-3:]]
    assert len({tuple(sent[0, i : i + 4].tolist()) for i in range(0, 12, 4)}) == 3  # three distinct boxes


def test_several_targets_keep_their_own_history_and_reset_forgets():
    config = tiny_config(temporal_frames=2)
    predictor = Recorder(config, tokens=(40, 28, 20, 12))
    tracker = Tracker(predictor, TrackerConfig(search_factor=4.0, template_factor=2.0))
    starts = [[10.0, 10.0, 16.0, 16.0], [80.0, 50.0, 30.0, 20.0]]
    tracker.init_many(FRAMES[0], starts)
    first = tracker.track_many(FRAMES[1])
    second_refs = [list(t.box) for t in tracker.state.targets]
    tracker.track_many(FRAMES[2])
    sent = predictor.calls[-1]["history"]
    assert sent.shape == (2, 8)
    for row in range(2):
        want = _expected_history([starts[row], first.boxes[row].tolist()], second_refs[row], FRAMES[2], config, 4.0)
        assert sent[row].tolist() == want.tolist()
    assert sent[0].tolist() != sent[1].tolist()
    tracker.reset()
    tracker.init(FRAMES[3], starts[1])
    assert tracker.state.targets[0].history == [starts[1]] * 2
    tracker.track(FRAMES[4])
    assert (
        predictor.calls[-1]["history"][0].tolist()
        == _expected_history([starts[1]] * 2, starts[1], FRAMES[4], config, 4.0).tolist()
    )


def test_default_model_is_called_without_history():
    predictor = Recorder(tiny_config())
    tracker = Tracker(predictor, TrackerConfig(window=False))
    tracker.init(FRAMES[0], [40, 30, 20, 24])
    tracker.track(FRAMES[1])
    assert predictor.calls == [{"window": False}]
    assert tracker.state.targets[0].history == []


def test_temporal_network_tracks_with_the_history_it_is_given():
    """End to end on a real (random) temporal network: the tracker's tokens are the network's own answer
    to the crops and the history the tracker built."""
    torch.manual_seed(0)
    model = SeqTrack(tiny_config(temporal_frames=2)).eval()
    calls = []
    original = model.generate

    def spy(templates, search, window=True, history=None, return_attention=False):
        calls.append((templates.clone(), search.clone(), history.clone()))
        return original(templates, search, window=window, history=history, return_attention=return_attention)

    model.generate = spy
    tracker = Tracker(model, TrackerConfig(search_factor=4.0, template_factor=2.0))
    tracker.init(FRAMES[0], [40, 30, 20, 24])
    results = [tracker.track(frame) for frame in FRAMES[1:3]]
    for (templates, search, history), result in zip(calls, results):
        tokens, _ = original(templates, search, history=history)
        assert tokens[0].tolist() == result.tokens.tolist()
    probs = [original(*calls[-1][:2], history=h)[1] for h in (calls[-1][2], torch.zeros_like(calls[-1][2]))]
    assert not torch.equal(probs[0], probs[1])  # the history reaches the network


@pytest.mark.parametrize("mode, expected", [("likelihood", [False] * 4), ("naive", [False, True, False, True])])
def test_naive_update_ignores_the_score(mode, expected):
    """Score 10 * 4 * 0.01 = 0.4 < threshold 0.6: the likelihood gate never opens; naive updates every 2nd frame."""
    predictor = Recorder(dataclasses.replace(model_preset("t128")), prob=0.01)
    tracker = Tracker(predictor, TrackerConfig(update_interval=2, update_threshold=0.6, update_mode=mode))
    tracker.init(FRAMES[0], [40, 30, 20, 24])
    before = tracker.state.targets[0].templates.clone()
    updated = [bool(tracker.track(frame).template_updated) for frame in FRAMES[1:]]
    assert updated == expected
    assert torch.equal(tracker.state.targets[0].templates, before) == (mode == "likelihood")


def test_update_mode_is_checked():
    with pytest.raises(InputError, match="update_mode must be one of likelihood, naive"):
        TrackerConfig(update_mode="always")
