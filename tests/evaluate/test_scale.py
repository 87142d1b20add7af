"""Scaling `seqtrack eval` out: ranks of a torchrun launch, workers on several devices, and the shares of a
benchmark that ranks take (their files must equal those of a one-process run)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from seqtrack.cli import main
from seqtrack.data.sequence import Sequence
from seqtrack.errors import InputError
from seqtrack.evaluate.benchmarks import get_benchmark
from seqtrack.evaluate.runner import RunOptions, run_benchmark, with_preset
from seqtrack.evaluate.scale import Launch, rank_share, remove_share_temp_files, worker_devices
from seqtrack.evaluate.trackers import TrackerSpec

REPO = Path(__file__).resolve().parents[2]


def _sequences(counts: dict[str, int]) -> list[Sequence]:
    return [Sequence(name, [Path(f"{i}.jpg") for i in range(n)], np.zeros((n, 4))) for name, n in counts.items()]


def test_rank_shares_are_disjoint_complete_balanced_and_order_free():
    counts = {f"seq{i}": n for i, n in enumerate([1200, 9000, 3000, 3000, 450, 7000, 2500, 11000, 800, 5000])}
    sequences = _sequences(counts)
    shares = [rank_share(sequences, rank, 3) for rank in range(3)]
    names = [s.name for share in shares for s in share]
    assert sorted(names) == sorted(counts)  # every sequence, once
    loads = [sum(len(s.frames) for s in share) for share in shares]
    assert max(loads) - min(loads) <= max(counts.values())  # greedy by frames: no rank far behind
    assert [s.name for s in shares[0]] == [s.name for s in sequences if s in shares[0]]  # the run's order
    shuffled = list(reversed(sequences))
    for rank in range(3):  # each rank sees the same benchmark, whatever order it lists it in
        assert {s.name for s in rank_share(shuffled, rank, 3)} == {s.name for s in shares[rank]}
    assert rank_share(sequences[:1], 1, 2) == []  # more ranks than sequences: some have nothing to do
    with pytest.raises(ValueError):
        rank_share(sequences, 2, 2)


def test_launch_from_the_torchrun_environment():
    assert Launch.from_env({}) == Launch(0, 1, 0, 1) and Launch().prefix == ""
    launch = Launch.from_env({"RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "4"})
    assert launch == Launch(5, 8, 1, 4) and launch.distributed and launch.prefix == "rank 5/8: "
    with pytest.raises(InputError, match="RANK=2 with WORLD_SIZE=2"):
        Launch.from_env({"RANK": "2", "WORLD_SIZE": "2"})
    with pytest.raises(InputError, match="WORLD_SIZE='two': expected a whole number"):
        Launch.from_env({"WORLD_SIZE": "two"})


def test_worker_devices_from_the_flags():
    checked: list[str] = []
    assert worker_devices(None, "cpu, CPU,cpu", check=checked.append) == ["cpu", "cpu", "cpu"]
    assert checked == ["cpu", "CPU"]  # each distinct name once, as given, before it is resolved
    assert worker_devices(None, None) == ["cpu"] and worker_devices("cpu", None) == ["cpu"]
    with pytest.raises(InputError, match="--device and --devices together"):
        worker_devices("cpu", "cpu,cpu")
    with pytest.raises(InputError, match="expected comma-separated device names"):
        worker_devices(None, "cpu,,cpu")
    with pytest.raises(InputError, match="unknown device 'gpu0'"):
        worker_devices(None, "cpu,gpu0")
    with pytest.raises(InputError, match="names one GPU for the 2 processes of this machine"):
        worker_devices("cuda:1", None, Launch(1, 2, 1, 2))
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="^--devices all: device 'cuda': .*; available: cpu"):
            worker_devices(None, "all")
    else:
        assert worker_devices(None, "all") == [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        assert worker_devices("cuda", None, Launch(0, 2, 0, 2)) == ["cuda:0"]  # cuda:<LOCAL_RANK>


def test_device_and_devices_together_is_one_line_before_any_folder(bench_roots, tmp_path, capsys):
    status = main(
        ["eval", "otb", "--root", str(bench_roots["otb"]), "--tracker", "opencv-mil"]
        + ["--results", str(tmp_path / "r"), "--device", "cpu", "--devices", "cpu,cpu", "--no-progress"]
    )
    assert status == 2
    assert capsys.readouterr().err == (
        "seqtrack: error: --device and --devices together: --device is one device, --devices lists several\n"
    )
    assert not (tmp_path / "r").exists()


def test_a_rank_cleans_only_the_temp_files_of_its_own_sequences(bench_roots, tmp_path):
    sequences = get_benchmark("nfs", bench_roots["nfs"]).sequences()
    mine, theirs = sequences[:1], sequences[1:]
    dead = _dead_pid()
    stale = tmp_path / f".{mine[0].name}.txt.{dead}.tmp"
    other = tmp_path / f".{theirs[0].name}.txt.{dead}.tmp"  # perhaps a live writer on another machine
    live = tmp_path / f".{mine[0].name}_time.txt.{os.getpid()}.tmp"  # a live writer on this machine
    for path in (stale, other, live):
        path.write_text("half a file")
    assert remove_share_temp_files(tmp_path, mine, "pytracking") == [stale]
    assert other.exists() and live.exists()


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# --- whole runs: the files must be those of one process --------------------------------------------


@pytest.fixture(scope="module")
def reference(bench_roots, tiny_weights, tmp_path_factory) -> Path:
    """Result files of the tiny network on the OTB fixture, run in this process."""
    benchmark = get_benchmark("otb", bench_roots["otb"])
    results = tmp_path_factory.mktemp("reference") / "otb"
    spec = with_preset(TrackerSpec(weights=str(tiny_weights)), benchmark)
    summary = run_benchmark(spec, benchmark.sequences(), RunOptions(results_dir=results, progress=False))
    assert summary.ok and len(summary.completed) == 4, summary
    return results


def _same_files(results: Path, reference: Path) -> None:
    """The same file names (no temp file left); the same boxes, byte for byte; as many times."""
    names = sorted(p.name for p in reference.iterdir())
    assert sorted(p.name for p in results.iterdir()) == names
    for name in names:
        if name.endswith("_time.txt"):
            assert len((results / name).read_text().splitlines()) == len((reference / name).read_text().splitlines())
        else:
            assert (results / name).read_bytes() == (reference / name).read_bytes(), name


def _env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join([str(REPO / "tests" / "evaluate"), str(REPO / "src"), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", **extra}


def test_workers_on_several_devices_give_the_boxes_of_one_process(bench_roots, tiny_weights, reference, tmp_path):
    results = tmp_path / "r"
    args = ["eval", "otb", "--root", str(bench_roots["otb"]), "--weights", str(tiny_weights)]
    # --devices alone: one worker per device
    assert main([*args, "--results", str(results), "--devices", "cpu,cpu", "--no-progress"]) == 0
    _same_files(results, reference)


def test_torchrun_ranks_write_the_files_of_one_process(bench_roots, tiny_weights, reference, tmp_path):
    results = tmp_path / "r"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    command += ["-m", "seqtrack", "eval", "otb", "--root", str(bench_roots["otb"])]
    command += ["--weights", str(tiny_weights), "--results", str(results), "--no-progress"]
    run = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = sorted(line for line in run.stdout.splitlines() if line.startswith("rank "))
    assert [line.split(" otb: ")[0] for line in lines] == ["rank 0/2:", "rank 1/2:"]
    assert all("2 tracked, 0 already done, 0 failed" in line for line in lines)  # 4 sequences, 2 and 2
    _same_files(results, reference)


def _rank(results: Path, rank: int, delay: float, root: Path) -> subprocess.Popen:
    """``seqtrack eval`` as rank ``rank`` of 2, started alone (as a rank whose partner died would be)."""
    command = [sys.executable, "-m", "seqtrack", "eval", "otb", "--root", str(root), "--results", str(results)]
    command += ["--tracker", "eval_doubles:TemplateTracker", "--option", f"delay={delay}", "--no-progress"]
    env = _env(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE="2")
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_killed_rank_loses_only_its_unfinished_sequence(bench_roots, tmp_path, doubles):
    root, results = bench_roots["otb"], tmp_path / "r"
    benchmark = get_benchmark("otb", root)
    share0 = [s.name for s in rank_share(benchmark.sequences(), 0, 2)]
    rank1 = _rank(results, 1, 0.0, root)
    out, err = rank1.communicate(timeout=60)
    assert rank1.returncode == 0 and "rank 1/2: otb: 2 tracked, 0 already done" in out, err
    kept = {p: p.stat().st_mtime_ns for p in results.iterdir()}
    assert all(p.stem.removesuffix("_time") not in share0 for p in kept)  # rank 1 kept to its share

    rank0 = _rank(results, 0, 0.1, root)  # slow enough to be killed between its two sequences
    deadline = time.monotonic() + 60
    while not (results / f"{share0[0]}.txt").exists() and not (results / f"{share0[1]}.txt").exists():
        assert rank0.poll() is None and time.monotonic() < deadline, rank0.communicate()
        time.sleep(0.02)
    rank0.send_signal(signal.SIGKILL)
    rank0.communicate()
    assert sum((results / f"{name}.txt").exists() for name in share0) == 1, "killed mid-way"

    rerun = _rank(results, 0, 0.0, root)
    out, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0 and "rank 0/2: otb: 1 tracked, 1 already done, 0 failed" in out, err
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in kept.items())  # rank 1's files untouched
    reference = tmp_path / "reference"
    spec = with_preset(TrackerSpec(kind="eval_doubles:TemplateTracker"), benchmark)
    assert run_benchmark(spec, benchmark.sequences(), RunOptions(results_dir=reference, progress=False)).ok
    _same_files(results, reference)
