"""The runner: result layouts, resume, failures, workers, and a SIGKILL in the middle of a run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from seqtrack.errors import InputError
from seqtrack.evaluate.benchmarks import get_benchmark
from seqtrack.evaluate.results import read_numbers, result_paths
from seqtrack.evaluate.runner import RunOptions, run_benchmark, worker_spec
from seqtrack.evaluate.trackers import TrackerSpec, build_tracker, check_spec
from seqtrack.runtime.options import PredictorOptions

REPO = Path(__file__).resolve().parents[2]


def _run(bench_roots, name, results, kind="eval_doubles:TemplateTracker", workers=1, **options):
    benchmark = get_benchmark(name, bench_roots[name])
    run_options = RunOptions(
        results_dir=results, layout=benchmark.info.layout, workers=workers, progress=False, **options
    )
    return benchmark, run_benchmark(TrackerSpec(kind=kind), benchmark.sequences(), run_options)


def test_pytracking_layout_full_precision_and_resume(bench_roots, tmp_path, doubles):
    benchmark, summary = _run(bench_roots, "otb", tmp_path / "r")
    assert summary.ok and len(summary.completed) == 4 and not summary.skipped
    seq = benchmark.sequences()[0]
    boxes_path, time_path = result_paths(tmp_path / "r", seq.name, "pytracking")
    lines = boxes_path.read_text().splitlines()
    assert len(lines) == len(seq.frames) and "\t" in lines[0]
    boxes = read_numbers(boxes_path, columns=4)
    np.testing.assert_array_equal(boxes[0], seq.boxes[0])  # first line = init box
    assert (boxes[1:, :2] % 1 != 0).all()  # fractional values kept (x + 0.25, y + 0.5)
    assert len(read_numbers(time_path)) == len(seq.frames)
    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "r").iterdir()}
    again = run_benchmark(
        TrackerSpec(kind="eval_doubles:TemplateTracker"),
        benchmark.sequences(),
        RunOptions(results_dir=tmp_path / "r", progress=False),
    )
    assert again.skipped == [s.name for s in benchmark.sequences()] and not again.completed
    assert mtimes == {p: p.stat().st_mtime_ns for p in (tmp_path / "r").iterdir()}


def test_got10k_layout_and_integer_boxes(bench_roots, tmp_path, doubles):
    benchmark, summary = _run(bench_roots, "got10k_test", tmp_path / "r", integer_boxes=True)
    assert summary.ok
    name = benchmark.names()[0]
    first = (tmp_path / "r" / name / f"{name}_001.txt").read_text().splitlines()
    assert len(first) == 12 and all("," in line and "." not in line for line in first)
    assert (tmp_path / "r" / name / f"{name}_time.txt").is_file()


def test_incomplete_file_is_recomputed(bench_roots, tmp_path, doubles):
    benchmark, _ = _run(bench_roots, "nfs", tmp_path / "r")
    name = benchmark.names()[1]
    path = tmp_path / "r" / f"{name}.txt"
    full = path.read_text()
    path.write_text("".join(full.splitlines(keepends=True)[:5]))  # e.g. a file written by another tool, cut short
    _, summary = _run(bench_roots, "nfs", tmp_path / "r")
    assert summary.completed == [name]
    assert path.read_text() == full


def test_failing_sequence_does_not_stop_the_run(bench_roots, tmp_path, doubles):
    benchmark = get_benchmark("tnl2k", bench_roots["tnl2k"])
    seqs = benchmark.sequences()
    spec = TrackerSpec(kind="eval_doubles:StillTracker", options={"fail_on_x": float(seqs[1].boxes[0, 0])})
    summary = run_benchmark(spec, seqs, RunOptions(results_dir=tmp_path / "r", progress=False))
    assert list(summary.failed) == [seqs[1].name]
    assert "deliberate failure" in summary.failed[seqs[1].name]
    assert summary.completed == [seqs[0].name, seqs[2].name]
    assert not (tmp_path / "r" / f"{seqs[1].name}.txt").exists()


def test_unreadable_frame_fails_only_its_sequence(bench_roots, tmp_path, doubles):
    root = tmp_path / "otb"
    import shutil

    shutil.copytree(bench_roots["otb"], root)
    bad = root / "Fixture1" / "img" / "0003.jpg"
    bad.write_bytes(b"not a jpeg")
    benchmark = get_benchmark("otb", root)
    summary = run_benchmark(
        TrackerSpec(kind="eval_doubles:StillTracker"),
        benchmark.sequences(),
        RunOptions(results_dir=tmp_path / "r", progress=False),
    )
    assert list(summary.failed) == ["Fixture1"] and str(bad) in summary.failed["Fixture1"]
    assert len(summary.completed) == 3


def test_tracker_specs(doubles):
    tracker = build_tracker(
        TrackerSpec(kind="eval_doubles:make_still", weights="w.pth", updates="lasot", options={"delay": 0.0})
    )
    assert tracker.updates == "lasot"  # factory received only the keywords it accepts
    with pytest.raises(InputError, match="no attribute 'Nope'"):
        check_spec(TrackerSpec(kind="eval_doubles:Nope"))
    with pytest.raises(InputError, match="cannot import module"):
        check_spec(TrackerSpec(kind="no_such_module_xyz:Tracker"))
    with pytest.raises(InputError, match="--weights"):
        check_spec(TrackerSpec(kind="seqtrack"))
    with pytest.raises(InputError, match="unknown tracker"):
        check_spec(TrackerSpec(kind="kcf"))
    with pytest.raises(InputError, match="does not take --fast --cuda-graphs"):
        check_spec(TrackerSpec(kind="opencv-mil", predictor=PredictorOptions(fast=True, cuda_graphs=True)))
    assert TrackerSpec(kind="seqtrack", weights="/w/SEQTRACK_ep0500.pth.tar").label == "seqtrack-SEQTRACK_ep0500"


@pytest.mark.parametrize(("local_world_size", "alone"), [(None, True), ("1", True), ("2", False)])
def test_one_process_alone_on_its_machine_builds_an_alone_tracker(
    bench_roots, tmp_path, doubles, monkeypatch, local_world_size, alone
):
    """In-process runs let the network take the free cores, unless other ranks of a launch share the machine."""
    import seqtrack.evaluate.runner as runner

    built = []
    monkeypatch.setattr(runner, "build_tracker", lambda spec: built.append(spec) or build_tracker(spec))
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    if local_world_size is not None:
        monkeypatch.setenv("LOCAL_WORLD_SIZE", local_world_size)
    _run(bench_roots, "otb", tmp_path / "r")
    assert [spec.alone for spec in built] == [alone]


def test_workers_take_the_devices_round_robin(tmp_path):
    spec = TrackerSpec(kind="seqtrack", weights="w.pth", device="cpu")
    options = RunOptions(results_dir=tmp_path, workers=5, devices=("cuda:0", "cuda:1"))
    assert [worker_spec(spec, options, k).device for k in range(5)] == ["cuda:0", "cuda:1"] * 2 + ["cuda:0"]
    assert worker_spec(spec, options, 1) == TrackerSpec(kind="seqtrack", weights="w.pth", device="cuda:1")
    assert worker_spec(spec, RunOptions(results_dir=tmp_path), 3) is spec  # no --devices: the spec's own


def test_opencv_mil_adapter(bench_roots, tmp_path):
    benchmark = get_benchmark("vot", bench_roots["vot"])
    summary = run_benchmark(
        TrackerSpec(kind="opencv-mil"),
        benchmark.sequences()[:1],
        RunOptions(results_dir=tmp_path / "r", progress=False),
    )
    assert summary.ok, summary.failed


def _eval_command(root: Path, results: Path, delay: float, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "seqtrack",
        "eval",
        "otb",
        "--root",
        str(root),
        "--results",
        str(results),
        "--tracker",
        "eval_doubles:TemplateTracker",
        "--option",
        f"delay={delay}",
        "--workers",
        str(workers),
        "--no-progress",
    ]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_sigkill_mid_run_then_resume(bench_roots, tmp_path, doubles):
    """Kill `seqtrack eval` (2 worker processes) while it runs; the re-run must not redo finished
    sequences and must end with files identical to an uninterrupted run."""
    root, results = bench_roots["otb"], tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([doubles, str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    total = 4
    process = subprocess.Popen(
        _eval_command(root, results, 0.08, 2), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline:
        workers = _children(process.pid) or workers
        done = [p for p in results.glob("*.txt") if not p.name.endswith("_time.txt")] if results.exists() else []
        if done:
            break
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    else:
        pytest.fail("no sequence finished in time")
    process.send_signal(signal.SIGKILL)
    process.wait()
    # orphaned workers notice that the main process is gone and exit on their own (a worker may still
    # finish, atomically, the sequence it was on: what is on disk is counted once they are gone)
    limit = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < limit:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)
    finished = {p: p.stat().st_mtime_ns for p in results.glob("*.txt")}
    n_boxes = len([p for p in finished if not p.name.endswith("_time.txt")])
    assert 1 <= n_boxes < total, "the run should have been killed mid-way"

    rerun = subprocess.run(_eval_command(root, results, 0.0, 2), env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{total - n_boxes} tracked, {n_boxes} already done" in rerun.stdout
    for path, mtime in finished.items():
        assert path.stat().st_mtime_ns == mtime, f"{path.name} was recomputed"

    reference = tmp_path / "reference"
    _run(bench_roots, "otb", reference)
    names = sorted(p.name for p in reference.iterdir())
    assert sorted(p.name for p in results.iterdir()) == names  # no temp or extra files left
    for name in names:
        if name.endswith("_time.txt"):
            assert len(read_numbers(results / name)) == len(read_numbers(reference / name))
        else:
            assert (results / name).read_text() == (reference / name).read_text()
