"""``seqtrack bench`` and ``python -m seqtrack.bench`` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

from seqtrack.cli import main


def _strings(value):
    """Every string inside a JSON value."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def test_bench_quick_writes_json_and_table(tmp_path, capsys):
    assert main(["bench", "--quick", "--out-dir", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "speed.json").read_text())
    labels = [r["label"] for r in data["results"]]
    assert labels[:2] == ["torch fp32", "onnxruntime fp32"]
    for row in data["results"]:
        assert row["error"] is None, row
        assert row["fps"] > 0 and row["peak_rss_mib"] > 50 and len(row["latencies_ms"]) >= 1
    reference = data["results"][0]
    assert reference["iou_share"] == 1.0 and reference["token_share"] == 1.0
    assert [r["case"]["targets"] for r in data["scaling"]] == [1, 2]
    assert data["machine"]["torch"] and data["machine"]["threads"] >= 1
    # The out dir and the ONNX files lie outside the repository: only their names are recorded.
    assert data["settings"]["out_dir"] == tmp_path.name
    assert data["results"][1]["case"]["onnx_path"] == "t128.fp32.onnx"
    assert not [s for s in _strings(data) if s.startswith("/")]
    table = (tmp_path / "speed.md").read_text()
    assert "| preset | backend | fps |" in table and "| t128 | onnxruntime fp32 |" in table
    assert "other processes" in table


def test_bench_bad_preset_is_one_line(capsys):
    assert main(["bench", "--presets", "x999"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown model preset 'x999'" in err[0]


def test_bench_is_listed_between_export_and_demo(capsys):
    try:
        main(["--help"])
    except SystemExit:
        pass
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("    ")]
    assert listed.index("export") < listed.index("bench") < listed.index("demo")


def test_python_m_seqtrack_bench_takes_the_same_flags():
    done = subprocess.run(
        [sys.executable, "-m", "seqtrack.bench", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout and "--golden" in done.stdout
