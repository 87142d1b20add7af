"""The ONNX graph cache (`seqtrack.runtime.graph_cache`): where it lives, what its keys depend on, atomic
entries, damaged entries rebuilt, an unwritable folder tolerated. The graphs here are stand-in bytes: the
cache never looks inside them."""

from __future__ import annotations

import os
import warnings

import pytest

from seqtrack.runtime.graph_cache import GraphCache, GraphCacheWarning, cache_root, graph_key, package_version


def _builder(calls: list, payload: bytes = b"graph bytes"):
    def build(path):
        calls.append(path)
        path.write_bytes(payload)

    return build


def test_cache_root_follows_the_environment(tmp_path):
    assert cache_root({"SEQTRACK_CACHE_DIR": str(tmp_path / "c")}) == tmp_path / "c"
    assert cache_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "seqtrack"
    assert cache_root({"SEQTRACK_CACHE_DIR": "  ", "XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "seqtrack"
    assert cache_root({}).parts[-2:] == (".cache", "seqtrack")
    for off in ("off", "OFF", "none", "0", "false", "no"):
        assert cache_root({"SEQTRACK_CACHE_DIR": off, "XDG_CACHE_HOME": str(tmp_path)}) is None
    assert not GraphCache.from_environ({"SEQTRACK_CACHE_DIR": "off"}).enabled


def test_key_changes_with_weights_config_and_options():
    config, options = {"bins": 256, "name": "demo"}, {"graph": "g", "batch": "dynamic", "history": 0}
    key, fields = graph_key("a" * 64, config, options)
    assert key == graph_key("a" * 64, dict(reversed(list(config.items()))), options)[0]  # order-free
    others = [
        graph_key("b" * 64, config, options)[0],
        graph_key("a" * 64, {**config, "bins": 4000}, options)[0],
        graph_key("a" * 64, config, {**options, "batch": 1})[0],
        graph_key("a" * 64, config, {**options, "quantize": "int8"})[0],
    ]
    assert len({key, *others}) == 5
    assert {"seqtrack", "torch", "onnx", "onnxruntime"} <= set(fields)
    assert fields["onnxruntime"] == package_version("onnxruntime") != "absent"
    assert package_version("no_such_package_here") == "absent"


def test_a_graph_is_built_once_then_found(tmp_path):
    cache, calls = GraphCache(tmp_path), []
    key = graph_key("a" * 64, {}, {})[0]
    with cache.graph(key, _builder(calls), {"why": "test"}) as path:
        assert path.read_bytes() == b"graph bytes" and path.parent == tmp_path / "graphs"
    with cache.graph(key, _builder(calls)) as again:
        assert again == path
    assert len(calls) == 1
    assert sorted(p.name for p in (tmp_path / "graphs").iterdir()) == [f"{key}.json", f"{key}.onnx"]  # no leftovers
    assert GraphCache(tmp_path).find(key) == path  # another process sees the entry


@pytest.mark.parametrize("damage", ["flip", "truncate", "description", "graph gone"])
def test_a_damaged_entry_is_reported_once_and_rebuilt(tmp_path, damage):
    messages, calls = [], []
    cache = GraphCache(tmp_path, warn=messages.append)
    key = "k" * 64
    with cache.graph(key, _builder(calls)) as path:
        pass
    graph, description = cache.paths(key)
    if damage == "flip":
        graph.write_bytes(b"graph bytez")  # same size, other bytes
    elif damage == "truncate":
        graph.write_bytes(b"graph")
    elif damage == "description":
        description.write_text("{not json")
    else:
        graph.unlink()
    for _ in range(2):  # damaged again after the rebuild: still one report
        with cache.graph(key, _builder(calls)) as path:
            assert path.read_bytes() == b"graph bytes"
        graph.write_bytes(b"graph bytez")
    assert len(calls) == 3
    assert len(messages) == 1 and "damaged" in messages[0] and str(graph) in messages[0]


def test_an_unwritable_folder_gives_one_warning_and_the_run_goes_on(tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")  # a file where the folder should be: no root can mkdir through it
    cache, calls = GraphCache(blocked / "cache"), []
    with pytest.warns(GraphCacheWarning, match="cannot be written") as caught:
        for _ in range(2):
            with cache.graph("k" * 64, _builder(calls)) as path:
                assert path.read_bytes() == b"graph bytes"
            assert not path.exists()  # a temporary folder, removed after the block
        cache.weights_digest(blocked)
    assert len(caught) == 1 and len(calls) == 2 and not cache.enabled


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_tolerated(tmp_path):
    (tmp_path / "graphs").mkdir()
    os.chmod(tmp_path / "graphs", 0o500)
    try:
        with pytest.warns(GraphCacheWarning, match="cannot be written"):
            with GraphCache(tmp_path).graph("k" * 64, _builder([])) as path:
                assert path.read_bytes() == b"graph bytes"
    finally:
        os.chmod(tmp_path / "graphs", 0o700)


def test_a_failed_build_leaves_no_entry(tmp_path):
    cache = GraphCache(tmp_path)

    def broken(path):
        path.write_bytes(b"half a gra")
        raise RuntimeError("exporter failed")

    with pytest.raises(RuntimeError, match="exporter failed"):
        with cache.graph("k" * 64, broken):
            pass
    assert list((tmp_path / "graphs").iterdir()) == []
    assert cache.find("k" * 64) is None


def test_weights_digest_is_remembered_by_file_identity(tmp_path):
    import hashlib

    weights = tmp_path / "w.bin"
    weights.write_bytes(b"weights v1")
    cache = GraphCache(tmp_path / "cache")
    assert cache.weights_digest(weights) == hashlib.sha256(b"weights v1").hexdigest()
    assert len(list((tmp_path / "cache" / "digests").iterdir())) == 1
    weights.write_bytes(b"weights v2, longer")  # size and mtime change: hashed again
    assert cache.weights_digest(weights) == hashlib.sha256(b"weights v2, longer").hexdigest()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no cache folder at all: hashed, no warning
        assert GraphCache(None).weights_digest(weights) == hashlib.sha256(b"weights v2, longer").hexdigest()
