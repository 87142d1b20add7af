"""ONNX export of the whole SeqTrack read-out, and an ONNX Runtime predictor for the tracker.

The exported graph is the complete per-frame computation of `SeqTrack.generate`:

    inputs   templates  (B, T, 3, H, W) float32   normalised template crops
             search     (B, 3, S, S)    float32   normalised search crop
             window     ()              bool      Hann prior on the two centre steps (spec §4.1)
    outputs  tokens     (B, 4)          int64     greedy tokens in ``config.seq_format`` order
             probs      (B, 4)          float64   chosen (windowed) probabilities

The four greedy steps are unrolled in the graph (the step count is fixed by the vocabulary: END is
never generated), with the decoder's key/value cache carried as ordinary tensors between the steps,
so the graph computes exactly what the eager KV-cached loop computes. The window is an input rather
than two graphs: the prior is ``where(window, hann, 1)`` in float64 and multiplying by 1.0 is exact, so
both settings reproduce the eager path. ``B`` is a dynamic axis by default (several targets per call).

The model config travels inside the file (``metadata_props["seqtrack_config"]``, JSON), so
``OnnxPredictor(path)`` needs nothing else and ``Tracker(OnnxPredictor(path), config)`` just works.

``onnx`` and ``onnxruntime`` are the optional ``export`` extra and are imported only when used.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from seqtrack.config import ModelConfig, model_config_from_dict, to_dict
from seqtrack.errors import SeqTrackError
from seqtrack.model.seqtrack import NUM_COORDINATES, SeqTrack, stack_templates
from seqtrack.tokens import hann_window, start_token, window_steps

CONFIG_KEY = "seqtrack_config"
GRAPH_KEY = "seqtrack_graph"
GRAPH_KIND = "greedy-4step-v1"  # bump when the input/output contract changes
PRECISION_KEY = "seqtrack_precision"
INPUT_NAMES = ("templates", "search", "window")
OUTPUT_NAMES = ("tokens", "probs")
PROB_TOLERANCE = 1e-5  # validation: |probs_onnx - probs_torch| (the golden tolerance for confidences)


class ExportError(SeqTrackError):
    """Export or ONNX loading failed (bad file, missing optional dependency, validation mismatch)."""


def require(module: str) -> Any:
    """Import an optional dependency of the ``export`` extra, or raise one clear `ExportError`."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ExportError(f"this needs the optional package {module!r}: install the export extra, "
                          f"e.g. pip install 'seqtrack[export]' (onnx, onnxruntime)") from None


# ---------------------------------------------------------------------------------------------- graph
class GreedyReadout(nn.Module):
    """Traceable wrapper: encoder + four unrolled greedy decoder steps + Hann prior, as one forward.

    It runs the model's own modules (``encode``, the decoder layers' projections, attention, norms and
    FFN, ``vocab_embed``) in the order of the eager KV-cached loop (`SeqTrack.generate_from_memory`,
    `DecoderLayer.forward` with a cache), so the arithmetic is the eager path's. Two things differ in
    form only: the Python loop is unrolled by tracing and the cache is a list of tensors local to
    `forward`; and the window switch is a tensor (see the module docstring). The decoder step is
    spelled out here rather than calling ``DecoderLayer.forward`` because that method derives its
    causal flag from a tensor shape, which the tracer turns into a tensor that SDPA rejects.
    """

    def __init__(self, model: SeqTrack) -> None:
        super().__init__()
        self.model = model
        bins = model.config.bins
        # float64 on purpose (as np.hanning officially); a buffer so that it becomes a graph constant.
        self.register_buffer("hann", torch.from_numpy(hann_window(bins)), persistent=False)
        self.centre_steps = window_steps(model.config.seq_format)

    def forward(self, templates: torch.Tensor, search: torch.Tensor,
                window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``templates (B, T, 3, H, W)``, ``search (B, 3, S, S)``, ``window ()`` bool →
        ``tokens (B, 4)`` int64, ``probs (B, 4)`` float64."""
        model, bins = self.model, self.model.config.bins
        decoder = model.decoder
        memory = model.encode(templates, search)  # (B, N_mem, d)
        memory_pos = model.pos_embed[:, : memory.shape[1]]
        cross = [layer.memory_kv(memory, memory_pos) for layer in decoder.body.layers]
        past: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * len(decoder.body.layers)
        prior = torch.where(window, self.hann, torch.ones_like(self.hann))  # (bins,) float64
        # (B, 1) START tokens built from a batch-sized slice so the batch axis stays dynamic in the graph.
        token = torch.full_like(memory[:, :1, 0], start_token(bins), dtype=torch.long)
        positions = decoder.embedding.position_embeddings.weight
        tokens, probs = [], []
        for step in range(NUM_COORDINATES):
            x = decoder.embedding(token)  # (B, 1, d)
            query_pos = positions[step: step + 1].unsqueeze(0)  # (1, 1, d)
            for index, layer in enumerate(decoder.body.layers):
                x, past[index] = _layer_step(layer, x, query_pos, cross[index], past[index])
            state = decoder.body.norm(x)[:, -1]  # (B, d)
            p = model.vocab_embed(state).float().softmax(dim=-1)[:, :bins]
            if step in self.centre_steps:
                p = p.double() * prior
            value, index = p.max(dim=-1)
            tokens.append(index)
            probs.append(value.double())
            token = index.unsqueeze(1)
        return torch.stack(tokens, dim=1), torch.stack(probs, dim=1)


def _layer_step(layer, tgt: torch.Tensor, query_pos: torch.Tensor, cross_kv: tuple[torch.Tensor, torch.Tensor],
                past: tuple[torch.Tensor, torch.Tensor] | None) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """One new token through one `DecoderLayer` (eval mode: dropout is the identity).

    Args:
        tgt: ``(B, 1, d)`` the new token's state; query_pos: ``(1, 1, d)`` its position row.
        cross_kv: the layer's memory keys/values, heads ``(B, h, N_mem, d/h)``.
        past: self-attention keys/values of the earlier tokens ``(B, h, l, d/h)`` each, or None.
    Returns:
        The new state ``(B, 1, d)`` and the keys/values including this token.
    """
    pre = layer.pre_norm
    x = layer.norm1(tgt) if pre else tgt
    qk_in = x + query_pos
    attn = layer.self_attn
    q, k, v = attn.project(qk_in, 0), attn.project(qk_in, 1), attn.project(x, 2)
    if past is not None:
        k = torch.cat([past[0], k], dim=2)
        v = torch.cat([past[1], v], dim=2)
    # A single new token may attend to every earlier one: no mask needed.
    tgt = tgt + attn.attend(q, k, v, causal=False)
    if not pre:
        tgt = layer.norm1(tgt)
    x = layer.norm2(tgt) if pre else tgt
    q = layer.multihead_attn.project(x + query_pos, 0)
    tgt = tgt + layer.multihead_attn.attend(q, *cross_kv)
    if not pre:
        tgt = layer.norm2(tgt)
    x = layer.norm3(tgt) if pre else tgt
    tgt = tgt + layer.linear2(torch.relu(layer.linear1(x)))
    return (tgt if pre else layer.norm3(tgt)), (k, v)


def example_inputs(config: ModelConfig, batch: int = 1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded random ``templates (B, T, 3, H, W)`` and ``search (B, 3, S, S)`` float32 inputs."""
    generator = torch.Generator().manual_seed(seed)
    templates = torch.randn(batch, config.num_templates, 3, config.template_size, config.template_size,
                            generator=generator)
    search = torch.randn(batch, 3, config.search_size, config.search_size, generator=generator)
    return templates, search


# ---------------------------------------------------------------------------------------------- export
@dataclass
class ValidationResult:
    """ONNX Runtime against the eager PyTorch model on the same inputs, for one window setting.

    ``token_agreement`` is the share of the ``B x 4`` tokens that are equal; ``max_prob_diff`` the largest
    absolute difference of the chosen probabilities (meaningful where tokens agree).
    """

    window: bool
    batch: int
    token_agreement: float
    max_prob_diff: float

    @property
    def exact(self) -> bool:
        """Tokens identical and probabilities within `PROB_TOLERANCE`."""
        return self.token_agreement == 1.0 and self.max_prob_diff <= PROB_TOLERANCE


@dataclass
class ExportResult:
    """What `export_onnx` wrote and how it compared with PyTorch."""

    path: Path
    precision: str  # "fp32" or "int8"
    size_bytes: int
    validation: list[ValidationResult]

    def summary(self) -> str:
        checks = ", ".join(f"window {'on' if v.window else 'off'}: tokens {v.token_agreement:.0%} equal, "
                           f"max |dprob| {v.max_prob_diff:.1e}" for v in self.validation)
        return f"{self.path} ({self.precision}, {self.size_bytes / 2**20:.1f} MiB){'; ' + checks if checks else ''}"


def export_onnx(model: SeqTrack, path: str | Path, batch: int = 1, opset: int = 17, dynamic_batch: bool = True,
                quantize: str | None = None, validate: bool = True, strict: bool = True,
                threads: int | None = None) -> ExportResult:
    """Export ``model`` (float32, CPU) as one ONNX graph and check it against PyTorch.

    Args:
        model: a `SeqTrack`; it is traced on a float32 CPU copy, the caller's model is left untouched.
        path: output ``.onnx`` file (written atomically: a temporary file, then a rename).
        batch: batch used for tracing and validation; with ``dynamic_batch=False`` the only batch accepted.
        opset: ONNX opset (17 has LayerNormalization; lower ones decompose it).
        dynamic_batch: make ``B`` a dynamic axis (one session serves 1..N targets).
        quantize: ``None`` or ``"int8"`` (dynamic int8 encoder MatMuls, see `quantize_int8`).
        validate: run ONNX Runtime on seeded random inputs, window on and off, and compare.
        strict: with ``validate``, raise `ExportError` when an fp32 export is not exact (tokens equal,
            probabilities within 1e-5). int8 exports are never exact; their agreement is only reported.
        threads: ONNX Runtime threads for the validation session.
    Returns:
        An `ExportResult` (path, size, validation numbers).
    """
    onnx = require("onnx")
    if quantize not in (None, "int8"):
        raise ExportError(f"unknown quantisation {quantize!r}; supported: int8")
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise ExportError(f"output folder does not exist: {path.parent}")
    config = model.config
    # Trace a float32 CPU copy: the graph must be fp32 whatever the caller's model is, and
    # tracing must not touch the caller's module.
    with torch.device("meta"):  # no random initialisation of weights that are overwritten right away
        source = SeqTrack(config)
    source = source.to_empty(device="cpu")
    source.load_state_dict({k: v.detach().float().cpu() for k, v in model.state_dict().items()}, strict=True)
    # eval() on the wrapper itself: the exporter restores the wrapper's training flag afterwards, and a
    # fresh module is in training mode, which would switch the decoder's dropout on for validation.
    graph = GreedyReadout(source).eval()
    templates, search = example_inputs(config, batch)
    window = torch.tensor(True)
    dynamic_axes = None
    if dynamic_batch:
        dynamic_axes = {"templates": {0: "batch"}, "search": {0: "batch"}, "tokens": {0: "batch"},
                        "probs": {0: "batch"}}
    with tempfile.TemporaryDirectory(dir=path.parent) as work:
        fp32_path = Path(work) / "model.onnx"
        _trace_to_onnx(graph, (templates, search, window), fp32_path, opset, dynamic_axes)
        proto = onnx.load(str(fp32_path))
        _set_metadata(proto, config, "fp32")
        onnx.save(proto, str(fp32_path))
        del proto
        final = fp32_path
        if quantize == "int8":
            final = Path(work) / "model.int8.onnx"
            quantize_int8(fp32_path, final)
        # Checked before it takes the target name: a failed check leaves no file behind.
        checks = validate_onnx(source, final, batch=batch, threads=threads) if validate else []
        precision = "int8" if quantize else "fp32"
        bad = [c for c in checks if not c.exact]
        if strict and precision == "fp32" and bad:
            c = bad[0]
            raise ExportError(f"{path}: ONNX Runtime disagrees with PyTorch (window {'on' if c.window else 'off'}: "
                              f"{c.token_agreement:.0%} tokens equal, max |dprob| {c.max_prob_diff:.2e}); "
                              "file not written")
        os.replace(final, path)
    return ExportResult(path=path, precision=precision, size_bytes=path.stat().st_size, validation=checks)


def _trace_to_onnx(graph: nn.Module, args: tuple, path: Path, opset: int, dynamic_axes) -> None:
    import warnings

    # The TorchScript exporter (dynamo=False) handles the unrolled Python loop and the cache lists
    # directly and needs no onnxscript; its deprecation and tracer warnings are expected here.
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(graph, args, str(path), dynamo=False, opset_version=opset,
                          input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
                          dynamic_axes=dynamic_axes, do_constant_folding=True)


def _set_metadata(proto, config: ModelConfig, precision: str) -> None:
    props = {CONFIG_KEY: json.dumps(to_dict(config)), GRAPH_KEY: GRAPH_KIND, PRECISION_KEY: precision}
    kept = [p for p in proto.metadata_props if p.key not in props]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value


def quantize_int8(source: str | Path, target: str | Path) -> Path:
    """Dynamic int8 quantisation of the encoder: int8 weights (per output channel), activations
    quantised on the fly, int32 accumulation.

    Only the encoder's (and only its weight) MatMuls are quantised: they hold > 99 % of the FLOPs.
    Left in fp32, on purpose: the attention products (activation x activation: quantising them costs
    accuracy, not time), the 16x16 patch-embedding Conv (ONNX Runtime's ConvInteger is slower than its
    float convolution), and the whole decoder and vocabulary head, whose logits pick one of 4000
    nearly equal neighbouring bins, for a negligible share of the time. The model config metadata is
    carried over.
    """
    import logging

    onnx = require("onnx")
    quantization = require("onnxruntime.quantization")
    source, target = Path(source), Path(target)
    config = read_config(source)
    nodes = onnx.load(str(source), load_external_data=False).graph.node
    # An allow-list (not an exclusion list): the quantiser rewrites Gemm nodes under new names first.
    encoder = [n.name for n in nodes if n.op_type == "MatMul" and "/encoder/" in n.name]
    # quantize_dynamic logs a "consider pre-processing" hint through the root logger; the symbolic shape
    # inference behind that pre-processing fails on this graph, and the result is the same without it.
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        quantization.quantize_dynamic(str(source), str(target), weight_type=quantization.QuantType.QInt8,
                                      per_channel=True, op_types_to_quantize=["MatMul"],
                                      nodes_to_quantize=encoder, extra_options={"MatMulConstBOnly": True})
    finally:
        root.setLevel(level)
    proto = onnx.load(str(target))
    _set_metadata(proto, config, "int8")
    onnx.save(proto, str(target))
    return target


def read_config(path: str | Path) -> ModelConfig:
    """The `ModelConfig` stored in an exported file's metadata."""
    onnx = require("onnx")
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"ONNX file not found: {path}")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # protobuf raises several types for damaged files
        raise ExportError(f"{path} is not a readable ONNX file: {type(error).__name__}: {error}") from None
    props = {p.key: p.value for p in proto.metadata_props}
    return _config_from_props(props, path)


def _config_from_props(props: dict[str, str], path: Path) -> ModelConfig:
    if CONFIG_KEY not in props:
        raise ExportError(f"{path} was not written by seqtrack export (no {CONFIG_KEY!r} metadata)")
    if props.get(GRAPH_KEY) != GRAPH_KIND:
        raise ExportError(f"{path} holds graph kind {props.get(GRAPH_KEY)!r}, this version reads {GRAPH_KIND!r}")
    try:
        return model_config_from_dict(json.loads(props[CONFIG_KEY]))
    except (ValueError, TypeError, SeqTrackError) as error:
        raise ExportError(f"{path}: invalid model config in its metadata: {error}") from None


def validate_onnx(model: SeqTrack, path: str | Path, batch: int = 1, seed: int = 0,
                  threads: int | None = None) -> list[ValidationResult]:
    """Compare an exported file with the eager model on seeded random inputs, window on and off."""
    predictor = OnnxPredictor(path, threads=threads)
    model = model.eval()
    templates, search = example_inputs(model.config, batch, seed)
    results = []
    for window in (True, False):
        ref_tokens, ref_probs = model.generate(templates, search, window=window)
        tokens, probs = predictor.generate(templates, search, window=window)
        same = tokens == ref_tokens
        diff = (probs - ref_probs).abs()[same]
        results.append(ValidationResult(window=window, batch=batch, token_agreement=float(same.double().mean()),
                                        max_prob_diff=float(diff.max()) if diff.numel() else float("nan")))
    return results


# ---------------------------------------------------------------------------------------------- runtime
class OnnxPredictor:
    """An ONNX Runtime session that quacks like `SeqTrack` for the `Tracker`.

    Attributes:
        config: the `ModelConfig` read from the file's metadata.
        device: ``"cpu"``; the tracker builds its crops there.
        dtype: ``torch.float32``, the input dtype of the graph.
        precision: ``"fp32"`` or ``"int8"``.
        path: the file.

    Args:
        path: a file written by `export_onnx`.
        providers: ONNX Runtime execution providers (default ``["CPUExecutionProvider"]``).
        threads: intra-op threads (default: ONNX Runtime's choice, one per physical core).
        spinning: let idle pool threads spin; off by default because spinning threads steal the
            core from the other work of a shared machine (crop, other processes) between calls.
    """

    def __init__(self, path: str | Path, providers: list[str] | None = None, threads: int | None = None,
                 spinning: bool = False) -> None:
        ort = require("onnxruntime")
        self.path = Path(path)
        if not self.path.is_file():
            raise ExportError(f"ONNX file not found: {self.path}")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        if threads:
            options.intra_op_num_threads = int(threads)
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=options,
                                                providers=providers or ["CPUExecutionProvider"])
        except Exception as error:  # ORT raises its own Fail/InvalidGraph/... types
            raise ExportError(f"{self.path} could not be loaded by ONNX Runtime: {error}") from None
        props = dict(self.session.get_modelmeta().custom_metadata_map)
        self.config = _config_from_props(props, self.path)
        self.precision = props.get(PRECISION_KEY, "fp32")
        self.device = torch.device("cpu")
        self.dtype = torch.float32
        shape = self.session.get_inputs()[1].shape[0]
        self.fixed_batch = shape if isinstance(shape, int) else None

    def generate(self, templates, search: torch.Tensor, window: bool | float = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Same contract as `SeqTrack.generate`, except that the exported graph applies the window as is or
        not at all: a window power other than 0 or 1 raises `ExportError`.

        Args:
            templates: ``(B, T, 3, H, W)`` (or a list of T ``(B, 3, H, W)``); search: ``(B, 3, S, S)``.
        Returns:
            ``tokens (B, 4)`` int64 and ``probs (B, 4)`` float64 torch tensors (CPU).
        """
        if float(window) not in (0.0, 1.0):
            raise ExportError(f"{self.path}: an exported graph applies the Hann window as is or not at all; "
                              f"window power {float(window):g} needs the torch backend")
        templates = stack_templates(templates)
        batch = search.shape[0]
        if self.fixed_batch is not None and batch != self.fixed_batch:
            raise ExportError(f"{self.path} was exported for batch {self.fixed_batch}, got {batch} targets "
                              "(export with a dynamic batch to track a varying number of targets)")
        feeds = {"templates": _numpy32(templates), "search": _numpy32(search), "window": np.array(bool(window))}
        tokens, probs = self.session.run(list(OUTPUT_NAMES), feeds)
        return torch.from_numpy(tokens), torch.from_numpy(probs)

    def __repr__(self) -> str:
        return f"OnnxPredictor({str(self.path)!r}, {self.config.name}, {self.precision})"


def _numpy32(tensor: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().to(device="cpu", dtype=torch.float32).numpy())


__all__ = ["export_onnx", "OnnxPredictor", "quantize_int8", "validate_onnx", "read_config", "ExportError",
           "ExportResult", "ValidationResult", "GreedyReadout", "example_inputs"]
