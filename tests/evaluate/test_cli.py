"""`seqtrack eval` on the command line: help, clear one-line errors, exit status on failures."""

from __future__ import annotations

import subprocess
import sys

import pytest

from seqtrack.cli import build_parser, main
from seqtrack.evaluate.benchmarks import get_benchmark


def test_help_lists_benchmarks(capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["eval", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "lasot, lasot_ext, got10k_test" in text and "--workers" in text and "module:callable" in text
    # the run flags of `seqtrack track`, with the per-worker default of --threads
    assert all(flag in text for flag in ("--backend", "--dtype", "--compile", "--quantize", "--device"))
    assert "intra-op CPU threads of each worker process (default: 1 on the CPU" in " ".join(text.split())


def test_building_the_parser_does_not_load_torch():
    # `seqtrack --help` and usage errors should answer at once, not after importing torch (~2 s).
    code = "import sys; from seqtrack.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False", result.stderr


def test_unknown_benchmark_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        main(["eval", "kitti", "--root", "."])
    assert "unknown benchmark 'kitti'" in capsys.readouterr().err


def test_errors_are_one_line(tmp_path, capsys, bench_roots):
    assert main(["eval", "otb", "--root", str(tmp_path / "missing"), "--tracker", "opencv-mil"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("seqtrack: error: missing OTB-100 root folder")
    assert main(["eval", "otb", "--root", str(bench_roots["otb"])]) == 2
    assert "--weights" in capsys.readouterr().err
    assert main(["eval", "otb", "--root", str(bench_roots["otb"]), "--weights", str(tmp_path / "w.pth")]) == 2
    assert f"weights file not found: {tmp_path / 'w.pth'}\n" in capsys.readouterr().err
    assert main(["eval", "otb", "--root", str(bench_roots["otb"]), "--tracker", "opencv-mil", "--option", "x"]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err


def test_eval_with_failures_exits_nonzero(bench_roots, tmp_path, doubles, capsys):
    seqs = get_benchmark("nfs", bench_roots["nfs"]).sequences()
    x = seqs[0].boxes[0, 0]
    status = main(
        [
            "eval",
            "nfs",
            "--root",
            str(bench_roots["nfs"]),
            "--tracker",
            "eval_doubles:StillTracker",
            "--option",
            f"fail_on_x={x}",
            "--sequences",
            f"{seqs[0].name},{seqs[2].name}",
            "--results",
            str(tmp_path / "r"),
            "--no-progress",
        ]
    )
    assert status == 1
    captured = capsys.readouterr()
    assert "1 tracked, 0 already done, 1 failed" in captured.out
    assert f"failed {seqs[0].name}: RuntimeError: deliberate failure" in captured.err
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [f"{seqs[2].name}.txt", f"{seqs[2].name}_time.txt"]


def test_default_results_folder_and_preset(bench_roots, tmp_path, doubles, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "eval",
                "vot",
                "--root",
                str(bench_roots["vot"]),
                "--tracker",
                "eval_doubles:make_still",
                "--sequences",
                "vot_fixture0",
                "--no-progress",
            ]
        )
        == 0
    )
    assert "updates preset 'vot20'" in capsys.readouterr().out
    assert (tmp_path / "runs" / "make_still" / "vot" / "vot_fixture0.txt").is_file()


def test_run_flags_belong_to_the_seqtrack_tracker(bench_roots, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "eval",
                "otb",
                "--root",
                str(bench_roots["otb"]),
                "--tracker",
                "opencv-mil",
                "--backend",
                "onnxruntime",
                "--threads",
                "2",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err == (
        "seqtrack: error: tracker 'opencv-mil' does not take --backend --threads (they run the seqtrack network)\n"
    )
    assert list(tmp_path.iterdir()) == []
