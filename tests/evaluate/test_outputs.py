"""Where ``eval``, ``report`` and ``pack`` write: a destination that cannot be written is refused before any
work, an output that is an input is refused, and a full disk is one error line that leaves no temporary
file and keeps what was written before whole (issue 18)."""

from __future__ import annotations

import os
import shutil

import pytest

from seqtrack.cli import main
from seqtrack.evaluate.benchmarks import get_benchmark
from seqtrack.evaluate.fixtures import FixtureSpec, ground_truth, write_benchmark
from seqtrack.evaluate.results import _TEMP_NAME, remove_stale_temp_files
from seqtrack.io.files import temporary_path


def _one_error(capsys, *expected: str) -> str:
    """The single ``seqtrack: error:`` line on stderr (no traceback), checked to contain ``expected``."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("note: ")]
    assert len(lines) == 1 and lines[0].startswith("seqtrack: error: "), err
    assert "Traceback" not in err and all(text in lines[0] for text in expected), err
    return lines[0]


def _eval(bench_roots, results, *extra: str) -> int:
    return main(
        ["eval", "nfs", "--root", str(bench_roots["nfs"]), "--tracker", "eval_doubles:StillTracker"]
        + ["--results", str(results), "--no-progress", *extra]
    )


def hidden_files(folder) -> list:
    """Temporary (hidden) files left anywhere under ``folder``."""
    return sorted(folder.rglob(".*"))


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# --- eval -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["a file", "a long name", "read-only"])
def test_eval_refuses_an_unwritable_results_folder_first(bench_roots, tmp_path, doubles, capsys, monkeypatch, case):
    target = tmp_path / "results"
    if case == "a file":
        target.write_text("mine")
    elif case == "a long name":
        target = tmp_path / ("r" * 300)
    else:  # as root, permissions do not stop writes: the check asks the OS (os.access), so ask it to say no
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(tmp_path) else real_access(p, mode))
    assert _eval(bench_roots, target) == 2
    expected = {"a file": "is a file; expected a folder", "a long name": "longer than 255 bytes"}
    _one_error(capsys, "--results", expected.get(case, "cannot write in"))
    assert sorted(p.name for p in tmp_path.iterdir()) == (["results"] if case == "a file" else [])
    if case == "a file":
        assert target.read_text() == "mine"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_eval_with_unreadable_weights_makes_no_results_folder(bench_roots, tmp_path, capsys, workers):
    weights = tmp_path / "broken.safetensors"
    weights.write_bytes(b"not weights at all")
    status = main(
        ["eval", "nfs", "--root", str(bench_roots["nfs"]), "--weights", str(weights)]
        + ["--results", str(tmp_path / "r"), "--workers", workers, "--no-progress"]
    )
    assert status == 2
    _one_error(capsys, "broken.safetensors is not a weights file")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("device, message", [("foo", "unknown device 'foo'"), ("cuda:99", "device 'cuda:99'")])
def test_eval_with_a_device_that_does_not_exist_is_one_line(
    bench_roots, tiny_weights, tmp_path, capsys, device, message
):
    status = main(
        ["eval", "nfs", "--root", str(bench_roots["nfs"]), "--weights", str(tiny_weights)]
        + ["--results", str(tmp_path / "r"), "--device", device, "--no-progress"]
    )
    assert status == 2
    _one_error(capsys, message, "available: cpu")
    assert not (tmp_path / "r").exists()


def test_eval_full_disk_stops_the_run_and_keeps_what_was_written(bench_roots, tmp_path, doubles, capsys, full_disk):
    results = tmp_path / "r"
    names = get_benchmark("nfs", bench_roots["nfs"]).names()
    full_disk(str(results), after=2)  # the first sequence's two files fit, then the disk is full
    assert _eval(bench_roots, results) == 2
    _one_error(capsys, "could not write result file", "No space left on device")
    assert sorted(p.name for p in results.iterdir()) == [f"{names[0]}.txt", f"{names[0]}_time.txt"]
    assert len((results / f"{names[0]}.txt").read_text().splitlines()) == 12  # whole
    # Space again: the re-run keeps the first sequence and does the others.
    full_disk("no file has this name")
    assert _eval(bench_roots, results) == 0
    assert "2 tracked, 1 already done, 0 failed" in capsys.readouterr().out
    assert hidden_files(results) == []


def test_a_worker_that_cannot_write_stops_the_run(bench_roots, tmp_path, doubles, capsys):
    results = tmp_path / "r"
    name = get_benchmark("nfs", bench_roots["nfs"]).names()[1]
    (results / f"{name}.txt").mkdir(parents=True)  # the rename onto it fails, in the worker process
    assert _eval(bench_roots, results, "--workers", "2") == 2
    _one_error(capsys, f"could not write result file {results / name}.txt")
    assert hidden_files(results) == []


def test_stale_temp_files_match_the_shared_writer(tmp_path):
    """`remove_stale_temp_files` must recognise the temporary files of `seqtrack.io.files.atomic_path`."""
    target = tmp_path / "seq.txt"
    assert _TEMP_NAME.match(temporary_path(target).name)
    dead = target.with_name(temporary_path(target).name.replace(str(os.getpid()), str(_dead_pid())))
    dead.write_text("half a file")
    live = temporary_path(target)  # this process: may be writing right now
    live.write_text("being written")
    assert remove_stale_temp_files(tmp_path) == [dead]
    assert live.exists()


def test_long_generated_videos_stay_inside_the_image(tmp_path):
    spec = FixtureSpec(n_sequences=3, n_frames=200, height=96)
    root = write_benchmark("lasot", tmp_path / "lasot", spec)
    for seq in get_benchmark("lasot", root).sequences():
        assert len(seq.frames) == 200
        x, y, w, h = seq.boxes.T
        assert (x >= 0).all() and (y >= 0).all() and (x + w <= 128).all() and (y + h <= 96).all()
    # The default benchmark is unchanged: its boxes never reach the image border.
    assert ground_truth(2, FixtureSpec())[-1].tolist() == [75.0, 18.0, 38.0, 30.0]


# --- report -----------------------------------------------------------------------------------------------


@pytest.fixture
def run_dir(bench_roots, tmp_path, doubles):
    """Results of the still tracker on the generated NfS (a copy the test may break)."""
    results = tmp_path / "res"
    assert _eval(bench_roots, results) == 0
    return results


def _report(bench_roots, run_dir, *extra: str) -> int:
    return main(["report", str(run_dir), "--benchmark", "nfs", "--root", str(bench_roots["nfs"]), *extra])


def test_report_refuses_to_overwrite_what_it_reads(bench_roots, run_dir, tmp_path, capsys):
    name = get_benchmark("nfs", bench_roots["nfs"]).names()[0]
    result = run_dir / f"{name}.txt"
    before = result.read_bytes()
    assert _report(bench_roots, run_dir, "--json", str(result)) == 2
    _one_error(capsys, f"--json {result} is a result file of res ({name}.txt): it would be overwritten")
    assert result.read_bytes() == before
    annotations = bench_roots["nfs"] / name / "30" / f"{name}_pytracking.txt"
    assert _report(bench_roots, run_dir, "--json", str(annotations)) == 2
    _one_error(capsys, "is a file of the NfS-30 dataset: it would be overwritten")


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--json", "{tmp}"], "--json {tmp} is a folder; expected a file"),
        (["--plots", "{tmp}/res/{seq}.txt"], "is a file; expected a folder"),
        (["--json", "{tmp}/x", "--plots", "{tmp}/x"], "--json and --plots name the same file"),
        (["--json", "{tmp}/" + "j" * 300], "longer than 255 bytes"),
        (["--json", "{tmp}/res/{seq}.txt/r.json"], "is a file, not a folder"),
    ],
)
def test_report_refuses_unwritable_outputs_before_scoring(bench_roots, run_dir, tmp_path, capsys, flags, message):
    seq = get_benchmark("nfs", bench_roots["nfs"]).names()[0]
    values = {"tmp": tmp_path, "seq": seq}
    assert _report(bench_roots, run_dir, *[f.format(**values) for f in flags]) == 2
    err = _one_error(capsys, message.format(**values))
    assert "AUC" not in err


def test_report_full_disk_keeps_the_previous_outputs(bench_roots, run_dir, tmp_path, capsys, full_disk):
    out = tmp_path / "out"
    assert _report(bench_roots, run_dir, "--json", str(out / "r.json"), "--plots", str(out / "plots")) == 0
    capsys.readouterr()
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert len(before) == 7
    full_disk("r.json")
    assert _report(bench_roots, run_dir, "--json", str(out / "r.json")) == 2
    _one_error(capsys, f"could not write --json {out / 'r.json'}: No space left on device")
    full_disk("precision_plot.pdf")  # the fourth file of six: three are rewritten, then the disk is full
    assert _report(bench_roots, run_dir, "--plots", str(out / "plots")) == 2
    _one_error(capsys, "could not write plot", "precision_plot.pdf: No space left on device")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}.keys() == before.keys()
    assert (out / "r.json").read_bytes() == before[out / "r.json"]
    assert hidden_files(out) == []


# --- pack -------------------------------------------------------------------------------------------------


@pytest.fixture
def test_results(bench_roots, tmp_path, doubles):
    """GOT-10k test results of the still tracker (3 sequences)."""
    results = tmp_path / "got"
    status = main(
        ["eval", "got10k_test", "--root", str(bench_roots["got10k_test"]), "--tracker", "eval_doubles:StillTracker"]
        + ["--results", str(results), "--no-progress"]
    )
    assert status == 0
    return results


def _pack(results, out) -> int:
    return main(["pack", "got10k", str(results), "--out", str(out), "--allow-incomplete"])


def test_pack_refuses_an_archive_that_is_a_result_file(test_results, tmp_path, capsys):
    result = next(test_results.rglob("*_001.txt"))
    before = result.read_bytes()
    link = tmp_path / "submit.zip"
    link.symlink_to(result)
    assert _pack(test_results, link) == 2
    _one_error(capsys, f"--out {link} is the result file of {result.parent.name}: it would be overwritten")
    assert result.read_bytes() == before
    (tmp_path / "folder.zip").mkdir()
    assert _pack(test_results, tmp_path / "folder.zip") == 2
    _one_error(capsys, "is a folder; expected a file")


def test_pack_full_disk_keeps_the_previous_archive(test_results, tmp_path, capsys, full_disk):
    out = tmp_path / "submit.zip"
    assert _pack(test_results, out) == 0
    before = out.read_bytes()
    shutil.rmtree(next(p for p in test_results.iterdir() if p.is_dir()))  # a different archive this time
    full_disk("submit.zip")
    assert _pack(test_results, out) == 2
    _one_error(capsys, f"could not write --out {out}: No space left on device")
    assert out.read_bytes() == before
    assert hidden_files(tmp_path) == []
