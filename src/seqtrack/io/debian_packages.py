"""Debian packages fetched without installing them: ``apt-get download`` and ``dpkg-deb -x``.

Data that reaches a fresh machine through the Debian archive (the synthetic generator's photographs, the
real-footage validation clips) comes through here. Nothing needs root: ``apt-get download`` writes the .deb
into its working folder and ``dpkg-deb -x`` unpacks it into a folder of our choosing. Every command goes
through an injectable ``run`` (``subprocess.run``'s signature), so tests need neither apt nor a network.
Every failure is one line, raised as ``error(message)``: ``error`` is the caller's exception class (or any
callable taking the message, e.g. one that prefixes the caller's context); `DatasetError` by default.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

from seqtrack.errors import DatasetError, safe_text

Runner = Callable[..., subprocess.CompletedProcess]
ErrorFactory = Callable[[str], Exception]

# Debian policy's package names, and versions ([epoch:]upstream[-revision]); checking them also keeps a
# name such as "-o..." from reaching apt-get as an option.
PACKAGE_RE = re.compile(r"[a-z0-9][a-z0-9.+-]+")
VERSION_RE = re.compile(r"([0-9]+:)?[A-Za-z0-9][A-Za-z0-9.+~-]*")
# apt's warnings (W:) and notices (N:, e.g. "download is performed unsandboxed as root") follow the real
# error on stderr: the line that explains a failure is the last one that is neither.
APT_CHATTER = ("W:", "N:")
NETWORK_WORDS = ("resolv", "connect", "temporary failure")


def failure_line(stderr: bytes | str | None, returncode: int) -> str:
    """Why a command failed, in one printable line: the last non-blank stderr line that is not an apt
    warning or notice (``W:``, ``N:``), plus ``" (no network?)"`` when it speaks of resolving or
    connecting; ``"exit status N"`` when stderr says nothing else."""
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else (stderr or "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(APT_CHATTER)]
    if not lines:
        return f"exit status {returncode}"
    hint = " (no network?)" if any(word in lines[-1].lower() for word in NETWORK_WORDS) else ""
    return safe_text(lines[-1]) + hint


def run_tool(
    command: list[str],
    *,
    run: Runner = subprocess.run,
    cwd: Path | None = None,
    error: ErrorFactory = DatasetError,
    label: str | None = None,
) -> bytes:
    """Run ``command`` (``apt-get ...``, ``dpkg-deb ...``) through ``run``; its stdout as bytes.

    ``label`` names the command in messages (default: the command, paths shortened to their last part).
    Raises ``error(message)``, one line: ``"<tool> not found: <label> needs a Debian/Ubuntu system with
    apt"`` when the program is missing, ``"cannot run <label> (<reason>: <file>)"`` for another OS error
    (a missing ``cwd``), ``"<label> failed: <failure_line>"`` on a non-zero exit status.
    """
    label = label or " ".join(Path(arg).name if "/" in arg else arg for arg in command)
    try:
        done = run(command, cwd=None if cwd is None else str(cwd), capture_output=True, text=False)
    except OSError as exc:
        # subprocess reports a missing cwd as FileNotFoundError too, naming the folder instead of the program
        if isinstance(exc, FileNotFoundError) and exc.filename in (None, command[0]):
            message = f"{command[0]} not found: {label} needs a Debian/Ubuntu system with apt"
        else:
            where = f": {exc.filename}" if exc.filename else ""
            message = f"cannot run {label} ({exc.strerror or exc}{where})"
        raise error(safe_text(message)) from exc
    if done.returncode != 0:
        raise error(safe_text(f"{label} failed: ") + failure_line(done.stderr, done.returncode))
    out = done.stdout or b""
    return out.encode() if isinstance(out, str) else out


def find_deb(package: str, folder: Path, version: str | None = None) -> Path | None:
    """The .deb of ``package`` in ``folder`` as ``apt-get download`` names it (``<package>_<version>_<arch>.deb``,
    an epoch's ':' written ``%3a``): the one at ``version`` when given, else the first in name order; None
    when there is none."""
    prefix = f"{package}_{version.replace(':', '%3a')}_" if version else f"{package}_"
    found = sorted(p for p in Path(folder).glob(f"{package}_*.deb") if p.name.startswith(prefix))
    return found[0] if found else None


def deb_version(deb: Path) -> str:
    """The package version in a .deb file name written by ``apt-get download`` (``%3a`` back to ':');
    ``"2:1.0-3"`` for ``pkg_2%3a1.0-3_all.deb``."""
    parts = Path(deb).name.removesuffix(".deb").split("_")
    return unquote(parts[1]) if len(parts) > 1 else ""


def download_deb(
    package: str,
    folder: Path,
    version: str | None = None,
    *,
    run: Runner = subprocess.run,
    error: ErrorFactory = DatasetError,
) -> Path:
    """The .deb of ``package`` (at ``version`` when pinned) in ``folder`` (created): one already there is
    reused (`find_deb`), else ``apt-get download package[=version]`` fetches it into ``folder`` (nothing
    is installed). Raises ``error`` (one line) for a malformed name or version, a failed download, or a
    download that left no matching .deb."""
    if not PACKAGE_RE.fullmatch(package):
        raise error(f"not a Debian package name: {safe_text(repr(package))}")
    if version is not None and not VERSION_RE.fullmatch(version):
        raise error(f"not a Debian version of {package}: {safe_text(repr(version))}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    found = find_deb(package, folder, version)
    if found is None:
        spec = f"{package}={version}" if version else package
        # apt-get download writes into its working directory
        run_tool(["apt-get", "download", spec], run=run, cwd=folder, error=error)
        found = find_deb(package, folder, version)
        if found is None:
            raise error(safe_text(f"apt-get download {spec} left no {package}_*.deb in {folder}"))
    return found


def unpack_deb(deb: Path, target: Path, *, run: Runner = subprocess.run, error: ErrorFactory = DatasetError) -> Path:
    """``dpkg-deb -x``: the file tree of ``deb`` written under ``target`` (created by dpkg-deb), so that a
    path ``/usr/share/x`` of the package is ``target/usr/share/x``; returns ``target``. Symlinks in the tree
    are the package's own and may point outside ``target``: callers that read files skip them."""
    deb, target = Path(deb), Path(target)
    run_tool(["dpkg-deb", "-x", str(deb), str(target)], run=run, error=error, label=f"dpkg-deb -x {deb.name}")
    return target
