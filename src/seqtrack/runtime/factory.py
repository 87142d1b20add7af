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
  ``.onnx`` file or any checkpoint (traced on the fly into a temporary file, not validated: ``seqtrack
  export`` does that). ``quantize="int8"``: dynamic int8.
* ``threads``: intra-op threads. For ``torch`` this is process-wide (``torch.set_num_threads``). None: the
  free cores at start-up (`seqtrack.runtime.threads`), unless ``OMP_NUM_THREADS`` is set.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import torch

from seqtrack.config import ModelConfig
from seqtrack.errors import InputError
from seqtrack.model.registry import resolve_weights
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.runtime.devices import resolve_device
from seqtrack.runtime.options import PredictorOptions
from seqtrack.runtime.protocol import BoxPredictor
from seqtrack.runtime.threads import cpu_times, resolve_threads
from seqtrack.runtime.torch_predictor import TorchPredictor


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
) -> BoxPredictor:
    """A predictor for `Tracker` from weights and run options (see the module docstring).

    Args:
        weights: a registered model name (`seqtrack.model.registry`) or a checkpoint path (official
            ``.pth.tar``, state dict, our ``.safetensors``), a ``.onnx``
            file written by ``seqtrack export`` (onnxruntime backend only), or a `SeqTrack` already built
            (used as is: ``dtype="bf16"`` converts that module in place).
        backend: ``"torch"`` or ``"onnxruntime"``.
        dtype: ``"fp32"`` (default), ``"bf16"`` (converted weights) or ``"bf16-autocast"`` (torch only).
        compile: ``torch.compile`` the encoder (torch only).
        quantize: ``None`` or ``"int8"`` (onnxruntime only).
        threads: intra-op threads (torch: process-wide ``torch.set_num_threads``; onnxruntime: per session).
            None (default): the cores other processes leave free, measured over 0.1 s overlapping the weight
            load (`seqtrack.runtime.threads.auto_threads`); ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` in the
            environment win over it; on a GPU the library's choice.
        config: model config or preset name when the file does not determine it.
        device: ``cpu``, ``cuda``, ``cuda:N``, ``mps``, ``auto`` or a `torch.device`, checked against the
            devices this machine has (`resolve_device`); the onnxruntime backend runs on the CPU only.
        fast: the fastest path this CPU has that keeps the answers (`seqtrack.runtime.fast`: bf16 or int8
            encoder by CPU features, fp32 decoder); CPU, torch backend, fp32 only.
        kernel: fp32 CPU linear kernels: ``auto`` (MKL or oneDNN, whichever a short timing finds faster,
            `seqtrack.runtime.kernels`), ``mkl`` (torch's default) or ``onednn``.
    Returns:
        A `SeqTrack` (torch fp32 / bf16 without compile), a `TorchPredictor`, an `OnnxPredictor`, or a
        `FastPredictor` (``fast``).
    Raises:
        InputError: incompatible options, an unknown or absent device; CheckpointError / OnnxError:
            unreadable weights.
    """
    options = PredictorOptions(backend, dtype, compile, quantize, threads, fast)
    # Before the weights are read: a device that does not exist must not cost a checkpoint load first.
    device = resolve_device(device)
    if options.backend == "onnxruntime" and device.type != "cpu":
        raise InputError(f"device {device}: the onnxruntime backend runs on the CPU (use the torch backend)")
    started = cpu_times()  # the load window of the automatic thread count overlaps reading the weights
    if isinstance(weights, (str, Path)):
        weights = resolve_weights(weights)  # a registered name (``demo``, ``b256`` ...) or a path
    is_onnx = isinstance(weights, Path) and weights.suffix.lower() == ".onnx"
    if options.backend == "torch":
        if is_onnx:
            raise InputError(f"{weights} is an ONNX file: use --backend onnxruntime")
        model = _torch_model(weights, config, device)
        threads = resolve_threads(options.threads, started, on_cpu=device.type == "cpu")
        if threads is not None:
            torch.set_num_threads(threads)
        if options.fast:
            if device.type != "cpu":
                raise InputError(f"device {device}: --fast is a CPU path (use --dtype on a GPU)")
            from seqtrack.runtime.fast import make_fast_predictor

            return make_fast_predictor(model, threads=threads)
        if device.type == "cpu" and options.dtype == "fp32":
            _fastest_linears(model, kernel)
        if options.dtype == "bf16":
            model = model.to(torch.bfloat16)
        if options.dtype == "bf16-autocast" or options.compile:
            autocast = torch.bfloat16 if options.dtype == "bf16-autocast" else None
            return TorchPredictor(model, autocast_dtype=autocast, compile=options.compile)
        return model
    options = dataclasses.replace(options, threads=resolve_threads(options.threads, started))
    return _onnx_predictor(weights, is_onnx, options, config)


def _fastest_linears(model: SeqTrack, kernel: str) -> None:
    """fp32 linears on MKL or oneDNN, whichever is faster here (`seqtrack.runtime.kernels`)."""
    from seqtrack.runtime.kernels import choose_linear_kernel, use_linear_kernel

    config = model.config
    tokens = config.num_search_tokens + config.num_templates * config.num_template_tokens
    use_linear_kernel(model, choose_linear_kernel(model, tokens, kernel))


def _torch_model(weights, config, device) -> SeqTrack:
    if isinstance(weights, SeqTrack):
        return weights.to(device).eval()
    from seqtrack.model.weights import load_model

    return load_model(weights, device=device, config=config)


def _onnx_predictor(weights, is_onnx: bool, options: PredictorOptions, config) -> BoxPredictor:
    # Imported here: onnx/onnxruntime are optional, and the torch backend must not need them.
    from seqtrack.runtime.onnxruntime import OnnxPredictor, float32_copy, quantize_int8, write_onnx

    if is_onnx and options.quantize is None:
        return OnnxPredictor(weights, threads=options.threads)
    # The session holds the graph in memory once created, so the temporary files can go right after.
    with tempfile.TemporaryDirectory(prefix="seqtrack-onnx-") as work:
        if is_onnx:
            source = Path(weights)
        else:
            # A module of the caller is traced on a copy (it may be bf16 or on a GPU); a file loads as fp32 CPU.
            fp32 = float32_copy(weights) if isinstance(weights, SeqTrack) else _torch_model(weights, config, "cpu")
            source = write_onnx(fp32, Path(work) / "model.onnx")
        target = source
        if options.quantize == "int8":
            target = quantize_int8(source, Path(work) / "model.int8.onnx")
        return OnnxPredictor(target, threads=options.threads)


# ---------------------------------------------------------------------------------------------- CLI glue
def predictor_from_args(
    args: argparse.Namespace, weights, config: ModelConfig | str | None = None, device: str | torch.device = "cpu"
) -> BoxPredictor:
    """`make_predictor` from the flags added by `add_predictor_arguments`."""
    return make_predictor(
        weights,
        backend=args.backend,
        dtype=args.dtype,
        compile=args.compile,
        quantize=args.quantize,
        threads=args.threads,
        config=config,
        device=device,
        fast=getattr(args, "fast", False),
    )


__all__ = ["make_predictor", "predictor_from_args"]
