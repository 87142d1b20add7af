"""Submission archives: GOT-10k server layout and TrackingNet flat zip."""

from __future__ import annotations

import zipfile

import pytest

from seqtrack.cli import main
from seqtrack.errors import InputError
from seqtrack.evaluate.benchmarks import get_benchmark
from seqtrack.evaluate.runner import RunOptions, run_benchmark
from seqtrack.evaluate.submission import pack_got10k, pack_trackingnet
from seqtrack.evaluate.trackers import TrackerSpec


def _eval(benchmark, results):
    summary = run_benchmark(
        TrackerSpec(kind="eval_doubles:TemplateTracker"),
        benchmark.sequences(),
        RunOptions(results_dir=results, layout=benchmark.info.layout, progress=False),
    )
    assert summary.ok


def test_pack_got10k_server_layout(bench_roots, tmp_path, doubles, capsys):
    benchmark = get_benchmark("got10k_test", bench_roots["got10k_test"])
    _eval(benchmark, tmp_path / "r")
    out = tmp_path / "got10k_submit.zip"
    assert main(["pack", "got10k", str(tmp_path / "r"), "--root", str(benchmark.root), "--out", str(out)]) == 0
    assert "3 sequences" in capsys.readouterr().out
    names = benchmark.names()
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == sorted(
            [f"{n}/{n}_001.txt" for n in names] + [f"{n}/{n}_time.txt" for n in names]
        )
        first = archive.read(f"{names[0]}/{names[0]}_001.txt").decode().splitlines()
        assert len(first) == 12 and first[0].count(",") == 3
        assert first[0] == (tmp_path / "r" / names[0] / f"{names[0]}_001.txt").read_text().splitlines()[0]
    integer = pack_got10k(tmp_path / "r", tmp_path / "int.zip", benchmark=benchmark, integer=True)
    with zipfile.ZipFile(integer.path) as archive:
        assert "." not in archive.read(f"{names[0]}/{names[0]}_001.txt").decode()


def test_pack_trackingnet_flat(bench_roots, tmp_path, doubles):
    benchmark = get_benchmark("trackingnet", bench_roots["trackingnet"])
    _eval(benchmark, tmp_path / "r")
    summary = pack_trackingnet(tmp_path / "r", tmp_path / "tn.zip", benchmark=benchmark)
    with zipfile.ZipFile(summary.path) as archive:
        assert sorted(archive.namelist()) == [f"{n}.txt" for n in sorted(benchmark.names())]
        assert "\t" not in archive.read(archive.namelist()[0]).decode()


def test_pack_refuses_incomplete(bench_roots, tmp_path, doubles, capsys):
    benchmark = get_benchmark("trackingnet", bench_roots["trackingnet"])
    _eval(benchmark, tmp_path / "r")
    with pytest.raises(InputError, match="the test set has 511"):
        pack_trackingnet(tmp_path / "r", tmp_path / "tn.zip")
    assert pack_trackingnet(tmp_path / "r", tmp_path / "tn.zip", allow_incomplete=True).sequences
    (tmp_path / "r" / f"{benchmark.names()[0]}.txt").unlink()
    assert (
        main(
            [
                "pack",
                "trackingnet",
                str(tmp_path / "r"),
                "--root",
                str(benchmark.root),
                "--out",
                str(tmp_path / "x.zip"),
            ]
        )
        == 2
    )
    assert "1 of 3 sequences have no result" in capsys.readouterr().err
    assert main(["pack", "trackingnet", str(tmp_path / "r"), "--out", str(tmp_path / "x.txt")]) == 2
