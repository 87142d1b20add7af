"""One call from a weights file to a predictor the `Tracker` accepts, for every backend we support.

    predictor = make_predictor("seqtrack_b256.safetensors", backend="onnxruntime", quantize="int8")
    tracker = Tracker(predictor, tracker_config)

A *predictor* is anything with ``config`` (`ModelConfig`), ``device``, ``dtype`` and
``generate(templates (B,T,3,H,W), search (B,3,S,S), window) -> tokens (B,4) int64, probs (B,4) float64``:
a plain `SeqTrack` (fp32 eager, the default and the reference), a `TorchPredictor` (autocast and/or
``torch.compile``), or an `OnnxPredictor`.

Options (the numbers behind the defaults are in ``benchmarks/results/speed.md``):

* ``backend="torch"``, ``dtype="fp32"``: the reference path, bit-for-bit what the golden tests check.
* ``dtype="bf16"``: weights and crops converted to bfloat16 (``model.to(torch.bfloat16)``);
  ``dtype="bf16-autocast"``: fp32 weights under ``torch.autocast("cpu", torch.bfloat16)``. Both are
  options only: they change tokens, and on CPUs without native bf16 (AVX512-BF16/AMX) they are slower.
* ``compile=True``: the encoder through ``torch.compile`` (needs a C++ compiler; the first frame pays
  the compilation, tens of seconds).
* ``backend="onnxruntime"``: the exported graph (`seqtrack.export.onnx`); ``weights`` may be a ``.onnx``
  file or any checkpoint (exported on the fly into a temporary file). ``quantize="int8"``: dynamic int8.
* ``threads``: intra-op threads. For ``torch`` this is process-wide (``torch.set_num_threads``).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from pathlib import Path

import torch

from seqtrack.config import ModelConfig
from seqtrack.errors import InputError
# The options and their flags live in a torch-free module so that building the CLI parser stays fast.
from seqtrack.export.options import (BACKENDS, DTYPES, QUANTIZATIONS, PredictorOptions,  # noqa: F401
                                     add_predictor_arguments)
from seqtrack.model.seqtrack import SeqTrack


class TorchPredictor:
    """A `SeqTrack` run under ``torch.autocast`` and/or with a ``torch.compile``-d encoder.

    The decoder's four greedy steps stay eager (they are tiny and shape-changing); the encoder, which
    holds almost all the FLOPs, is compiled once per batch size (``dynamic=False``: one graph per number
    of targets, recompiled on the first frame with a new count).

    Attributes:
        model: the wrapped network; config, device, dtype: as the tracker expects (``dtype`` is the
            dtype of the crops the tracker should build: the parameters' dtype).
    """

    def __init__(self, model: SeqTrack, autocast_dtype: torch.dtype | None = None, compile: bool = False) -> None:
        self.model = model.eval()
        self.config: ModelConfig = model.config
        parameter = next(model.parameters())
        self.device, self.dtype = parameter.device, parameter.dtype
        self.autocast_dtype = autocast_dtype
        self.compiled = compile
        self._encode = torch.compile(model.encode, dynamic=False) if compile else model.encode

    def _context(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    @torch.inference_mode()
    def generate(self, templates, search: torch.Tensor, window: bool | float = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Same contract as `SeqTrack.generate`."""
        with self._context():
            memory = self._encode(templates, search)
            return self.model.generate_from_memory(memory, window=window)

    def __repr__(self) -> str:
        extra = [f"autocast {self.autocast_dtype}"] if self.autocast_dtype else []
        extra += ["compiled"] if self.compiled else []
        return f"TorchPredictor({self.config.name}, {self.dtype}{', ' + ', '.join(extra) if extra else ''})"


def make_predictor(weights: str | Path | SeqTrack, backend: str = "torch", dtype: str = "fp32",
                   compile: bool = False, quantize: str | None = None, threads: int | None = None,
                   config: ModelConfig | str | None = None, device: str | torch.device = "cpu"):
    """A predictor for `Tracker` from weights and run options (see the module docstring).

    Args:
        weights: a checkpoint path (official ``.pth.tar``, state dict, our ``.safetensors``), a ``.onnx``
            file written by ``seqtrack export`` (onnxruntime backend only), or a `SeqTrack` already built
            (used as is: ``dtype="bf16"`` converts that module in place).
        backend: ``"torch"`` or ``"onnxruntime"``.
        dtype: ``"fp32"`` (default), ``"bf16"`` (converted weights) or ``"bf16-autocast"`` (torch only).
        compile: ``torch.compile`` the encoder (torch only).
        quantize: ``None`` or ``"int8"`` (onnxruntime only).
        threads: intra-op threads (torch: process-wide ``torch.set_num_threads``; onnxruntime: per session).
        config: model config or preset name when the file does not determine it.
        device: torch device (the onnxruntime backend runs on CPU).
    Returns:
        A `SeqTrack` (torch fp32 / bf16 without compile), a `TorchPredictor`, or an `OnnxPredictor`.
    Raises:
        InputError: incompatible options; CheckpointError / ExportError: unreadable weights.
    """
    options = PredictorOptions(backend, dtype, compile, quantize, threads)
    is_onnx = isinstance(weights, (str, Path)) and Path(weights).suffix.lower() == ".onnx"
    if options.backend == "torch":
        if is_onnx:
            raise InputError(f"{weights} is an ONNX file: use --backend onnxruntime")
        if options.threads is not None:
            torch.set_num_threads(options.threads)
        model = _torch_model(weights, config, device)
        if options.dtype == "bf16":
            model = model.to(torch.bfloat16)
        if options.dtype == "bf16-autocast" or options.compile:
            autocast = torch.bfloat16 if options.dtype == "bf16-autocast" else None
            return TorchPredictor(model, autocast_dtype=autocast, compile=options.compile)
        return model
    return _onnx_predictor(weights, is_onnx, options, config)


def _torch_model(weights, config, device) -> SeqTrack:
    if isinstance(weights, SeqTrack):
        return weights.to(device).eval()
    from seqtrack.model.weights import load_model

    return load_model(weights, device=device, config=config)


def _onnx_predictor(weights, is_onnx: bool, options: PredictorOptions, config):
    from seqtrack.export.onnx import OnnxPredictor, export_onnx, quantize_int8

    if is_onnx and options.quantize is None:
        return OnnxPredictor(weights, threads=options.threads)
    # The session holds the graph in memory once created, so the temporary file can go right after.
    with tempfile.TemporaryDirectory(prefix="seqtrack-onnx-") as work:
        target = Path(work) / "model.onnx"
        if is_onnx:
            quantize_int8(weights, target)
        else:
            model = _torch_model(weights, config, "cpu")
            export_onnx(model, target, quantize=options.quantize, validate=False)
        return OnnxPredictor(target, threads=options.threads)


# ---------------------------------------------------------------------------------------------- CLI glue
def predictor_from_args(args: argparse.Namespace, weights, config: ModelConfig | str | None = None,
                        device: str | torch.device = "cpu"):
    """`make_predictor` from the flags added by `add_predictor_arguments`."""
    return make_predictor(weights, backend=args.backend, dtype=args.dtype, compile=args.compile,
                          quantize=args.quantize, threads=args.threads, config=config, device=device)


__all__ = ["make_predictor", "PredictorOptions", "TorchPredictor", "add_predictor_arguments",
           "predictor_from_args", "BACKENDS", "DTYPES", "QUANTIZATIONS"]
