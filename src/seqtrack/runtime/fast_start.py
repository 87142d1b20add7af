"""The torch-free start of ``--fast`` (`cached_fast_predictor`): when the plan for this CPU is ``onnx-fp32``
and the graph cache (`seqtrack.runtime.graph_cache`) already holds the read-out graph of these weights, the
predictor is an ONNX Runtime session of that graph, and torch is never imported: the first tracked frame
comes about as soon as numpy, OpenCV and ONNX Runtime are loaded (``benchmarks/startup.py``).

What it needs, each read without torch: the CPU's flags (``/proc/cpuinfo``: where they are unknown the
torch path decides), the model config from the safetensors header (an official ``.pth.tar`` has none: torch
path), the weights' sha256 (remembered by the cache) and the cached graph. Anything missing: None, and the
caller takes the torch path (`seqtrack.runtime.fast.make_fast_predictor`), which exports the graph into the
cache for the next start.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from seqtrack.config import ModelConfig, to_dict
from seqtrack.errors import SeqTrackError
from seqtrack.runtime.cpu import cpu_features_without_torch, read_cpu_flags
from seqtrack.runtime.fast_plan import FastPlan, choose_fast_plan
from seqtrack.runtime.graph_cache import GraphCache, graph_key
from seqtrack.runtime.threads import CpuTimes, resolve_threads

READOUT_GRAPH = "readout-prior-v1"  # `write_readout_onnx`'s contract; bump when it changes
READOUT_OPSET = 17


def _readout_options(config: ModelConfig) -> dict:
    return {
        "graph": READOUT_GRAPH,
        "batch": "dynamic",
        "dtype": "fp32",
        "quantize": None,
        "history": config.temporal_frames,
        "opset": READOUT_OPSET,
    }


def readout_key(weights_sha256: str, config: ModelConfig) -> tuple[str, dict]:
    """The graph-cache key of the ``onnx-fp32`` read-out of these weights: ``(hex key, its fields)``."""
    return graph_key(weights_sha256, to_dict(config), _readout_options(config))


def optimized_key(weights_sha256: str, config: ModelConfig, flags: set[str]) -> tuple[str, dict]:
    """The key of that graph after ONNX Runtime's optimisations (`optimize_graph`), which may hold layouts
    for this CPU's instructions: the CPU's flags are part of it."""
    cpu = hashlib.sha256(" ".join(sorted(flags)).encode()).hexdigest()
    return graph_key(weights_sha256, to_dict(config), {**_readout_options(config), "ort": "optimized", "cpu": cpu})


def readout_from_graph(cache: GraphCache, raw: Path, config: ModelConfig, weights_sha256: str, threads: int | None):
    """An `OnnxReadout` of the read-out graph ``raw``, loaded through its optimised form in the cache (made from
    ``raw`` when missing, torch-free); without a cache or CPU flags, ``raw`` optimised as it loads.

    Raises:
        OnnxError: a graph ONNX Runtime cannot load.
    """
    from seqtrack.runtime.readout_session import OnnxReadout, optimize_graph

    flags = read_cpu_flags()
    if not cache.enabled or flags is None or not weights_sha256:
        return OnnxReadout(config, raw, threads=threads)
    key, fields = optimized_key(weights_sha256, config, flags)
    with cache.graph(key, lambda path: optimize_graph(raw, path), fields) as optimized:
        return OnnxReadout(config, optimized, threads=threads, optimized=True)


def discard_readout(cache: GraphCache, weights_sha256: str, config: ModelConfig, why: str) -> None:
    """Drop both cache entries of a read-out (raw and optimised) that ONNX Runtime could not load."""
    cache.discard(readout_key(weights_sha256, config)[0], why)
    flags = read_cpu_flags()
    if flags is not None:
        cache.discard(optimized_key(weights_sha256, config, flags)[0], why)


def cached_fast_predictor(
    weights: Path, threads: int | None = None, cache: GraphCache | None = None, started: CpuTimes | None = None
):
    """The ``--fast`` predictor from the graph cache alone, or None when the torch path must build it.

    Args:
        weights: a weights file (already resolved from a model name).
        threads: intra-op threads (None: the free cores, `seqtrack.runtime.threads.resolve_threads`).
        cache: the graph cache (default: the environment's, `GraphCache.from_environ`).
        started: a `seqtrack.runtime.threads.cpu_times` snapshot taken earlier, for the automatic thread count.
    Returns:
        A `seqtrack.runtime.readout_session.OnnxReadout` whose ``plan`` says it came from the cache, or None.
    """
    features = cpu_features_without_torch()
    if features is None or importlib.util.find_spec("onnxruntime") is None:
        return None
    from seqtrack.model.header import read_header

    try:
        header = read_header(weights)
        config = header.model_config() if header.format == "safetensors" else None
    except SeqTrackError:  # the torch path reports an unreadable file in its own words
        return None
    if config is None:
        return None
    plan = choose_fast_plan(config, features)
    cache = cache if cache is not None else GraphCache.from_environ()
    if plan.name != "onnx-fp32" or not cache.enabled:
        return None
    try:
        digest = cache.weights_digest(weights)
    except OSError:  # unreadable weights: the torch path says so
        return None
    raw = cache.find(readout_key(digest, config)[0])
    if raw is None:
        return None
    from seqtrack.runtime.onnx_errors import OnnxError, require

    require("onnxruntime")  # loaded inside the automatic thread count's measuring window, not after it
    threads = resolve_threads(threads, started)
    try:
        readout = readout_from_graph(cache, raw, config, digest, threads)
    except OnnxError as error:  # whole on disk, yet not loadable: export it again
        discard_readout(cache, digest, config, str(error))
        return None
    readout.plan = FastPlan(plan.name, f"{plan.reason}; graph from the cache")
    return readout


__all__ = [
    "cached_fast_predictor",
    "readout_key",
    "optimized_key",
    "readout_from_graph",
    "discard_readout",
    "READOUT_GRAPH",
    "READOUT_OPSET",
]
