"""`seqtrack.io.debian_packages`: ``apt-get download`` / ``dpkg-deb -x`` behind one runner and one-line errors.

apt is faked (no network); ``dpkg-deb`` runs for real on a tiny package built here when the machine has it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from seqtrack.errors import DatasetError
from seqtrack.io.debian_packages import deb_version, download_deb, find_deb, run_tool, unpack_deb


class FakeApt:
    """``subprocess.run`` for ``apt-get download``: records each call and writes ``writes`` (a file name) into
    the working folder, or fails with ``stderr``."""

    def __init__(self, writes: str | None = None, returncode: int = 0, stderr: bytes = b""):
        self.writes, self.returncode, self.stderr = writes, returncode, stderr
        self.calls: list[tuple[list[str], str | None]] = []

    def __call__(self, command, cwd, capture_output, text):
        assert capture_output and not text
        self.calls.append((list(command), cwd))
        if self.writes:
            (Path(cwd) / self.writes).write_bytes(b"deb")
        return subprocess.CompletedProcess(command, self.returncode, b"", self.stderr)


class FetchError(Exception):
    """A caller's own error class."""


def test_missing_tool_and_other_os_errors_are_one_line():
    with pytest.raises(DatasetError, match=r"^no-such-tool-3f9 not found: no-such-tool-3f9 x needs a Debian"):
        run_tool(["no-such-tool-3f9", "x"])  # the real subprocess.run: the program is missing

    def no_apt(command, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", command[0])

    with pytest.raises(FetchError, match=r"^apt-get not found: apt-get download pkg needs"):
        download_deb("pkg", Path("/nonexistent-folder-for-test"), run=no_apt, error=FetchError)


def test_missing_working_folder_is_not_a_missing_tool(tmp_path):
    # subprocess reports a missing cwd as FileNotFoundError too: the message must name the folder
    gone = tmp_path / "gone"
    with pytest.raises(DatasetError, match=r"cannot run ls \(No such file or directory: .*gone\)") as info:
        run_tool(["ls"], cwd=gone)
    assert "not found" not in str(info.value)


def test_failure_keeps_the_last_line_that_is_not_apt_chatter(tmp_path):
    stderr = b"Reading package lists...\nE: Unable to locate package pkg\nW: some warning\nN: a notice\n\n"
    apt = FakeApt(returncode=100, stderr=stderr)
    with pytest.raises(DatasetError) as info:
        download_deb("pkg", tmp_path, run=apt)
    assert str(info.value) == "apt-get download pkg failed: E: Unable to locate package pkg"
    with pytest.raises(DatasetError, match=r"^apt-get download pkg failed: exit status 100$"):
        download_deb("pkg", tmp_path, run=FakeApt(returncode=100, stderr=b"W: only a warning\n"))
    evil = FakeApt(returncode=1, stderr="E: bad \x1b[2J\u202e name\n".encode())
    with pytest.raises(DatasetError) as info:
        download_deb("pkg", tmp_path, run=evil)
    assert str(info.value) == "apt-get download pkg failed: E: bad \\x1b[2J\\u202e name"


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("E: Failed to fetch http://deb.debian.org/x.deb  Temporary failure resolving 'deb.debian.org'", True),
        ("E: Failed to fetch http://deb.debian.org/x.deb  Could not connect to deb.debian.org:80", True),
        ("E: Can't find a source to download version '1' of 'pkg'", False),
    ],
)
def test_no_network_hint(tmp_path, line, hint):
    apt = FakeApt(returncode=100, stderr=f"{line}\nW: Some index files failed to download\n".encode())
    with pytest.raises(DatasetError) as info:
        download_deb("pkg", tmp_path, "1", run=apt)
    assert str(info.value) == f"apt-get download pkg=1 failed: {line}" + (" (no network?)" if hint else "")


def test_pinned_download_with_an_epoch_finds_the_quoted_file_name(tmp_path):
    apt = FakeApt(writes="pkg_2%3a1.0-3_amd64.deb")
    deb = download_deb("pkg", tmp_path / "debs", "2:1.0-3", run=apt)
    assert deb == tmp_path / "debs" / "pkg_2%3a1.0-3_amd64.deb"
    assert apt.calls == [(["apt-get", "download", "pkg=2:1.0-3"], str(tmp_path / "debs"))]
    assert deb_version(deb) == "2:1.0-3" and deb_version(Path("pkg_1.0-2_all.deb")) == "1.0-2"
    assert download_deb("pkg", tmp_path / "debs", "2:1.0-3", run=apt) == deb
    assert len(apt.calls) == 1  # in the folder already: not downloaded again


def test_version_pin_picks_its_own_deb(tmp_path):
    for name in ("pkg_1.0_all.deb", "pkg_2.0_all.deb", "pkg-extra_1.0_all.deb", "pkg_1.0_all.txt"):
        (tmp_path / name).write_bytes(b"")
    assert find_deb("pkg", tmp_path, "2.0") == tmp_path / "pkg_2.0_all.deb"
    assert find_deb("pkg", tmp_path, "1.0") == tmp_path / "pkg_1.0_all.deb"
    assert find_deb("pkg", tmp_path) == tmp_path / "pkg_1.0_all.deb"  # unpinned: the first in name order
    assert find_deb("pkg", tmp_path, "3.0") is None and find_deb("pkg-extra", tmp_path, "2.0") is None
    apt = FakeApt(writes="pkg_3.0_all.deb")
    assert download_deb("pkg", tmp_path, "3.0", run=apt) == tmp_path / "pkg_3.0_all.deb"
    assert apt.calls == [(["apt-get", "download", "pkg=3.0"], str(tmp_path))]


def test_a_download_that_leaves_no_deb_and_bad_names_are_errors(tmp_path):
    def prefixed(message: str) -> DatasetError:
        return DatasetError(f"package pkg: {message}")

    apt = FakeApt(writes="other_1.0_all.deb")
    with pytest.raises(DatasetError, match=r"^package pkg: apt-get download pkg=1.0 left no pkg_\*\.deb in "):
        download_deb("pkg", tmp_path, "1.0", run=apt, error=prefixed)
    for package, version in [("-oDebug::pkgAcquire=1", None), ("Pkg", None), ("pkg", "-1"), ("pkg", "1 2")]:
        with pytest.raises(FetchError, match="not a Debian"):
            download_deb(package, tmp_path, version, run=apt, error=FetchError)
    assert len(apt.calls) == 1  # only the first, well-formed request reached apt-get


def test_unpack_passes_the_deb_and_target_and_names_the_deb_on_failure(tmp_path):
    calls = []

    def fake(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(
            command, 2, b"", b"dpkg-deb: error: 'x.deb' is not a Debian format archive\n"
        )

    with pytest.raises(FetchError) as info:
        unpack_deb(tmp_path / "x.deb", tmp_path / "root", run=fake, error=FetchError)
    assert calls == [["dpkg-deb", "-x", str(tmp_path / "x.deb"), str(tmp_path / "root")]]
    assert str(info.value) == "dpkg-deb -x x.deb failed: dpkg-deb: error: 'x.deb' is not a Debian format archive"


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb (Debian or Ubuntu)")
def test_unpack_a_real_package(tmp_path):
    tree = tmp_path / "tree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        "Package: tiny\nVersion: 1:0.1-1\nArchitecture: all\nMaintainer: Test <t@example.org>\nDescription: t\n"
    )
    (tree / "usr/share/tiny").mkdir(parents=True)
    (tree / "usr/share/tiny/photo.jpg").write_bytes(b"photo bytes")
    deb = tmp_path / "tiny_1%3a0.1-1_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(tree), str(deb)], check=True)
    assert find_deb("tiny", tmp_path, "1:0.1-1") == deb and deb_version(deb) == "1:0.1-1"
    root = unpack_deb(deb, tmp_path / "root")
    assert (root / "usr/share/tiny/photo.jpg").read_bytes() == b"photo bytes"
    assert not (root / "DEBIAN").exists()  # the file tree only, not the control files
    (tmp_path / "broken_1_all.deb").write_bytes(b"not an archive")
    with pytest.raises(DatasetError, match=r"^dpkg-deb -x broken_1_all.deb failed: dpkg-deb"):
        unpack_deb(tmp_path / "broken_1_all.deb", tmp_path / "root2")
