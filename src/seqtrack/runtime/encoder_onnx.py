"""The encoder alone as an ONNX Runtime session (`OnnxEncoder`), fp32 or int8, for the fast path.

The fast path (`seqtrack.runtime.fast`) runs only the encoder, which holds almost all the FLOPs, through
ONNX Runtime, and keeps the decoder, the read-out and the Hann window (any power) in torch fp32, so the
numerically delicate part (four greedy arg-maxes over neighbouring bins) is exactly the reference code.

The graph: ``templates (B, T, 3, H, W)``, ``search (B, 3, S, S)`` float32 normalised crops →
``memory (B, N_mem, d)`` float32 (`SeqTrack.encode`: ViT, token selection, bottleneck). Quantisation
acts on the graph's weight MatMuls, chosen by module name (``encoder.body.blocks.0.mlp.fc1``), so that
layers found sensitive stay in fp32 (`quantize_encoder`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqtrack.model.seqtrack import SeqTrack, stack_templates
from seqtrack.runtime.onnxruntime import (
    OnnxError,
    example_inputs,
    quantize_matmuls_dynamic,
    quiet_root_logger,
    require,
)
from seqtrack.runtime.readout_session import OnnxReadout, cpu_session

ENCODER_INPUTS = ("templates", "search")


class EncoderGraph(nn.Module):
    """``model.encode`` as a module, for the tracer."""

    def __init__(self, model: SeqTrack) -> None:
        super().__init__()
        self.model = model

    def forward(self, templates: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        """``(B, T, 3, H, W)``, ``(B, 3, S, S)`` → memory ``(B, N_mem, d)``."""
        return self.model.encode(templates, search)


def write_encoder_onnx(model: SeqTrack, path: str | Path, opset: int = 17) -> Path:
    """Trace ``model.encode`` (a float32 CPU `SeqTrack` in eval mode) into ``path``, batch dynamic."""
    require("onnx")
    if model.dtype != torch.float32 or model.device.type != "cpu":
        raise OnnxError(f"the encoder graph is traced from a float32 CPU model, got {model.dtype} on {model.device}")
    templates, search = example_inputs(model.config)
    axes = {name: {0: "batch"} for name in ENCODER_INPUTS + ("memory",)}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TorchScript exporter deprecation / tracer warnings are expected
        torch.onnx.export(
            EncoderGraph(model).eval(),
            (templates, search),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=list(ENCODER_INPUTS),
            output_names=["memory"],
            dynamic_axes=axes,
            do_constant_folding=True,
        )
    return Path(path)


def matmul_nodes(path: str | Path) -> dict[str, str]:
    """Weight MatMul nodes of an encoder graph: node name → module name (``encoder.body.blocks.0.attn.qkv``).

    The TorchScript exporter names a ``Linear``'s product ``/model/<module path with />/MatMul``.
    """
    onnx = require("onnx")
    graph = onnx.load(str(path), load_external_data=False).graph
    weights = {init.name for init in graph.initializer}
    found = {}
    for node in graph.node:
        if node.op_type == "MatMul" and len(node.input) == 2 and node.input[1] in weights:
            parts = node.name.strip("/").split("/")
            module = ".".join(parts[1:-1]) if parts and parts[0] == "model" else ".".join(parts[:-1])
            found[node.name] = module
    return found


def quantize_encoder(
    source: str | Path,
    target: str | Path,
    keep_fp32: Iterable[str] = (),
    calibration: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
) -> Path:
    """int8 weight MatMuls of the encoder graph, except the modules named in ``keep_fp32``.

    Args:
        keep_fp32: module names (``encoder.body.blocks.5.mlp.fc2``) or prefixes (``encoder.body.blocks.5``,
            ``bottleneck``) that stay fp32.
        calibration: ``[(templates (B, T, 3, H, W), search (B, 3, S, S))]`` float32 crops: static
            quantisation (QDQ, activation ranges from these crops, per-channel int8 weights) when given;
            dynamic (activation ranges computed per call) when None.
    Returns:
        ``target``.
    """
    quantization = require("onnxruntime.quantization")
    keep = tuple(keep_fp32)
    chosen = [
        node for node, module in matmul_nodes(source).items() if not any(_under(module, prefix) for prefix in keep)
    ]
    if not chosen:
        raise OnnxError("quantize_encoder: keep_fp32 leaves no MatMul to quantise")
    if calibration is None:
        quantize_matmuls_dynamic(source, target, chosen)
        return Path(target)
    with quiet_root_logger():
        quantization.quantize_static(
            str(source),
            str(target),
            _CropReader(calibration),
            quant_format=quantization.QuantFormat.QDQ,
            activation_type=quantization.QuantType.QUInt8,
            weight_type=quantization.QuantType.QInt8,
            per_channel=True,
            # AVX2 has no VNNI: u8 x s8 products can saturate in 16 bits; 7-bit weights avoid it.
            reduce_range=not _has_vnni(),
            op_types_to_quantize=["MatMul"],
            nodes_to_quantize=chosen,
            extra_options={"MatMulConstBOnly": True},
        )
    return Path(target)


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _has_vnni() -> bool:
    from seqtrack.runtime.cpu import cpu_features

    return cpu_features().vnni


class _CropReader:
    """ONNX Runtime's CalibrationDataReader protocol over a list of crop pairs."""

    def __init__(self, crops: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        self._items = iter([{"templates": _f32(t), "search": _f32(s)} for t, s in crops])

    def get_next(self):
        return next(self._items, None)


def _f32(array) -> np.ndarray:
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    return np.ascontiguousarray(array, dtype=np.float32)


class OnnxEncoder:
    """An ONNX Runtime session of an encoder graph: ``(templates, search) → memory`` torch tensors.

    Args:
        path: a graph written by `write_encoder_onnx` (optionally through `quantize_encoder`).
        threads: intra-op threads (None: ONNX Runtime's choice, one per physical core).
    """

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        self.session = cpu_session(path, threads)
        self.path = Path(path)

    def __call__(self, templates, search: torch.Tensor) -> torch.Tensor:
        """``templates (B, T, 3, H, W)`` (or a list), ``search (B, 3, S, S)`` → memory ``(B, N_mem, d)`` float32."""
        feeds = {"templates": _f32(stack_templates(templates)), "search": _f32(search)}
        return torch.from_numpy(self.session.run(["memory"], feeds)[0])


# ---------------------------------------------------------------------------------------------- whole read-out
class PriorReadoutGraph(nn.Module):
    """``encode`` then ``generate_from_memory`` with the window as an input ``prior (bins,)`` float64, so
    that one graph serves any window power (``hann ** p``, or ones for no window: multiplying by 1.0 is
    exact). Unlike `seqtrack.runtime.onnxruntime.ReadoutGraph` (the ``seqtrack export`` file format,
    window on/off only) this graph is built in memory for the fast path and never written for users."""

    def __init__(self, model: SeqTrack) -> None:
        super().__init__()
        self.model = model

    def forward(self, templates, search, prior, history=None):
        """``(B, T, 3, H, W)``, ``(B, 3, S, S)``, ``(bins,)`` float64[, ``(B, 4K)`` int64] → tokens, probs."""
        memory = self.model.encode(templates, search)
        extra = {} if history is None else {"history": history}
        return self.model.generate_from_memory(memory, prior=prior, **extra)


def write_readout_onnx(model: SeqTrack, path: str | Path, opset: int = 17) -> Path:
    """Trace `PriorReadoutGraph` of a float32 CPU ``model`` into ``path`` (batch dynamic); run it with
    `seqtrack.runtime.readout_session.OnnxReadout` (torch-free)."""
    from seqtrack.runtime.onnxruntime import example_history

    require("onnx")
    templates, search = example_inputs(model.config)
    history = example_history(model.config)
    prior = model.hann_window(torch.device("cpu"))
    names = ["templates", "search", "prior"] + ([] if history is None else ["history"])
    inputs = (templates, search, prior) + (() if history is None else (history,))
    axes = {name: {0: "batch"} for name in names + ["tokens", "probs"] if name != "prior"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            PriorReadoutGraph(model).eval(),
            inputs,
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=names,
            output_names=["tokens", "probs"],
            dynamic_axes=axes,
            do_constant_folding=True,
        )
    return Path(path)


__all__ = [
    "OnnxEncoder",
    "OnnxReadout",
    "EncoderGraph",
    "PriorReadoutGraph",
    "write_encoder_onnx",
    "write_readout_onnx",
    "quantize_encoder",
    "matmul_nodes",
]
