"""One call from a weights file to a predictor the `Tracker` accepts, for every backend we support.

    predictor = make_predictor("seqtrack_b256.safetensors", backend="onnxruntime", quantize="int8")
    tracker = Tracker(predictor, tracker_config)

A *predictor* is a `BoxPredictor` (`seqtrack.runtime.protocol`): ``config`` (`ModelConfig`), ``device``,
``dtype`` and ``generate(templates (B,T,3,H,W), search (B,3,S,S), window) -> tokens (B,4) int64, probs (B,4)
float64``: a plain `SeqTrack` (fp32 eager, the default and the reference), a `TorchPredictor` (autocast
and/or ``torch.compile``), or an `OnnxPredictor`.

Options (the numbers behind the defaults are in ``benchmarks/results/speed.md``):

* ``backend="torch"``, ``dtype="fp32"``: the reference path, bit-for-bit what the golden tests check.
* ``dtype="bf16"``: weights and crops converted to bfloat16 (``model.to(torch.bfloat16)``);
  ``dtype="bf16-autocast"``: fp32 weights under ``torch.autocast("cpu", torch.bfloat16)``. Both are
  options only: they change tokens, and on CPUs without native bf16 (AVX512-BF16/AMX) they are slower.
* ``compile=True``: the encoder through ``torch.compile`` (needs a C++ compiler; the first frame pays
  the compilation, tens of seconds).
* ``backend="onnxruntime"``: the read-out graph (`seqtrack.runtime.onnxruntime`); ``weights`` may be a
  ``.onnx`` file or any checkpoint (traced on the fly, not validated: ``seqtrack export`` does that; the
  traced graph is kept in the graph cache, `seqtrack.runtime.graph_cache`). ``quantize="int8"``: dynamic int8.
* ``fast=True``: `seqtrack.runtime.fast`; when the plan is ``onnx-fp32`` and the graph cache holds the
  graph, the predictor comes without importing torch (`seqtrack.runtime.fast_start`).
* ``threads``: intra-op threads. For ``torch`` this is process-wide (``torch.set_num_threads``). None: the
  free cores at start-up (`seqtrack.runtime.threads`), unless ``OMP_NUM_THREADS`` is set.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from seqtrack.config import ModelConfig
from seqtrack.errors import InputError
from seqtrack.model.registry import resolve_weights
from seqtrack.runtime.graph_cache import GraphCache
from seqtrack.runtime.options import PredictorOptions
from seqtrack.runtime.threads import cpu_times, resolve_threads

if TYPE_CHECKING:  # torch is imported where a path needs it: a cached ``--fast`` start never does
    import torch

    from seqtrack.model.seqtrack import SeqTrack
    from seqtrack.runtime.protocol import BoxPredictor


def make_predictor(
    weights: str | Path | SeqTrack,
    backend: str = "torch",
    dtype: str = "fp32",
    compile: bool = False,
    quantize: str | None = None,
    threads: int | None = None,
    config: ModelConfig | str | None = None,
    device: str | torch.device = "cpu",
    fast: bool = False,
    kernel: str = "auto",
    cuda_graphs: bool = False,
) -> BoxPredictor:
    """A predictor for `Tracker` from weights and run options (see the module docstring).

    Args:
        weights: a registered model name (`seqtrack.model.registry`) or a checkpoint path (official
            ``.pth.tar``, state dict, our ``.safetensors``), a ``.onnx``
            file written by ``seqtrack export`` (onnxruntime backend only), or a `SeqTrack` already built
            (used as is: ``dtype="bf16"`` converts that module in place).
        backend: ``"torch"`` or ``"onnxruntime"``.
        dtype: ``"fp32"`` (default), ``"bf16"`` (converted weights), ``"bf16-autocast"`` (torch only) or
            ``"fp16"`` (converted weights, GPU only).
        compile: ``torch.compile`` the encoder (torch only).
        quantize: ``None`` or ``"int8"`` (onnxruntime only).
        threads: intra-op threads (torch: process-wide ``torch.set_num_threads``; onnxruntime: per session).
            None (default): the cores other processes leave free, measured over 0.1 s overlapping the weight
            load (`seqtrack.runtime.threads.auto_threads`); ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` in the
            environment win over it; on a GPU the library's choice.
        config: model config or preset name when the file does not determine it.
        device: ``cpu``, ``cuda``, ``cuda:N``, ``mps``, ``auto`` or a `torch.device`, checked against the
            devices this machine has (`resolve_device`); for the onnxruntime backend ``cpu``, ``cuda[:N]``
            (its CUDA provider, `seqtrack.runtime.onnx_providers`) or ``auto``.
        fast: the fastest path this machine has that keeps the answers: on the CPU `seqtrack.runtime.fast`
            (bf16 or int8 encoder by CPU features, fp32 decoder), on a GPU the fp32 network replayed as CUDA
            graphs (same kernels, same tokens); torch backend, fp32 only.
        kernel: fp32 CPU linear kernels: ``auto`` (MKL or oneDNN, whichever a short timing finds faster,
            `seqtrack.runtime.kernels`), ``mkl`` (torch's default) or ``onednn``.
        cuda_graphs: replay the read-out as CUDA graphs, one per input shape
            (`seqtrack.runtime.cuda_graphs.GraphedPredictor`); CUDA device, torch backend, any converted dtype.
    Returns:
        A `SeqTrack` (torch fp32 / bf16 / fp16 without compile), a `TorchPredictor`, an `OnnxPredictor`, a
        `GraphedPredictor` (``cuda_graphs``, or ``fast`` on a GPU), or for ``fast`` on the CPU a `FastPredictor`
        or a torch-free `seqtrack.runtime.readout_session.OnnxReadout`.
    Raises:
        InputError: incompatible options, an unknown or absent device; CheckpointError / OnnxError:
            unreadable weights.
    """
    options = PredictorOptions(backend, dtype, compile, quantize, threads, fast, cuda_graphs)
    started = cpu_times()  # the load window of the automatic thread count overlaps reading the weights
    cache = GraphCache.from_environ() if isinstance(weights, (str, Path)) else None
    if options.fast and cache is not None and config is None and str(device) == "cpu":
        from seqtrack.runtime.fast_start import cached_fast_predictor

        weights = resolve_weights(weights)
        predictor = cached_fast_predictor(weights, options.threads, cache, started)
        if predictor is not None:
            return predictor

    # Before the weights are read: a device that does not exist must not cost a checkpoint load first.
    # ONNX Runtime is asked about its own providers (it may have CUDA where a CPU-only torch has not).
    providers = _onnx_providers(device) if options.backend == "onnxruntime" else None
    if providers is None:
        from seqtrack.runtime.devices import resolve_device

        device = resolve_device(device)
    if isinstance(weights, (str, Path)):
        weights = resolve_weights(weights)  # a registered name (``demo``, ``b256`` ...) or a path
    is_onnx = isinstance(weights, Path) and weights.suffix.lower() == ".onnx"
    if options.backend == "torch":
        if is_onnx:
            raise InputError(f"{weights} is an ONNX file: use --backend onnxruntime")
        return _torch_predictor(weights, options, config, device, started, cache, kernel)
    options = dataclasses.replace(options, threads=resolve_threads(options.threads, started))
    return _onnx_predictor(weights, is_onnx, options, config, cache, providers)


def _onnx_providers(device) -> list:
    """ONNX Runtime's execution providers for a ``--device`` value (``auto``: CUDA when this onnxruntime
    has it); `InputError` naming the device when it has not (`seqtrack.runtime.onnx_providers`)."""
    from seqtrack.runtime.onnx_providers import execution_providers, onnx_device_name

    return execution_providers(onnx_device_name(device))


def _torch_predictor(weights, options: PredictorOptions, config, device, started, cache, kernel: str):
    """The torch backend's predictor (`make_predictor` with ``backend="torch"``)."""
    import torch

    # Before the weights are read, as the device itself.
    if options.dtype == "fp16" and device.type == "cpu":
        raise InputError(f"device {device}: --dtype fp16 is a GPU precision (on the CPU use fp32, or --fast)")
    if (options.cuda_graphs or options.fast) and device.type not in ("cpu", "cuda"):
        raise InputError(f"device {device}: --fast and --cuda-graphs run on the CPU (--fast) or a CUDA device")
    if options.cuda_graphs and device.type != "cuda":
        raise InputError(f"device {device}: --cuda-graphs needs a CUDA device (--device cuda)")
    model = _torch_model(weights, config, device)
    threads = resolve_threads(options.threads, started, on_cpu=device.type == "cpu")
    if threads is not None:
        torch.set_num_threads(threads)
    if options.fast and device.type == "cpu":
        from seqtrack.runtime.fast import make_fast_predictor

        digest = cache.weights_digest(weights) if cache is not None and cache.enabled else None
        return make_fast_predictor(model, threads=threads, cache=cache, weights_sha256=digest)
    if device.type == "cpu" and options.dtype == "fp32":
        _fastest_linears(model, kernel)
    if options.dtype in ("bf16", "fp16"):
        model = model.to(torch.bfloat16 if options.dtype == "bf16" else torch.float16)
    if options.fast or options.cuda_graphs:  # on a CUDA device: the same network, its launches recorded
        from seqtrack.runtime.cuda_graphs import GraphedPredictor

        return GraphedPredictor(model)
    if options.dtype == "bf16-autocast" or options.compile:
        from seqtrack.runtime.torch_predictor import TorchPredictor

        autocast = torch.bfloat16 if options.dtype == "bf16-autocast" else None
        return TorchPredictor(model, autocast_dtype=autocast, compile=options.compile)
    return model


def _fastest_linears(model: SeqTrack, kernel: str) -> None:
    """fp32 linears on MKL or oneDNN, whichever is faster here (`seqtrack.runtime.kernels`)."""
    from seqtrack.runtime.kernels import choose_linear_kernel, use_linear_kernel

    config = model.config
    tokens = config.num_search_tokens + config.num_templates * config.num_template_tokens
    use_linear_kernel(model, choose_linear_kernel(model, tokens, kernel))


def _torch_model(weights, config, device) -> SeqTrack:
    from seqtrack.model.seqtrack import SeqTrack

    if isinstance(weights, SeqTrack):
        return weights.to(device).eval()
    from seqtrack.model.weights import load_model

    return load_model(weights, device=device, config=config)


def _onnx_predictor(
    weights, is_onnx: bool, options: PredictorOptions, config, cache: GraphCache | None, providers: list
) -> BoxPredictor:
    # Imported here: onnx/onnxruntime are optional, and the torch backend must not need them.
    from seqtrack.model.seqtrack import SeqTrack
    from seqtrack.runtime.onnxruntime import OnnxPredictor, float32_copy, quantize_int8, write_onnx

    if is_onnx and options.quantize is None:
        return OnnxPredictor(weights, providers=providers, threads=options.threads)
    # A graph traced from a weights file is kept in the graph cache (keyed by the file's bytes); one traced
    # from a module or quantised from a .onnx file goes to a temporary folder. The session holds the graph
    # in memory once created, so the file may go right after.
    key, fields = "", None
    if cache is not None and cache.enabled and not is_onnx:
        key, fields = _onnx_key(cache.weights_digest(weights), weights, config, options)
    else:
        cache = GraphCache(None)

    def build(path: Path) -> None:
        if is_onnx:
            source = Path(weights)
        else:
            # A module of the caller is traced on a copy (it may be bf16 or on a GPU); a file loads as fp32 CPU.
            fp32 = float32_copy(weights) if isinstance(weights, SeqTrack) else _torch_model(weights, config, "cpu")
            source = write_onnx(fp32, path.with_name(path.name + ".fp32.onnx") if options.quantize else path)
        if options.quantize == "int8":
            quantize_int8(source, path)
            if source != Path(weights):
                source.unlink(missing_ok=True)

    with cache.graph(key, build, fields) as path:
        return OnnxPredictor(path, providers=providers, threads=options.threads)


def _onnx_key(digest: str, weights: Path, config, options: PredictorOptions) -> tuple[str, dict]:
    """The graph-cache key of the ``--backend onnxruntime`` graph traced from a weights file."""
    from seqtrack.config import to_dict
    from seqtrack.errors import SeqTrackError
    from seqtrack.model.header import read_header
    from seqtrack.runtime.graph_cache import graph_key
    from seqtrack.runtime.onnxruntime import GRAPH_KIND

    try:
        stored = read_header(weights).config if config is None else None
    except SeqTrackError:  # loading it will say what is wrong
        stored = None
    described = to_dict(config) if isinstance(config, ModelConfig) else {"preset": config, "stored": stored}
    graph = {"graph": GRAPH_KIND, "batch": "dynamic", "dtype": "fp32", "quantize": options.quantize, "opset": 17}
    return graph_key(digest, described, graph)


# ---------------------------------------------------------------------------------------------- CLI glue
def predictor_from_args(
    args: argparse.Namespace, weights, config: ModelConfig | str | None = None, device: str | torch.device = "cpu"
) -> BoxPredictor:
    """`make_predictor` from the flags added by `add_predictor_arguments`."""
    from seqtrack.runtime.options import predictor_arguments

    return make_predictor(weights, config=config, device=device, **predictor_arguments(args))


__all__ = ["make_predictor", "predictor_from_args"]
