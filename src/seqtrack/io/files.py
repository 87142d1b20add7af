"""Writing files safely: every writer of the library goes through here.

* `refuse_overlaps`: an output that is an input (the source video, the weights) or another output is
  refused before anything is opened, so no command can destroy what it reads.
* `check_destination`: a destination that cannot be written (missing parent, a folder where a file is
  expected, a read-only location, a name over 255 bytes) is refused up front with one clear line.
* `atomic_path` / `atomic_write_bytes` / `atomic_write_text`: data goes to a hidden temporary file beside
  the destination, is flushed to disk, then renamed over it; on any failure the temporary file is removed,
  the destination keeps its previous content, and an `OSError` (full disk, ...) becomes one `InputError`
  naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from seqtrack.errors import InputError

MAX_NAME_BYTES = 255  # a file name longer than this fails on every common file system


def os_error_text(error: OSError) -> str:
    """A short reason for an `OSError` (``No space left on device``, ``Read-only file system``...)."""
    if error.strerror:
        return error.strerror
    return os.strerror(error.errno) if error.errno else str(error)


def temporary_path(path: str | os.PathLike[str]) -> Path:
    """The hidden temporary file beside ``path`` that an atomic write goes through (one per process)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _same_file(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def refuse_overlaps(
    inputs: Mapping[str, str | os.PathLike[str] | None], outputs: Mapping[str, str | os.PathLike[str] | None]
) -> None:
    """Refuse outputs that are an input or another output (after resolving links and ``..``).

    Args:
        inputs, outputs: what the user called each file (``"the source video"``, ``"--out"``) -> path;
            None entries are skipped.
    Raises:
        InputError: naming both, e.g. ``--out clip.mp4 is the source video: it would be overwritten``.
    """
    resolved_in = {name: Path(p).expanduser().resolve() for name, p in inputs.items() if p is not None}
    resolved_out = {name: Path(p).expanduser().resolve() for name, p in outputs.items() if p is not None}
    for out_name, out_path in resolved_out.items():
        for in_name, in_path in resolved_in.items():
            if _same_file(out_path, in_path):
                raise InputError(f"{out_name} {outputs[out_name]} is {in_name}: it would be overwritten")
    names = list(resolved_out)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            if _same_file(resolved_out[first], resolved_out[second]):
                raise InputError(f"{first} and {second} name the same file ({outputs[first]})")


def check_destination(path: str | os.PathLike[str], what: str, *, folder: bool = False) -> Path:
    """Check that ``path`` can be written before any work starts; returns it as a `Path`.

    Args:
        path: the file (or, with ``folder=True``, the folder) to be written; missing folders are fine when
            their nearest existing ancestor is a writable folder (the writer creates them).
        what: how the user knows it (``"--out"``, ``"the results folder"``), for the message.
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
        InputError: an `OSError` while writing or renaming (full disk, read-only, ...), naming ``what``.
    """
    path = Path(path)
    temp = temporary_path(path)
    try:
        yield temp
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as error:
        raise InputError(f"could not write {what} {path}: {os_error_text(error)}") from None
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


def is_disk_full(error: OSError) -> bool:
    """True for the errors a full disk gives (``ENOSPC``, ``EDQUOT``)."""
    return error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


__all__ = [
    "refuse_overlaps",
    "check_destination",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "temporary_path",
    "os_error_text",
    "is_disk_full",
    "MAX_NAME_BYTES",
]
