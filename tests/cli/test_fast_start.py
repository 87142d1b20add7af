"""The torch-free start of ``--fast`` (issue 22 item 5, `seqtrack.runtime.fast_start`): with the read-out
graph in the graph cache, ``seqtrack track --fast`` never imports torch, and tracks exactly as the torch
ONNX path (and as the fp32 eager network, within the tolerance of the other ``--fast`` tests).

The CPU is taken as AVX2-only throughout (the ``onnx-fp32`` plan), so the tests run the same on any CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from seqtrack.data.synthetic import generate_sequence
from seqtrack.io.boxes import read_box_file

pytest.importorskip("onnxruntime")

FRAMES = 6
# Run in a new process: the CPU flags made AVX2-only before anything reads them, then `seqtrack track`.
CHILD = """
import json, sys
import seqtrack.runtime.cpu as cpu
avx2 = cpu.parse_features({"avx2", "fma"}, "AVX2")
cpu.cpu_features = lambda: avx2
cpu.cpu_features_without_torch = lambda: avx2
from seqtrack.cli import main
status = main(sys.argv[1:])
print(json.dumps({"status": status, "torch": sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))}))
"""


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A generated video of `FRAMES` frames, its frames (RGB) and its first box (``xywh`` pixels)."""
    sequence = generate_sequence(0, num_frames=FRAMES, size=(240, 320), split="test", seed=7)
    path = tmp_path_factory.mktemp("fast-start") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (320, 240))
    for frame in sequence.frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path, list(sequence.frames), [float(v) for v in sequence.boxes[0]]


def _track(clip, out, cache, extra=()):
    path, _, box = clip
    argv = ["track", str(path), "--weights", "demo", "--box", ",".join(map(repr, box)), "--out", str(out), "-q"]
    env = dict(os.environ, SEQTRACK_CACHE_DIR=str(cache))
    command = [sys.executable, "-c", CHILD, *argv, "--fast", *extra]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_the_second_fast_run_imports_no_torch_and_writes_the_same_boxes(clip, tmp_path):
    cache = tmp_path / "cache"
    first, _ = _track(clip, tmp_path / "first.txt", cache)
    assert first["status"] == 0 and "torch" in first["torch"]  # cold cache: the graph is exported with torch
    assert len(list((cache / "graphs").glob("*.onnx"))) == 2  # the exported graph, and as ONNX Runtime optimised it
    second, _ = _track(clip, tmp_path / "second.txt", cache)
    assert second == {"status": 0, "torch": []}
    boxes = [read_box_file(tmp_path / name).boxes for name in ("first.txt", "second.txt")]
    assert len(boxes[0]) == FRAMES
    np.testing.assert_array_equal(boxes[0], boxes[1])
    assert (tmp_path / "first.txt").read_text() == (tmp_path / "second.txt").read_text()


@pytest.fixture()
def avx2_only(monkeypatch):
    """This process's CPU taken as AVX2-only (the ``onnx-fp32`` plan), for in-process runs."""
    from seqtrack.runtime import fast_plan, fast_start
    from seqtrack.runtime.cpu import parse_features

    avx2 = parse_features({"avx2"}, "AVX2")
    monkeypatch.setattr(fast_plan, "cpu_features", lambda: avx2)
    monkeypatch.setattr(fast_start, "cpu_features_without_torch", lambda: avx2)


def _track_here(clip, out, cache, monkeypatch) -> None:
    """``seqtrack track --fast`` in this process (torch is loaded already: only the export costs)."""
    from seqtrack.cli import main

    path, _, box = clip
    monkeypatch.setenv("SEQTRACK_CACHE_DIR", str(cache))
    argv = ["track", str(path), "--weights", "demo", "--box", ",".join(map(repr, box)), "--out", str(out), "-q"]
    assert main(argv + ["--fast", "--threads", "1"]) == 0


def test_a_damaged_entry_is_exported_again_with_one_warning(clip, tmp_path, monkeypatch, capsys, avx2_only):
    cache = tmp_path / "cache"
    _track_here(clip, tmp_path / "first.txt", cache, monkeypatch)
    graph = min((cache / "graphs").glob("*.onnx"), key=lambda p: p.stat().st_mtime_ns)  # the exported one
    graph.write_bytes(graph.read_bytes()[:1000])  # cut short
    capsys.readouterr()
    _track_here(clip, tmp_path / "again.txt", cache, monkeypatch)
    err = capsys.readouterr().err
    assert err.count("warning: graph cache entry") == 1 and "damaged" in err
    assert (tmp_path / "first.txt").read_text() == (tmp_path / "again.txt").read_text()
    assert graph.stat().st_size > 1000  # whole again


def test_an_unwritable_cache_folder_warns_once_and_tracks(clip, tmp_path, monkeypatch, capsys, avx2_only):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    _track_here(clip, tmp_path / "boxes.txt", blocked / "cache", monkeypatch)
    assert len(read_box_file(tmp_path / "boxes.txt").boxes) == FRAMES
    err = capsys.readouterr().err
    assert err.count("warning: graph cache") == 1 and "cannot be written" in err


def test_torch_free_boxes_equal_the_torch_onnx_path_and_eager_fp32(clip, tmp_path, monkeypatch, avx2_only):
    from seqtrack.bench.fidelity import RecordingPredictor, replay
    from seqtrack.model.header import read_header
    from seqtrack.model.registry import resolve_weights
    from seqtrack.model.weights import load_model
    from seqtrack.runtime.factory import make_predictor
    from seqtrack.tracking.settings import resolve_tracker_config
    from seqtrack.tracking.tracker import Tracker

    monkeypatch.setenv("SEQTRACK_CACHE_DIR", str(tmp_path / "cache"))
    weights = resolve_weights("demo")
    cold = make_predictor(weights, fast=True, threads=1)  # torch: exports into the cache
    warm = make_predictor(weights, fast=True, threads=1)  # the cached graph, no model built
    assert cold.plan.name == warm.plan.name == "onnx-fp32" and warm.plan.reason.endswith("graph from the cache")
    config = resolve_tracker_config(warm.config, read_header(weights).tracker)
    assert config.window_power == 4.0  # the demo weights' window, applied by both paths
    _, frames, box = clip

    def run(predictor):
        tracker = Tracker(predictor, config)
        tracker.init(frames[0], box)
        results = [tracker.track(frame) for frame in frames[1:]]
        return tracker, np.array([r.box for r in results]), np.array([r.tokens for r in results])

    free, free_boxes, free_tokens = run(warm)
    assert isinstance(free.state.targets[0].templates, np.ndarray)  # the torch-free state
    recorder = RecordingPredictor(cold)  # no generate_arrays: torch crops, the torch ONNX path
    torch_path, torch_boxes, torch_tokens = run(recorder)
    assert isinstance(torch_path.state.targets[0].templates, torch.Tensor)
    np.testing.assert_array_equal(free_boxes, torch_boxes)
    np.testing.assert_array_equal(free_tokens, torch_tokens)
    eager = load_model(weights)  # open loop on the same crops, as the other --fast tests
    np.testing.assert_array_equal(replay(eager, recorder.calls), torch_tokens)
    call = recorder.calls[-1]
    torch.testing.assert_close(
        cold.generate(call.templates, call.search, window=call.window)[1],
        eager.generate(call.templates, call.search, window=call.window)[1],
        rtol=1e-4,
        atol=1e-6,
    )
