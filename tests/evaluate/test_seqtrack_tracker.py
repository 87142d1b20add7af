"""`seqtrack eval` with the real SeqTrack tracker (the tiny seeded model of the ``tiny_weights`` fixture),
on every backend `seqtrack track` runs."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from seqtrack.cli import main
from seqtrack.evaluate.results import read_numbers
from seqtrack.evaluate.trackers import TrackerSpec, build_tracker
from seqtrack.runtime.options import PredictorOptions


def _eval(bench_roots, weights, *flags: str) -> int:
    """``seqtrack eval lasot`` on one sequence of the fixture (default results folder unless flags say)."""
    return main(
        [
            "eval",
            "lasot",
            "--root",
            str(bench_roots["lasot"]),
            "--weights",
            str(weights),
            "--sequences",
            "airplane-1",
            "--no-progress",
            *flags,
        ]
    )


def test_eval_runs_the_real_tracker(bench_roots, tiny_weights, tmp_path, capsys):
    assert _eval(bench_roots, tiny_weights, "--results", str(tmp_path / "r")) == 0
    assert "updates preset 'lasot'" in capsys.readouterr().out
    boxes = read_numbers(tmp_path / "r" / "airplane-1.txt", columns=4)
    assert boxes.shape == (12, 4) and np.isfinite(boxes).all()


def test_backends_write_to_their_own_folders(bench_roots, tiny_weights, tmp_path, monkeypatch, capsys):
    """torch fp32, onnxruntime fp32 and int8 runs land in three folders, none skipped as already done by
    another; onnxruntime fp32 generates the torch run's tokens, so its boxes equal the torch boxes."""
    monkeypatch.chdir(tmp_path)
    runs = {
        "seqtrack-tiny": [],
        "seqtrack-tiny-onnxruntime-fp32": ["--backend", "onnxruntime"],
        "seqtrack-tiny-onnxruntime-int8": ["--backend", "onnxruntime", "--quantize", "int8"],
    }
    for label, flags in runs.items():
        assert _eval(bench_roots, tiny_weights, *flags) == 0
        assert f"1 tracked, 0 already done, 0 failed -> runs/{label}/lasot" in capsys.readouterr().out
    boxes = {label: read_numbers(tmp_path / "runs" / label / "lasot" / "airplane-1.txt", columns=4) for label in runs}
    assert boxes["seqtrack-tiny"].shape == (12, 4)
    np.testing.assert_allclose(boxes["seqtrack-tiny-onnxruntime-fp32"], boxes["seqtrack-tiny"], rtol=0, atol=1e-3)
    assert boxes["seqtrack-tiny-onnxruntime-int8"].shape == (12, 4)
    assert np.isfinite(boxes["seqtrack-tiny-onnxruntime-int8"]).all()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--quantize", "int8"], "--quantize int8 needs --backend onnxruntime"),
        (["--backend", "onnxruntime", "--dtype", "bf16"], "--dtype bf16 and --compile are torch options"),
        (["--threads", "0"], "--threads must be at least 1, got 0"),
        (["--backend", "onnxruntime", "--device", "cuda"], "device 'cuda': this onnxruntime ("),
        (["--backend", "onnxruntime", "--option", "window_power=2"], "--option window_power=2 needs --backend torch"),
        (["--option", "device=cuda"], "--option device=...: use --device instead"),
    ],
)
def test_bad_run_flags_fail_before_any_file(bench_roots, tiny_weights, tmp_path, monkeypatch, capsys, flags, message):
    monkeypatch.chdir(tmp_path)
    assert _eval(bench_roots, tiny_weights, *flags) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("seqtrack: error: ") and message in err, err
    assert list(tmp_path.iterdir()) == []  # no results folder


def test_an_onnx_file_needs_the_onnxruntime_backend(bench_roots, tmp_path, monkeypatch, capsys):
    (tmp_path / "tiny.onnx").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert _eval(bench_roots, tmp_path / "tiny.onnx") == 2
    assert "tiny.onnx is an ONNX file: use --backend onnxruntime" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_the_spec_carries_the_run_options_to_the_workers(tiny_weights):
    """What a spawned worker receives (a pickled spec) builds the backend asked for, one thread by default."""
    spec = TrackerSpec(
        weights=str(tiny_weights), updates="lasot", predictor=PredictorOptions(backend="onnxruntime", quantize="int8")
    )
    received = pickle.loads(pickle.dumps(spec))
    assert received == spec and received.label == "seqtrack-tiny-onnxruntime-int8"
    tracker = build_tracker(received)
    assert tracker.model.precision == "int8"
    assert tracker.model.session.get_session_options().intra_op_num_threads == 1


def test_threads_default_to_one_per_process_on_the_cpu():
    assert TrackerSpec(weights="w.pth").intra_op_threads == 1
    assert TrackerSpec(weights="w.pth", predictor=PredictorOptions(threads=4)).intra_op_threads == 4
    assert TrackerSpec(weights="w.pth", device="cuda:1").intra_op_threads is None  # the library's choice
    assert TrackerSpec(weights="w.pth", device="cuda", predictor=PredictorOptions(threads=2)).intra_op_threads == 2
    # A process alone on its machine takes the free cores (None: chosen when the predictor is made) ...
    assert TrackerSpec(weights="w.pth", alone=True).intra_op_threads is None
    # ... unless told otherwise.
    assert TrackerSpec(weights="w.pth", alone=True, predictor=PredictorOptions(threads=1)).intra_op_threads == 1


def test_labels_name_the_backend_unless_torch_fp32():
    def label(**run) -> str:
        return TrackerSpec(weights="/w/b256.pth.tar", predictor=PredictorOptions(**run)).label

    assert label() == label(threads=3) == "seqtrack-b256"
    assert label(dtype="bf16") == "seqtrack-b256-torch-bf16"
    assert label(dtype="bf16-autocast", compile=True) == "seqtrack-b256-torch-bf16-autocast-compiled"
    assert label(backend="onnxruntime") == "seqtrack-b256-onnxruntime-fp32"
    assert (
        TrackerSpec(weights="b256.onnx", predictor=PredictorOptions(backend="onnxruntime", quantize="int8")).label
        == "seqtrack-b256-onnxruntime-int8"
    )
