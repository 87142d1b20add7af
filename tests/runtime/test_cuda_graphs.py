"""`GraphedPredictor` on the CPU: the graph contract (inputs only through static buffers, outputs that
outlive the next replay, one recording per shape) checked with a stand-in capture that re-runs the recorded
function on replay (`RerunCapture`), as a CUDA graph re-runs its kernels; and the option checks of the GPU-only paths.

The real CUDA capture runs in ``benchmarks/gpu_speed.py`` (tokens compared with eager there)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqtrack.config import ModelConfig, TrackerConfig
from seqtrack.errors import InputError
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.runtime.cuda_graphs import CudaGraphCapture, GraphCaptureError, GraphedPredictor, RerunCapture
from seqtrack.runtime.factory import make_predictor
from seqtrack.runtime.options import PredictorOptions
from seqtrack.tracking.tracker import Tracker
from support import tiny_variant_config


def _crops(config: ModelConfig, batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    t = config.template_size
    templates = torch.randn(batch, config.num_templates, 3, t, t, generator=generator)
    search = torch.randn(batch, 3, config.search_size, config.search_size, generator=generator)
    return templates, search


def test_replays_give_the_eager_tokens_of_each_new_input(model):
    graphed = GraphedPredictor(model, capture=RerunCapture())
    for seed in range(4):
        templates, search = _crops(model.config, 2, seed)
        tokens, probs = graphed.generate(templates, search, window=True)
        expected_tokens, expected_probs = model.generate(templates, search, window=True)
        assert torch.equal(tokens, expected_tokens)
        assert torch.equal(probs, expected_probs)
    assert graphed.captures == 1


def test_returned_tensors_survive_the_next_replay(model):
    graphed = GraphedPredictor(model, capture=RerunCapture())
    first = graphed.generate(*_crops(model.config, 1, 0))
    kept = [t.clone() for t in first]
    second = graphed.generate(*_crops(model.config, 1, 1))
    assert not torch.equal(second[1], kept[1])  # the inputs differ, so the probabilities do
    assert all(torch.equal(a, b) for a, b in zip(first, kept, strict=True))


def test_one_recording_per_shape_and_window_and_oldest_dropped(model):
    capture = RerunCapture()
    graphed = GraphedPredictor(model, capture=capture, max_graphs=2)
    one, two = _crops(model.config, 1, 0), _crops(model.config, 2, 0)
    graphed.generate(*one)
    graphed.generate(*one)
    assert capture.recorded == 1
    graphed.generate(*two)  # another number of targets
    graphed.generate(*one, window=False)  # another prior: a third graph, the oldest (B = 1, window) goes
    assert capture.recorded == 3
    graphed.generate(*two)
    assert capture.recorded == 3
    tokens, _ = graphed.generate(*one)  # recorded again
    assert capture.recorded == 4
    assert torch.equal(tokens, model.generate(*one)[0])


def test_window_power_and_attention_follow_the_model(model):
    graphed = GraphedPredictor(model, capture=RerunCapture())
    templates, search = _crops(model.config, 1, 3)
    for window in (0.0, 0.5, 2.0):
        assert torch.equal(
            graphed.generate(templates, search, window=window)[0], model.generate(templates, search, window=window)[0]
        )
    tokens, probs, maps = graphed.generate(templates, search, return_attention=True)
    assert maps.shape[:2] == (1, 4)
    with pytest.raises(ValueError, match="window power"):
        graphed.generate(templates, search, window=-1.0)


def test_temporal_history_goes_through_its_buffer():
    config = tiny_variant_config(temporal_frames=2)
    torch.manual_seed(2)
    model = SeqTrack(config).eval()
    graphed = GraphedPredictor(model, capture=RerunCapture())
    templates, search = _crops(config, 2, 0)
    for seed in range(3):
        history = torch.randint(0, config.bins, (2, 8), generator=torch.Generator().manual_seed(seed))
        expected = model.generate(templates, search, history=history)
        assert torch.equal(graphed.generate(templates, search, history=history)[1], expected[1])
    assert graphed.captures == 1


def test_tracker_on_graphed_predictor_tracks_as_the_eager_model(model, tracker_data, track_frames):
    eager_tokens, eager_boxes = track_frames(model, tracker_data, 6)
    graphed = GraphedPredictor(model, capture=RerunCapture())
    tokens, boxes = track_frames(graphed, tracker_data, 6)
    np.testing.assert_array_equal(tokens, eager_tokens)
    np.testing.assert_array_equal(boxes, eager_boxes)


def test_two_targets_then_one_on_the_same_predictor(model, tracker_data):
    frames, box = tracker_data["frames"], np.asarray(tracker_data["init_box"], dtype=np.float64)
    boxes = np.stack([box, box + np.array([4.0, 3.0, 0.0, 0.0])])

    def run(predictor):
        pair = Tracker(predictor, TrackerConfig())
        pair.init_many(frames[0], boxes)
        out = [pair.track_many(frame).boxes for frame in frames[1:3]]
        single = Tracker(predictor, TrackerConfig())
        single.init(frames[0], box)
        return out + [single.track(frame).box[None] for frame in frames[1:3]]

    graphed = GraphedPredictor(model, capture=RerunCapture())
    for ours, theirs in zip(run(graphed), run(model), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert graphed.captures == 2


def test_gpu_only_options_refuse_the_cpu_naming_the_flag(model):
    with pytest.raises(InputError, match="--cuda-graphs needs a CUDA device"):
        make_predictor(model, cuda_graphs=True)
    with pytest.raises(InputError, match="fp16 is a GPU precision"):
        make_predictor(model, dtype="fp16")
    with pytest.raises(InputError, match="--cuda-graphs"):
        PredictorOptions(backend="onnxruntime", cuda_graphs=True)
    with pytest.raises(InputError, match="--cuda-graphs"):
        PredictorOptions(compile=True, cuda_graphs=True)
    with pytest.raises(InputError, match="CUDA device"):
        CudaGraphCapture(torch.device("cpu"))
    with pytest.raises(InputError, match="max_graphs"):
        GraphedPredictor(model, capture=RerunCapture(), max_graphs=0)
    assert PredictorOptions(dtype="bf16", cuda_graphs=True).label == "torch bf16 cuda-graphs"


def test_a_failed_capture_is_one_line_naming_the_shape(model):
    def failing(function):
        raise RuntimeError("operation not permitted when stream is capturing\nCUDA kernel errors might be ...")

    graphed = GraphedPredictor(model, capture=failing)
    with pytest.raises(
        GraphCaptureError, match=r"failed for 2 target\(s\).*not permitted when stream is capturing; run"
    ):
        graphed.generate(*_crops(model.config, 2, 0))
    assert graphed.captures == 0
