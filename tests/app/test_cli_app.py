"""``seqtrack app`` on the command line: it serves the page on 127.0.0.1, warns for an address others can reach,
and refuses bad flags with one line before serving."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from seqtrack.cli import main
from seqtrack.cli.app import exposure_warning


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_command_serves_the_page_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "seqtrack", "app", "--port", str(port), "--videos", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline, info = time.monotonic() + 60, None
        while info is None and time.monotonic() < deadline and process.poll() is None:
            try:
                info = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=2))
            except OSError:
                time.sleep(0.2)
        assert info is not None, process.communicate(timeout=10)
        assert info["weights"] == "demo" and info["videos"] is True
        page = urllib.request.urlopen(f"http://localhost:{port}/", timeout=5).read().decode()
        assert '<canvas id="canvas"' in page
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 143, err
    assert f"open http://127.0.0.1:{port}" in out and "warning" not in err


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_no_warning_for_a_loopback_address(host):
    assert exposure_warning(host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "myhost.example"])
def test_a_warning_for_an_address_others_can_reach(host):
    warning = exposure_warning(host)
    assert warning.startswith(f"warning: serving on {host}: anyone who can reach this machine")


def test_bad_flags_are_one_line(tmp_path, capsys):
    assert main(["app", "--videos", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.strip() == f"seqtrack: error: --videos {tmp_path / 'missing'} is not a folder"
    assert main(["app", "--max-upload-mb", "0"]) == 2
    assert "--max-upload-mb must be > 0" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["app", "--port", str(taken.getsockname()[1])]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seqtrack: error: cannot listen on --host 127.0.0.1") and err.count("\n") == 1
