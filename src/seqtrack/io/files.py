"""Writing files safely: every writer of the library goes through here.

* `refuse_overlaps`: an output that is an input (the source video, the weights) or another output is
  refused before anything is opened, so no command can destroy what it reads.
* `check_destination`: a destination that cannot be written (missing parent, a folder where a file is
  expected, a read-only location, a name over 255 bytes) is refused up front with one clear line.
* `atomic_path` / `atomic_write_bytes` / `atomic_write_text`: data goes to a hidden temporary file beside
  the destination, is flushed to disk, then renamed over it; on any failure the temporary file is removed,
  the destination keeps its previous content, and an `OSError` (full disk, ...) becomes one `OutputError`
  (an `InputError`) naming the file.
* `LineFile`: a file written as it goes (a box file), one whole line per ``write`` call; a write that
  fails (full disk) or is interrupted is undone back to the last complete line.
* `interrupts_deferred` / `raise_interrupt`: a step that must not be cut in two (a frame's packets muxed
  into a video, a frame's lines in every box file) holds back the `KeyboardInterrupt` of Ctrl-C or
  SIGTERM that `seqtrack.cli` raises through `raise_interrupt`, and raises it when the step is done.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType

from seqtrack.errors import InputError

MAX_NAME_BYTES = 255  # a file name longer than this fails on every common file system


class OutputError(InputError):
    """An output could not be written (full disk, read-only location...): one line naming the file."""


def os_error_text(error: OSError) -> str:
    """A short reason for an `OSError` (``No space left on device``, ``Read-only file system``...)."""
    if error.strerror:
        return error.strerror
    return os.strerror(error.errno) if error.errno else str(error)


def temporary_path(path: str | os.PathLike[str]) -> Path:
    """The hidden temporary file beside ``path`` that an atomic write goes through (one per process)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _file_keys(path: Path) -> tuple[tuple, ...]:
    """What identifies the file at ``path`` (resolved): its path and, when it exists, its device and
    inode (a hard link or a bind mount reaches the same file by another path)."""
    try:
        info = os.stat(path)
    except OSError:
        return (("path", path),)
    return ("path", path), ("inode", info.st_dev, info.st_ino)


def _is_device(path: Path) -> bool:
    """A character device or a pipe (``/dev/null``...): several outputs may share one."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def refuse_overlaps(
    inputs: Mapping[str, str | os.PathLike[str] | None], outputs: Mapping[str, str | os.PathLike[str] | None]
) -> None:
    """Refuse outputs that are an input or another output (after resolving links and ``..``).

    Linear in the number of files (an image-folder source brings thousands of inputs).

    Args:
        inputs, outputs: what the user called each file (``"the source video"``, ``"--out"``) -> path;
            None entries are skipped.
    Raises:
        InputError: naming both, e.g. ``--out clip.mp4 is the source video: it would be overwritten``.
    """
    read: dict[tuple, str] = {}
    for name, path in inputs.items():
        if path is not None:
            for key in _file_keys(Path(path).expanduser().resolve()):
                read.setdefault(key, name)
    resolved = {name: Path(p).expanduser().resolve() for name, p in outputs.items() if p is not None}
    for name, path in resolved.items():
        for key in _file_keys(path):
            if key in read:
                raise InputError(f"{name} {outputs[name]} is {read[key]}: it would be overwritten")
    written: dict[tuple, str] = {}
    for name, path in resolved.items():
        if _is_device(path):
            continue
        for key in _file_keys(path):
            if key in written:
                raise InputError(f"{written[key]} and {name} name the same file ({outputs[written[key]]})")
            written[key] = name


def check_destination(path: str | os.PathLike[str], what: str, *, folder: bool = False, replace: bool = True) -> Path:
    """Check that ``path`` can be written before any work starts; returns it as a `Path`.

    Args:
        path: the file (or, with ``folder=True``, the folder) to be written; missing folders are fine when
            their nearest existing ancestor is a writable folder (the writer creates them).
        what: how the user knows it (``"--out"``, ``"the results folder"``), for the message.
        replace: the writer replaces the file through a temporary beside it (`atomic_path`), so its folder
            must be writable; ``False``: it writes an existing file in place (`LineFile`, a video
            encoder), which needs only the file itself to be writable (``/dev/null``, a file in a folder
            you may not add to).
    Raises:
        InputError: one line naming ``what`` and the path.
    """
    path = Path(path).expanduser()
    if any(len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for part in path.parts):
        raise InputError(f"{what} {path}: a name in the path is longer than {MAX_NAME_BYTES} bytes")
    if path.exists():
        if folder != path.is_dir():
            kind = "a folder" if path.is_dir() else "a file"
            raise InputError(f"{what} {path} is {kind}; expected {'a folder' if folder else 'a file'}")
        if not folder and not os.access(path, os.W_OK):
            raise InputError(f"{what} {path} is read-only")
        if not folder and not replace:
            return path
        if not folder and not path.is_file():  # a device or a pipe: the rename would put a file in its place
            raise InputError(f"{what} {path} is not a regular file (a device or a pipe): it cannot be replaced")
        target = path if folder else path.parent
    else:
        target = path.parent if not folder else path
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{what} {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{what} {path}: cannot write in {existing} (permission denied or read-only)")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], what: str = "output") -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` (after an fsync), on failure it is
    removed and ``path`` keeps its previous content.

    Raises:
        OutputError: an `OSError` while writing or renaming (full disk, read-only, ...), naming ``what``.
    """
    path = Path(path)
    temp = temporary_path(path)
    try:
        yield temp
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as error:
        raise OutputError(f"could not write {what} {path}: {os_error_text(error)}") from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, what: str = "output") -> None:
    """Write ``data`` to ``path`` atomically (`atomic_path`)."""
    with atomic_path(path, what) as temp:
        temp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike[str], text: str, what: str = "output") -> None:
    """Write UTF-8 ``text`` with ``\\n`` line endings to ``path`` atomically (`atomic_path`)."""
    with atomic_path(path, what) as temp:
        with open(temp, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)


class _Interrupts:
    """The state behind `interrupts_deferred` (signal handlers run in the main thread, one at a time)."""

    depth = 0
    pending: BaseException | None = None


def raise_interrupt(error: BaseException) -> None:
    """Raise ``error`` (a `KeyboardInterrupt` from a signal handler) now, or at the end of the current
    `interrupts_deferred` section if one is running."""
    if _Interrupts.depth:
        if _Interrupts.pending is None:
            _Interrupts.pending = error
        return
    raise error


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Run a step that must not be cut in two; an interrupt that `raise_interrupt` holds back during it is
    raised when it ends (on any exit: the interrupt wins over an error of the step). Nests."""
    _Interrupts.depth += 1
    try:
        yield
    finally:
        _Interrupts.depth -= 1
        if not _Interrupts.depth and _Interrupts.pending is not None:
            error, _Interrupts.pending = _Interrupts.pending, None
            raise error


def is_disk_full(error: OSError) -> bool:
    """True for the errors a full disk gives (``ENOSPC``, ``EDQUOT``)."""
    return error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


class LineFile:
    """A text file written as work goes on, that never ends in half a line.

    Each `write` hands its whole text to the OS in one call (no Python buffer: what was written is on
    its way to disk even if the process is killed next). `commit` marks the end of a complete record;
    `rollback` truncates back to the last mark. A failing `write` (full disk, ...) rolls back itself and
    raises `OutputError`, so everything committed before stays whole. Existing files are overwritten;
    parent folders are created.

    Args:
        path: the file; what: how the user knows it (``"box file"``), for messages.
    """

    def __init__(self, path: str | os.PathLike[str], what: str = "output") -> None:
        self.path, self.what = Path(path), what
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._raw = open(self.path, "wb", buffering=0)  # noqa: SIM115 - closed by close()
        except OSError as error:
            raise OutputError(f"could not write {what} {self.path}: {os_error_text(error)}") from None
        self._committed = self._position = 0

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._raw.closed

    def write(self, text: str) -> None:
        """Append ``text`` (UTF-8, line ends as given) in one call, retried until all of it is written."""
        data = memoryview(text.encode("utf-8"))
        try:
            while data:
                count = self._raw.write(data)
                self._position += count
                data = data[count:]
        except OSError as error:
            self.rollback()
            raise OutputError(f"could not write {self.what} {self.path}: {os_error_text(error)}") from None

    @property
    def committed(self) -> int:
        """Bytes of complete records (up to the last `commit`)."""
        return self._committed

    def commit(self) -> None:
        """Everything written so far is complete: a later `rollback` keeps it."""
        self._committed = self._position

    def rollback(self, to: int | None = None) -> None:
        """Drop what was written since the last `commit` (or since byte ``to``, an earlier `committed`);
        best effort: a device cannot be truncated."""
        to = self._committed if to is None else min(to, self._position)
        if self._position != to and not self._raw.closed:
            with contextlib.suppress(OSError):
                os.ftruncate(self._raw.fileno(), to)
                self._raw.seek(to)
        self._position = self._committed = to

    def close(self) -> None:
        """Roll back an unfinished record and close the file (idempotent)."""
        if not self._raw.closed:
            self.rollback()
            self._raw.close()

    def __enter__(self) -> LineFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Closeable:
    """Base of the library's writers and sources: ``with obj:`` calls ``obj.close()`` on the way out,
    whatever happened inside (subclasses make ``close`` safe to call twice)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()


__all__ = [
    "Closeable",
    "refuse_overlaps",
    "check_destination",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "temporary_path",
    "os_error_text",
    "is_disk_full",
    "LineFile",
    "OutputError",
    "interrupts_deferred",
    "raise_interrupt",
    "MAX_NAME_BYTES",
]
