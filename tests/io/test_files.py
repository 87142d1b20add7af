"""The shared writing helpers: outputs that would destroy inputs, destinations checked up front, atomic
writes and line files that never end in half a line (issue 18)."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from seqtrack.errors import InputError
from seqtrack.io import files
from seqtrack.io.files import (
    LineFile,
    OutputError,
    atomic_write_text,
    check_destination,
    refuse_overlaps,
    temporary_path,
)
from support import FillingFile

HAS_DEV_FULL = Path("/dev/full").exists()


# ------------------------------------------------------------------------------------------------
# refuse_overlaps
# ------------------------------------------------------------------------------------------------


def test_output_equal_to_an_input_is_refused_by_any_spelling(tmp_path, monkeypatch):
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"video")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.mp4").symlink_to(source)
    os.link(source, tmp_path / "hard.mp4")
    monkeypatch.chdir(tmp_path)
    for spelling in ("clip.mp4", tmp_path / "sub" / ".." / "clip.mp4", "link.mp4", "hard.mp4"):
        with pytest.raises(InputError, match=r"^--out .* is the source video: it would be overwritten$"):
            refuse_overlaps({"the source video": source}, {"--out": spelling})
    assert source.read_bytes() == b"video"


def test_two_outputs_naming_one_file_are_refused(tmp_path):
    with pytest.raises(InputError, match=r"^--out and --video-out name the same file \(.*x\.mp4\)$"):
        refuse_overlaps({}, {"--out": tmp_path / "x.mp4", "--video-out": tmp_path / "x.mp4"})


def test_distinct_files_devices_and_missing_entries_pass(tmp_path):
    refuse_overlaps(
        {"the source video": tmp_path / "clip.mp4", "the weights file": None},
        {"--out": tmp_path / "boxes.txt", "--video-out": None, "--log": os.devnull, "--json": os.devnull},
    )


def test_many_inputs_are_checked_in_linear_time(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3000):
        (folder / f"{i}.png").touch()
    inputs = {f"frame {i}": folder / f"{i}.png" for i in range(3000)}
    started = time.perf_counter()
    refuse_overlaps(inputs, {"--out": tmp_path / "boxes.txt", "--video-out": tmp_path / "t.mp4"})
    assert time.perf_counter() - started < 5.0
    with pytest.raises(InputError, match="is frame 2999"):
        refuse_overlaps(inputs, {"--out": folder / "2999.png"})


# ------------------------------------------------------------------------------------------------
# check_destination
# ------------------------------------------------------------------------------------------------


def _deny_writes_under(monkeypatch, folder: Path) -> None:
    """Make ``os.access`` say ``folder`` and what is in it cannot be written (root ignores chmod)."""
    real = os.access

    def access(path, mode, *args, **kwargs):
        inside = Path(path).resolve().is_relative_to(folder.resolve())
        return False if inside and mode & os.W_OK else real(path, mode, *args, **kwargs)

    monkeypatch.setattr(files.os, "access", access)


@pytest.mark.parametrize("how", ["chmod", "access"])
def test_read_only_folder_is_refused(tmp_path, monkeypatch, how):
    folder = tmp_path / "locked"
    folder.mkdir()
    if how == "chmod":
        if os.name != "posix" or os.geteuid() == 0:
            pytest.skip("root writes anywhere; the 'access' case covers the message")
        folder.chmod(0o555)
    else:
        _deny_writes_under(monkeypatch, folder)
    try:
        with pytest.raises(InputError, match=r"cannot write in .*locked \(permission denied or read-only\)"):
            check_destination(folder / "new" / "boxes.txt", "--out")
    finally:
        folder.chmod(0o755)
    assert not (folder / "new").exists()


def test_existing_read_only_file_is_refused(tmp_path, monkeypatch):
    target = tmp_path / "boxes.txt"
    target.write_text("keep\n")
    _deny_writes_under(monkeypatch, target)
    with pytest.raises(InputError, match=r"boxes\.txt is read-only$"):
        check_destination(target, "--out")
    assert target.read_text() == "keep\n"


def test_in_place_writer_needs_only_the_file(tmp_path, monkeypatch):
    folder = tmp_path / "shared"
    folder.mkdir()
    target = folder / "boxes.txt"
    target.touch()
    real = os.access
    monkeypatch.setattr(files.os, "access", lambda p, m, *a, **k: Path(p) != folder and real(p, m, *a, **k))
    assert check_destination(target, "--out", replace=False) == target
    with pytest.raises(InputError, match="cannot write in"):
        check_destination(target, "--out")  # an atomic writer needs to add its temporary file beside it


def test_wrong_kinds_and_long_names_are_refused(tmp_path):
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match=r"adir is a folder; expected a file$"):
        check_destination(tmp_path / "adir", "--out")
    with pytest.raises(InputError, match=r"afile is a file; expected a folder$"):
        check_destination(tmp_path / "afile", "--out-dir", folder=True)
    with pytest.raises(InputError, match=r"afile is a file, not a folder$"):
        check_destination(tmp_path / "afile" / "deeper" / "boxes.txt", "--out")
    with pytest.raises(InputError, match="longer than 255 bytes"):
        check_destination(tmp_path / ("é" * 130 + ".txt"), "--out")  # 264 bytes in UTF-8


def test_missing_parents_are_fine(tmp_path):
    assert check_destination(tmp_path / "a" / "b" / "boxes.txt", "--out") == tmp_path / "a" / "b" / "boxes.txt"
    assert not (tmp_path / "a").exists()  # checked, not created


# ------------------------------------------------------------------------------------------------
# atomic writes and line files
# ------------------------------------------------------------------------------------------------


def fill_disk_after(monkeypatch, budget: int) -> None:
    """Files opened by `seqtrack.io.files` share ``budget`` free bytes, then fail with ENOSPC."""
    space = {"left": budget}
    monkeypatch.setattr(files, "open", lambda *a, **k: FillingFile(open(*a, **k), space), raising=False)


def test_line_file_keeps_whole_lines_when_the_disk_fills(tmp_path, monkeypatch):
    fill_disk_after(monkeypatch, budget=25)
    path = tmp_path / "boxes.txt"
    with LineFile(path, "box file") as lines:
        lines.write("1.0,2.0,3.0,4.0,nan\n")  # 20 bytes
        lines.commit()
        with pytest.raises(OutputError, match=r"could not write box file .*boxes\.txt: No space left on device$"):
            lines.write("5.0,6.0,7.0,8.0,0.5\n")  # 5 bytes fit, then the disk is full
    assert path.read_bytes() == b"1.0,2.0,3.0,4.0,nan\n"


def test_line_file_rolls_back_an_unfinished_record_on_close(tmp_path):
    path = tmp_path / "boxes.txt"
    lines = LineFile(path)
    lines.write("a\n")
    lines.commit()
    mark = lines.committed
    lines.write("b\n")
    lines.commit()
    lines.write("half")
    lines.rollback(mark)
    assert path.read_bytes() == b"a\n" and lines.committed == 2
    lines.write("c")
    lines.close()
    assert path.read_bytes() == b"a\n" and lines.closed


@pytest.mark.skipif(not HAS_DEV_FULL, reason="no /dev/full")
def test_line_file_on_dev_full():
    with LineFile("/dev/full", "box file") as lines, pytest.raises(OutputError, match="No space left on device"):
        lines.write("1,2,3,4,nan\n")


def test_line_file_that_cannot_be_opened(tmp_path):
    (tmp_path / "adir").mkdir()
    with pytest.raises(OutputError, match=r"could not write box file .*adir: Is a directory"):
        LineFile(tmp_path / "adir", "box file")


def test_atomic_write_on_a_full_disk_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "result.txt"
    path.write_text("old\n")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(OutputError, match=r"could not write --json .*result\.txt: No space left on device$"):
        atomic_write_text(path, "new\n", "--json")
    assert path.read_text() == "old\n"
    assert not temporary_path(path).exists() and sorted(p.name for p in tmp_path.iterdir()) == ["result.txt"]


# ------------------------------------------------------------------------------------------------
# Interrupts held back until a step is done
# ------------------------------------------------------------------------------------------------


def test_interrupt_raised_inside_a_deferred_step_comes_after_it():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with files.interrupts_deferred():
            with files.interrupts_deferred():  # nested: only the outermost end raises
                files.raise_interrupt(KeyboardInterrupt())
                done.append("inner")
            done.append("outer")
    assert done == ["inner", "outer"]
    with pytest.raises(KeyboardInterrupt):  # outside any step: at once
        files.raise_interrupt(KeyboardInterrupt())
    with files.interrupts_deferred():  # nothing pending: nothing raised
        pass


def test_the_first_interrupt_wins_and_is_raised_once():
    first, second = KeyboardInterrupt("first"), KeyboardInterrupt("second")
    with pytest.raises(KeyboardInterrupt) as raised:
        with files.interrupts_deferred():
            files.raise_interrupt(first)
            files.raise_interrupt(second)
    assert raised.value is first
    with files.interrupts_deferred():
        pass
