"""The SeqTrack read-out as one ONNX graph: writing it (`write_onnx`, `quantize_int8`) and running it
under ONNX Runtime (`OnnxPredictor`, a `BoxPredictor`).

The graph is the complete per-frame computation of `SeqTrack.generate`:

    inputs   templates  (B, T, 3, H, W) float32   normalised template crops
             search     (B, 3, S, S)    float32   normalised search crop
             window     ()              bool      Hann prior on the two centre steps (docs/official-behaviour.md §4.1)
             history    (B, 4K)         int64     only for a temporal model (``config.temporal_frames`` = K > 0):
                                                  the K previous boxes as tokens in this search crop
    outputs  tokens     (B, 4)          int64     greedy tokens in ``config.seq_format`` order
             probs      (B, 4)          float64   chosen (windowed) probabilities

It is the model's own code traced (`ReadoutGraph`: ``encode`` then ``generate_from_memory``): the four
greedy steps are unrolled by the tracer (the step count is fixed by the vocabulary: END is never
generated) and the decoder's key/value cache becomes ordinary tensors between them, so the graph
computes exactly what the eager KV-cached loop computes (a bidirectional model: its one pass; separate
encoding: the encoder run per image, all inside ``encode``). The window is an input rather than two graphs:
it becomes the prior ``where(window, hann, 1)`` in float64, and multiplying by 1.0 is exact, so both
settings reproduce the eager path. ``B`` is a dynamic axis by default (several targets per call).

The model config travels inside the file (``metadata_props["seqtrack_config"]``, JSON), so
``OnnxPredictor(path)`` needs nothing else. On load that config is type- and range-checked like any other
(`seqtrack.config.ModelConfig`), and the graph must agree with it: the inputs' template count and sizes
and the search size, the vocabulary where the graph shows it, and every token the graph returns.
Checking a written graph against PyTorch is `seqtrack.export.onnx`'s job. ``onnx`` and ``onnxruntime``
are the optional ``export`` extra and are imported only when used.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from seqtrack.config import ModelConfig, to_dict
from seqtrack.errors import InputError, SeqTrackError, safe_text
from seqtrack.model.header import check_model_config
from seqtrack.model.seqtrack import SeqTrack, stack_templates
from seqtrack.runtime.onnx_errors import OnnxError, require
from seqtrack.runtime.onnx_providers import CPU as CPU_PROVIDER
from seqtrack.runtime.onnx_providers import check_session_providers, provider_label

CONFIG_KEY = "seqtrack_config"
GRAPH_KEY = "seqtrack_graph"
GRAPH_KIND = "greedy-4step-v1"  # bump when the input/output contract changes
PRECISION_KEY = "seqtrack_precision"
INPUT_NAMES = ("templates", "search", "window")  # + HISTORY_INPUT for a temporal model (`input_names`)
HISTORY_INPUT = "history"
OUTPUT_NAMES = ("tokens", "probs")


# ---------------------------------------------------------------------------------------------- graph
class ReadoutGraph(nn.Module):
    """The traced computation: ``model.encode``, then ``model.generate_from_memory`` with the window
    switch as a prior tensor (see the module docstring); nothing of the read-out is re-implemented here."""

    def __init__(self, model: SeqTrack) -> None:
        super().__init__()
        self.model = model
        # float64 on purpose (as np.hanning officially); a buffer so that it becomes a graph initializer.
        self.register_buffer("hann", model.hann_window(torch.device("cpu")), persistent=False)

    def forward(
        self, templates: torch.Tensor, search: torch.Tensor, window: torch.Tensor, history: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``templates (B, T, 3, H, W)``, ``search (B, 3, S, S)``, ``window ()`` bool, ``history (B, 4K)``
        int64 (temporal models only) → ``tokens (B, 4)`` int64, ``probs (B, 4)`` float64."""
        prior = torch.where(window, self.hann, torch.ones_like(self.hann))  # (bins,) float64
        memory = self.model.encode(templates, search)
        if history is None:  # the default graph is traced exactly as before the temporal option existed
            return self.model.generate_from_memory(memory, prior=prior)
        return self.model.generate_from_memory(memory, prior=prior, history=history)


def input_names(config: ModelConfig) -> tuple[str, ...]:
    """The graph inputs for ``config``: `INPUT_NAMES`, plus ``history`` when ``config.temporal_frames > 0``."""
    return INPUT_NAMES + ((HISTORY_INPUT,) if config.temporal_frames > 0 else ())


def example_history(config: ModelConfig, batch: int = 1, seed: int = 0) -> torch.Tensor | None:
    """Seeded random ``history (B, 4K)`` int64 coordinate tokens in ``[0, bins)`` for a temporal model;
    None when ``config.temporal_frames`` is 0."""
    if config.temporal_frames == 0:
        return None
    generator = torch.Generator().manual_seed(seed + 1)
    return torch.randint(0, config.bins, (batch, 4 * config.temporal_frames), generator=generator)


def example_inputs(config: ModelConfig, batch: int = 1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded random ``templates (B, T, 3, H, W)`` and ``search (B, 3, S, S)`` float32 inputs."""
    generator = torch.Generator().manual_seed(seed)
    templates = torch.randn(
        batch, config.num_templates, 3, config.template_size, config.template_size, generator=generator
    )
    search = torch.randn(batch, 3, config.search_size, config.search_size, generator=generator)
    return templates, search


def float32_copy(model: SeqTrack) -> SeqTrack:
    """An eval-mode float32 CPU copy of ``model`` (what `write_onnx` traces; the original is untouched)."""
    with torch.device("meta"):  # no random initialisation of weights that are overwritten right away
        copy = SeqTrack(model.config)
    copy = copy.to_empty(device="cpu")
    copy.load_state_dict({k: v.detach().float().cpu() for k, v in model.state_dict().items()}, strict=True)
    return copy.eval()


def write_onnx(model: SeqTrack, path: str | Path, batch: int = 1, opset: int = 17, dynamic_batch: bool = True) -> Path:
    """Trace ``model`` into an fp32 ONNX file carrying our metadata (not validated: see `export_onnx`).

    Args:
        model: a float32 CPU `SeqTrack` (e.g. from `float32_copy`); it is left in eval mode.
        path: the ``.onnx`` file to write (written in place: callers write into a temporary folder).
        batch: batch of the tracing inputs; with ``dynamic_batch=False`` the only batch accepted.
        opset: ONNX opset (17 has LayerNormalization; lower ones decompose it).
        dynamic_batch: make ``B`` a dynamic axis (one session serves 1..N targets).
    Returns:
        ``path``.
    """
    onnx = require("onnx")
    if model.dtype != torch.float32 or model.device.type != "cpu":
        raise OnnxError(
            f"the ONNX graph is traced from a float32 CPU model, got {model.dtype} on {model.device} (see float32_copy)"
        )
    # eval() on the wrapper itself: the exporter restores the wrapper's training flag afterwards, and a
    # fresh module is in training mode, which would switch the decoder's dropout on.
    graph = ReadoutGraph(model).eval()
    templates, search = example_inputs(model.config, batch)
    history = example_history(model.config, batch)
    names = input_names(model.config)
    inputs = (templates, search, torch.tensor(True)) + (() if history is None else (history,))
    dynamic_axes = None
    if dynamic_batch:
        batched = [name for name in names if name != "window"]
        dynamic_axes = {name: {0: "batch"} for name in tuple(batched) + OUTPUT_NAMES}
    path = Path(path)
    # The TorchScript exporter (dynamo=False) unrolls the Python loop and the cache lists directly and
    # needs no onnxscript; its deprecation and tracer warnings are expected here.
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            inputs,
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=list(names),
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=dynamic_axes,
            do_constant_folding=True,
        )
    proto = onnx.load(str(path))
    _set_metadata(proto, model.config, "fp32")
    onnx.save(proto, str(path))
    return path


def _set_metadata(proto, config: ModelConfig, precision: str) -> None:
    props = {CONFIG_KEY: json.dumps(to_dict(config)), GRAPH_KEY: GRAPH_KIND, PRECISION_KEY: precision}
    kept = [p for p in proto.metadata_props if p.key not in props]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value


@contextmanager
def quiet_root_logger():
    """ONNX Runtime's quantiser logs a "consider pre-processing" hint through the root logger; the symbolic
    shape inference behind that pre-processing fails on our graphs, and the result is the same without it."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        root.setLevel(level)


def quantize_matmuls_dynamic(source: str | Path, target: str | Path, nodes: list[str]) -> None:
    """Dynamic int8 of the weight MatMuls named in ``nodes`` (per-channel int8 weights, activations
    quantised per call, int32 accumulation); every other node stays as it is."""
    quantization = require("onnxruntime.quantization")
    with quiet_root_logger():
        quantization.quantize_dynamic(
            str(source),
            str(target),
            weight_type=quantization.QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            nodes_to_quantize=nodes,
            extra_options={"MatMulConstBOnly": True},
        )


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
    onnx = require("onnx")
    source, target = Path(source), Path(target)
    config = read_config(source)
    nodes = onnx.load(str(source), load_external_data=False).graph.node
    # An allow-list (not an exclusion list): the quantiser rewrites Gemm nodes under new names first.
    encoder = [n.name for n in nodes if n.op_type == "MatMul" and "/encoder/" in n.name]
    quantize_matmuls_dynamic(source, target, encoder)
    proto = onnx.load(str(target))
    _set_metadata(proto, config, "int8")
    onnx.save(proto, str(target))
    return target


def read_config(path: str | Path) -> ModelConfig:
    """The `ModelConfig` stored in a written file's metadata, checked against the graph (`check_graph`).

    Raises:
        OnnxError: a missing or unreadable file, a file seqtrack did not write, an invalid config, or a
            graph whose inputs (or vocabulary) do not match it.
    """
    onnx = require("onnx")
    path = Path(path)
    if not path.is_file():
        raise OnnxError(safe_text(f"ONNX file not found: {path}"))
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # protobuf raises several types for damaged files
        raise OnnxError(safe_text(f"{path} is not a readable ONNX file: {type(error).__name__}: {error}")) from None
    config = _config_from_props({p.key: p.value for p in proto.metadata_props}, path)
    graph = proto.graph
    if any(init.data_location == onnx.TensorProto.EXTERNAL for init in graph.initializer):
        # ONNX Runtime would read the files those entries name; `write_onnx` never writes any.
        raise OnnxError(safe_text(f"{path} keeps weights in external files, which seqtrack export never writes"))
    initializers = {init.name: tuple(init.dims) for init in graph.initializer}
    inputs = [
        (i.name, [_dim(d) for d in i.type.tensor_type.shape.dim]) for i in graph.input if i.name not in initializers
    ]
    check_graph(inputs, [o.name for o in graph.output], config, path)
    vocab = initializers.get(_VOCAB_BIAS)
    if vocab is not None and vocab != (config.vocab_size,):
        raise OnnxError(
            safe_text(
                f"{path}: the graph's vocabulary has {vocab[0] - 2 if len(vocab) == 1 else vocab} bins, "
                f"its metadata config says {config.bins}"
            )
        )
    return config


_VOCAB_BIAS = "model.vocab_embed.layers.2.bias"  # (bins + 2,): the initializer that shows the vocabulary


def _dim(dim: Any) -> int | str:
    return dim.dim_value if dim.HasField("dim_value") else dim.dim_param


def check_graph(inputs: list[tuple[str, list]], outputs: list[str], config: ModelConfig, path: str | Path) -> None:
    """Refuse a graph whose inputs are not ``templates (B, T, 3, H, H)``, ``search (B, 3, S, S)``,
    ``window ()`` and, for a temporal model only, ``history (B, 4K)``, with ``T``, ``H``, ``S`` and ``K``
    those of ``config`` (the batch may be symbolic), or whose outputs lack ``tokens`` and ``probs``: the
    tracker crops what the config says, and a graph of other sizes would fail on every frame or read the
    crops wrongly.

    Raises:
        OnnxError: one line naming the input, its shape and the config's values.
    """
    names, wanted_names = [name for name, _ in inputs], list(input_names(config))
    if names != wanted_names or not set(OUTPUT_NAMES) <= set(outputs):
        raise OnnxError(
            safe_text(
                f"{path}: the graph's inputs {names} / outputs {list(outputs)} are not the seqtrack read-out's "
                f"{wanted_names} / {list(OUTPUT_NAMES)} (temporal_frames {config.temporal_frames})"
            )
        )
    t, s = config.template_size, config.search_size
    expected = {"templates": [config.num_templates, 3, t, t], "search": [3, s, s], "window": None}
    expected[HISTORY_INPUT] = [4 * config.temporal_frames]
    for name, shape in inputs:
        wanted = expected[name]
        fits = shape == [] if wanted is None else len(shape) == len(wanted) + 1 and list(shape[1:]) == wanted
        if not fits:
            want = "()" if wanted is None else "(B, " + ", ".join(map(str, wanted)) + ")"
            raise OnnxError(
                safe_text(
                    f"{path}: the graph's input {name!r} has shape {shape}, but its metadata config "
                    f"(num_templates {config.num_templates}, template_size {t}, search_size {s}, temporal_frames "
                    f"{config.temporal_frames}) needs {want}"
                )
            )


def _config_from_props(props: dict[str, str], path: Path) -> ModelConfig:
    if CONFIG_KEY not in props:
        raise OnnxError(safe_text(f"{path} was not written by seqtrack export (no {CONFIG_KEY!r} metadata)"))
    if props.get(GRAPH_KEY) != GRAPH_KIND:
        raise OnnxError(
            safe_text(f"{path} holds graph kind {str(props.get(GRAPH_KEY))[:40]!r}, this version reads {GRAPH_KIND!r}")
        )
    try:
        data = json.loads(props[CONFIG_KEY])
    except (ValueError, RecursionError):
        raise OnnxError(safe_text(f"{path}: the model config in its metadata is not valid JSON")) from None
    try:
        return check_model_config(data, path)  # every field's type and range (seqtrack.config.model)
    except SeqTrackError as error:
        raise OnnxError(str(error)) from None


# ---------------------------------------------------------------------------------------------- predictor
class OnnxPredictor:
    """An ONNX Runtime session behind the `BoxPredictor` contract, for the `Tracker`.

    Attributes:
        config: the `ModelConfig` read from the file's metadata.
        device: ``torch.device("cpu")`` whatever the providers: the tracker builds its numpy crops and
            tensors on the CPU, and the CUDA provider copies the inputs to the GPU (and the outputs back).
        dtype: ``torch.float32``, the input dtype of the graph.
        precision: ``"fp32"`` or ``"int8"``.
        path: the file.
        providers: the providers the session really uses (``session.get_providers()``), e.g.
            ``["CUDAExecutionProvider", "CPUExecutionProvider"]``.

    Args:
        path: a file written by `write_onnx` (or ``seqtrack export``).
        providers: ONNX Runtime execution providers, names or ``(name, options)`` tuples as
            `seqtrack.runtime.onnx_providers.execution_providers` returns them (default
            ``["CPUExecutionProvider"]``). A provider asked for that the session does not get (ONNX Runtime
            falls back to the CPU with only a log line) raises `OnnxError`, never a CPU session.
        threads: intra-op threads (default: ONNX Runtime's choice, one per physical core).
        spinning: let idle pool threads spin; off by default because spinning threads steal the
            core from the other work of a shared machine (crop, other processes) between calls.
    """

    def __init__(
        self,
        path: str | Path,
        providers: list[str | tuple[str, dict]] | None = None,
        threads: int | None = None,
        spinning: bool = False,
    ) -> None:
        ort = require("onnxruntime")
        self.path = Path(path)
        if not self.path.is_file():
            raise OnnxError(safe_text(f"ONNX file not found: {self.path}"))
        if importlib.util.find_spec("onnx") is not None:
            # Metadata, inputs and vocabulary checked before ONNX Runtime reads the graph (ONNX Runtime does not
            # show initializers: without ``onnx`` the checks below and in `generate` still apply).
            read_config(self.path)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        if threads:
            options.intra_op_num_threads = int(threads)
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        requested = list(providers or [CPU_PROVIDER])
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=options, providers=requested)
        except Exception as error:  # ORT raises its own Fail/InvalidGraph/... types
            raise OnnxError(safe_text(f"{self.path} could not be loaded by ONNX Runtime: {error}")) from None
        check_session_providers(self.session, requested, self.path)
        self.providers = list(self.session.get_providers())
        provider_options = self.session.get_provider_options()
        self.device_label = provider_label([(name, provider_options.get(name, {})) for name in self.providers])
        props = dict(self.session.get_modelmeta().custom_metadata_map)
        self.config = _config_from_props(props, self.path)
        inputs = [(i.name, list(i.shape)) for i in self.session.get_inputs()]
        check_graph(inputs, [o.name for o in self.session.get_outputs()], self.config, self.path)
        self.precision = props.get(PRECISION_KEY, "fp32")
        if self.precision not in ("fp32", "int8"):
            raise OnnxError(safe_text(f"{self.path}: unknown precision {self.precision[:20]!r} in its metadata"))
        self.device = torch.device("cpu")
        self.dtype = torch.float32
        shape = self.session.get_inputs()[1].shape[0]
        self.fixed_batch = shape if isinstance(shape, int) else None

    def generate(
        self, templates, search: torch.Tensor, window: bool | float = True, history: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Same contract as `SeqTrack.generate`, except that the graph applies the window as is or not at
        all: a window power other than 0 or 1 raises `OnnxError`.

        Args:
            templates: ``(B, T, 3, H, W)`` (or a list of T ``(B, 3, H, W)``); search: ``(B, 3, S, S)``.
            history: ``(B, 4K)`` int64 tokens, required iff ``config.temporal_frames = K > 0`` (`InputError`
                otherwise, as the torch model's ``ValueError``).
        Returns:
            ``tokens (B, 4)`` int64 and ``probs (B, 4)`` float64 torch tensors (CPU).
        """
        if float(window) not in (0.0, 1.0):
            raise OnnxError(
                f"{self.path}: an exported graph applies the Hann window as is or not at all; "
                f"window power {float(window):g} needs the torch backend"
            )
        templates = stack_templates(templates)
        batch = search.shape[0]
        if self.fixed_batch is not None and batch != self.fixed_batch:
            raise OnnxError(
                f"{self.path} was exported for batch {self.fixed_batch}, got {batch} targets "
                "(export with a dynamic batch to track a varying number of targets)"
            )
        feeds = {"templates": _numpy32(templates), "search": _numpy32(search), "window": np.array(bool(window))}
        feeds.update(self._history_feed(history, batch))
        tokens, probs = self.session.run(list(OUTPUT_NAMES), feeds)
        # A token outside the config's bins means the metadata does not describe this graph: never turn it
        # into a box.
        if tokens.shape != (batch, 4) or tokens.size and not (0 <= tokens.min() and tokens.max() < self.config.bins):
            raise OnnxError(
                safe_text(
                    f"{self.path}: the graph returned tokens outside the {self.config.bins} bins of its "
                    "metadata config: the metadata does not describe this graph"
                )
            )
        return torch.from_numpy(tokens), torch.from_numpy(probs)

    def _history_feed(self, history: torch.Tensor | None, batch: int) -> dict[str, np.ndarray]:
        """``{"history": (B, 4K) int64}`` for a temporal graph, ``{}`` otherwise; `InputError` for a history
        that is missing, unexpected or of the wrong shape."""
        frames = self.config.temporal_frames
        if frames == 0:
            if history is not None:
                raise InputError(
                    f"{self.path}: this graph has no temporal tokens (temporal_frames 0): history must be None"
                )
            return {}
        if history is None or tuple(history.shape) != (batch, 4 * frames):
            shape = None if history is None else tuple(history.shape)
            raise InputError(
                f"{self.path}: history must be ({batch}, {4 * frames}) int64 tokens (temporal_frames {frames}), "
                f"got {shape}"
            )
        return {HISTORY_INPUT: np.ascontiguousarray(history.detach().to(device="cpu", dtype=torch.int64).numpy())}

    def __repr__(self) -> str:
        return f"OnnxPredictor({str(self.path)!r}, {self.config.name}, {self.precision}, {self.device_label})"


def _numpy32(tensor: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().to(device="cpu", dtype=torch.float32).numpy())


__all__ = [
    "OnnxPredictor",
    "OnnxError",
    "ReadoutGraph",
    "write_onnx",
    "float32_copy",
    "quantize_int8",
    "read_config",
    "example_inputs",
    "example_history",
    "input_names",
    "require",
    "check_graph",
    "GRAPH_KIND",
]
