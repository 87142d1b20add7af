"""A cache of exported ONNX graphs, so that ``--fast`` and ``--backend onnxruntime`` trace a network once
per machine instead of at every start (`GraphCache`).

Where: ``$SEQTRACK_CACHE_DIR``, else ``$XDG_CACHE_HOME/seqtrack``, else ``~/.cache/seqtrack``; the graphs go
in its ``graphs/`` folder (``rm -r ~/.cache/seqtrack/graphs`` clears them; anything else there, such as
weights under the default ``$SEQTRACK_HOME``, is left alone). ``SEQTRACK_CACHE_DIR=off`` (or ``none``,
``0``, ``false``, ``no``) turns the cache off: every start exports into a temporary folder again.

Keys (`graph_key`): the sha256 of the weights file's bytes, the model config, the graph's options (its
kind, batch, dtype, quantisation, temporal history, opset) and the versions of seqtrack, torch (the
exporter), onnx and onnxruntime; any change gives a new entry. Each entry is ``<key>.onnx`` plus
``<key>.json`` (the key's fields, the graph's size and sha256), both written to a temporary file in the
same folder and renamed into place (`os.replace`), so a reader sees a whole entry or none. On use, the
graph's size and sha256 are checked against the JSON: a damaged or unreadable entry is reported once
(`GraphCacheWarning`) and exported again. A folder that cannot be written is reported once, and the run
goes on without the cache.

Digests of weights files are remembered under ``digests/`` by path, size, modification time and inode, so a
large checkpoint is hashed once, not at every start. torch-free.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from seqtrack.model.registry import sha256_of

CACHE_VARIABLE = "SEQTRACK_CACHE_DIR"
DISABLED_VALUES = ("off", "none", "0", "false", "no")
GRAPHS_FOLDER = "graphs"
DIGESTS_FOLDER = "digests"
KEY_VERSION = 1  # bump when the meaning of a key's fields changes


class GraphCacheWarning(UserWarning):
    """The graph cache could not be used as asked (unwritable folder, damaged entry); the run goes on."""


def cache_root(environ: Mapping[str, str] | None = None) -> Path | None:
    """The cache folder the environment names (see the module docstring), or None when it is turned off."""
    environ = os.environ if environ is None else environ
    chosen = environ.get(CACHE_VARIABLE, "").strip()
    if chosen.lower() in DISABLED_VALUES:
        return None
    if chosen:
        return Path(chosen).expanduser()
    xdg = environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "seqtrack"


def package_version(name: str) -> str:
    """The installed version of a package (``"absent"`` when it is not installed), without importing it.

    Read from the one ``<name>-<version>.dist-info`` folder beside the package (a directory listing, a
    millisecond), else through `importlib.metadata` (tens of milliseconds to import: start-up matters here).
    """
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None:
        return "absent"
    if spec.origin:
        found = list(Path(spec.origin).parent.parent.glob(f"{name}-*.dist-info"))
        if len(found) == 1:
            return found[0].name[len(name) + 1 : -len(".dist-info")]
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def graph_key(weights_sha256: str, config: Mapping, options: Mapping) -> tuple[str, dict]:
    """The cache key of a graph: ``(hex sha256 of the fields' canonical JSON, the fields)``.

    Args:
        weights_sha256: hex digest of the weights file's bytes (`GraphCache.weights_digest`).
        config: the model config as a plain dict (`seqtrack.config.to_dict`).
        options: the graph's options (kind, batch, dtype, quantisation, history, opset ...), JSON values.
    """
    from seqtrack import __version__

    fields = {
        "key_version": KEY_VERSION,
        "weights_sha256": weights_sha256,
        "config": dict(config),
        "options": dict(options),
        "seqtrack": __version__,
        "torch": package_version("torch"),
        "onnx": package_version("onnx"),
        "onnxruntime": package_version("onnxruntime"),
    }
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest(), fields


class GraphCache:
    """Exported graphs on disk, by key (see the module docstring).

    Args:
        root: the cache folder, or None for no cache (every `graph` call builds into a temporary folder).
        warn: where the one-line reports go (default: `warnings.warn` with `GraphCacheWarning`); each kind
            of problem is reported once per `GraphCache`.
    """

    def __init__(self, root: Path | None, warn: Callable[[str], None] | None = None) -> None:
        self.root = None if root is None else Path(root)
        self._warn = warn or (lambda message: warnings.warn(message, GraphCacheWarning, stacklevel=3))
        self._reported: set[str] = set()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> GraphCache:
        """The cache ``$SEQTRACK_CACHE_DIR`` / ``$XDG_CACHE_HOME`` name (`cache_root`)."""
        return cls(cache_root(environ))

    @property
    def enabled(self) -> bool:
        """Whether a folder is in use (False when turned off or found unwritable)."""
        return self.root is not None

    def _report(self, kind: str, message: str) -> None:
        if kind not in self._reported:
            self._reported.add(kind)
            self._warn(message)

    def _unwritable(self, error: OSError) -> None:
        self._report(
            "unwritable",
            f"graph cache {self.root} cannot be written ({error.strerror or error}): going on without it "
            f"(set {CACHE_VARIABLE} to a writable folder, or to 'off')",
        )
        self.root = None

    def paths(self, key: str) -> tuple[Path, Path]:
        """``(graph, description)`` paths of an entry (the cache must be enabled)."""
        folder = self.root / GRAPHS_FOLDER
        return folder / f"{key}.onnx", folder / f"{key}.json"

    # ------------------------------------------------------------------------------------------ reading
    def find(self, key: str) -> Path | None:
        """The graph stored under ``key`` when it is whole (size and sha256 as recorded), else None.

        An entry that exists but is damaged or unreadable is reported (once) and removed, so that the
        caller's export replaces it.
        """
        if self.root is None:
            return None
        graph, description = self.paths(key)
        if not description.exists():
            return None
        try:
            recorded = json.loads(description.read_text(encoding="utf-8"))
            if graph.stat().st_size == recorded["size"] and sha256_of(graph) == recorded["sha256"]:
                return graph
            why = "its size or sha256 is not the recorded one"
        except (OSError, ValueError, KeyError, TypeError) as error:
            why = f"{type(error).__name__}: {error}"
        self.discard(key, why)
        return None

    def discard(self, key: str, why: str) -> None:
        """Report (once) and remove a damaged entry (best effort)."""
        graph, description = self.paths(key)
        self._report("damaged", f"graph cache entry {graph} is damaged ({why}): exporting it again")
        for path in (description, graph):
            with contextlib.suppress(OSError):
                path.unlink()

    # ------------------------------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def graph(self, key: str, build: Callable[[Path], object], fields: Mapping | None = None) -> Iterator[Path]:
        """A whole graph for ``key``, valid inside the ``with`` block: the cached one, or a new one made by
        ``build(path)`` (which writes the graph to ``path``) and stored; without a usable folder, made in a
        temporary folder removed after the block.

        Args:
            fields: the key's fields (`graph_key`), recorded beside the graph for people reading the cache.
        """
        found = self.find(key)
        if found is not None:
            yield found
            return
        stored = self._build_into_cache(key, build, fields) if self.root is not None else None
        if stored is not None:
            yield stored
            return
        with tempfile.TemporaryDirectory(prefix="seqtrack-graph-") as work:
            path = Path(work) / "graph.onnx"
            build(path)
            yield path

    def _build_into_cache(self, key: str, build: Callable[[Path], object], fields: Mapping | None) -> Path | None:
        graph, description = self.paths(key)
        try:
            graph.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{key[:16]}-", suffix=".onnx.tmp", dir=graph.parent)
            os.close(handle)
        except OSError as error:
            self._unwritable(error)
            return None
        temporary = Path(temporary)
        try:
            build(temporary)
            record = {"size": temporary.stat().st_size, "sha256": sha256_of(temporary), "key": dict(fields or {})}
            os.replace(temporary, graph)
            _write_atomically(description, json.dumps(record, indent=1, sort_keys=True) + "\n")
        except OSError as error:  # a full disk, a folder made read-only meanwhile
            with contextlib.suppress(OSError):
                temporary.unlink()
            self._unwritable(error)
            return None
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        return graph

    # ------------------------------------------------------------------------------------------ digests
    def weights_digest(self, path: Path) -> str:
        """Hex sha256 of a weights file, remembered by path, size, modification time and inode."""
        path = Path(path)
        stat = path.stat()
        identity = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ino}"
        memo = None
        if self.root is not None:
            memo = self.root / DIGESTS_FOLDER / hashlib.sha256(identity.encode()).hexdigest()
            with contextlib.suppress(OSError, UnicodeDecodeError):
                text = memo.read_text(encoding="ascii").strip()
                if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
                    return text
        digest = sha256_of(path)
        if memo is not None:
            try:
                memo.parent.mkdir(parents=True, exist_ok=True)
                _write_atomically(memo, digest + "\n")
            except OSError as error:
                self._unwritable(error)
        return digest


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name[:16]}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


__all__ = [
    "GraphCache",
    "GraphCacheWarning",
    "graph_key",
    "cache_root",
    "package_version",
    "CACHE_VARIABLE",
    "DISABLED_VALUES",
]
