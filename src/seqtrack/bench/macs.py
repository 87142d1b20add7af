"""Multiply-accumulates in the paper's counting convention, and the true FLOPs of one tracked frame, both
counted on the network itself (no hand formula), on the ``meta`` device: shapes only, no weights, no memory,
so even SeqTrack-L384 costs a second.

**The paper's convention** (Tab. 1, "FLOPs (G)", in fact multiply-accumulates): the official
``tracking/profile_model.py`` (docs/official-behaviour.md §8) calls thop 0.1.1 ``profile`` twice, batch 1,
encoder mode on ``[template, template, search]`` and decoder mode on the one-token START sequence (ONE
decoding step: bottleneck, decoder, vocabulary head), and adds the two. `MacCounter` reproduces thop's
rules with forward hooks:

* ``nn.Linear``: ``in_features x`` output elements; ``nn.Conv*d``: output elements ``x in_channels / groups
  x`` kernel area (no bias term); ``nn.LayerNorm`` / ``nn.BatchNorm*d``: ``2 x`` input elements, twice that
  with an affine transform; ``nn.Dropout``, ``nn.ReLU``, pooling by max: zero;
* every other leaf (``nn.GELU``, ``nn.Embedding``, ``nn.Identity`` ...): zero, thop having no rule for it;
  raw ``nn.Parameter`` arithmetic and ``torch.matmul`` / ``@`` / SDPA (the ViT's attention products) are
  invisible to module hooks, so they are not counted either;
* a module with a rule is counted by that rule alone, its children are not visited (thop's ``dfs_count``);
  a module without one is the sum of its children;
* attention, the official script's custom rule: ``d_in*d*Lq*B`` (queries) ``+ 2*d_in*d*Lk*B`` (keys and
  values) ``+ 2*Lq*Lk*d`` (the products, no batch factor); its output projection is not counted. It applies
  to ``torch.nn.MultiheadAttention`` (a forward hook) and to our decoder's `MultiheadAttention`, which has
  the official parameter layout but no ``forward`` (the layer calls its ``project`` and ``attend``): the
  counter wraps those two methods on the instance while it counts, each projection adding ``d_in*d`` per
  projected row and each ``attend`` the ``2*Lq*Lk*d`` term.

**Our figure**: `counted_frame_flops`, ``torch.utils.flop_counter.FlopCounterMode`` over ``generate`` (the
encoder, the decoder's memory keys/values, four cached decoding steps and the vocabulary head): every matrix
product, attention included, 2 FLOPs per multiply-add, element-wise work left out. It checks the analytic
`seqtrack.bench.flops.frame_flops` and, unlike it, follows every config field (conv stem, ablations).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from seqtrack.config import MODEL_PRESETS, ModelConfig, model_preset
from seqtrack.errors import InputError, safe_text
from seqtrack.geometry.tokens import start_token
from seqtrack.model.decoder import MultiheadAttention as DecoderAttention
from seqtrack.model.seqtrack import SeqTrack

# MACs of SeqTrack's Tab. 1 as measured with the official script (docs/official-behaviour.md §8), in G.
OFFICIAL_MEASURED_GMACS = {"b256": 65.86, "b384": 148.19, "l256": 232.82, "l384": 523.85}
# What thop reports as "params" for them (it misses raw Parameters and nn.Embedding tables), in M.
OFFICIAL_THOP_MPARAMS = {"b256": 89.11, "b384": 89.11, "l256": 306.63, "l384": 306.63}
DEFAULT_MODELS = ("b256", "b384", "l256", "l384")

Rule = Callable[[nn.Module, tuple, dict, object], int]


def _linear(module: nn.Linear, args: tuple, kwargs: dict, output: torch.Tensor) -> int:
    return module.in_features * output.numel()


def _conv(module: nn.modules.conv._ConvNd, args: tuple, kwargs: dict, output: torch.Tensor) -> int:
    return output.numel() * (args[0].shape[1] // module.groups) * math.prod(module.kernel_size)


def _norm(module: nn.Module, args: tuple, kwargs: dict, output: torch.Tensor) -> int:
    affine = getattr(module, "affine", False) or getattr(module, "elementwise_affine", False)
    return 2 * args[0].numel() * (2 if affine else 1)


def _zero(module: nn.Module, args: tuple, kwargs: dict, output: object) -> int:
    return 0


def attention_rule(d_in: int, dim: int, lq: int, lk: int, batch: int) -> int:
    """The official profiling script's count for one attention call: ``d_in*d*Lq*B`` (q projection)
    ``+ 2*d_in*d*Lk*B`` (k, v projections) ``+ 2*Lq*Lk*d`` (products; no batch factor, as there)."""
    return d_in * dim * lq * batch + 2 * d_in * dim * lk * batch + 2 * lq * lk * dim


def _torch_attention(module: nn.MultiheadAttention, args: tuple, kwargs: dict, output: object) -> int:
    query = args[0] if args else kwargs["query"]
    key = args[1] if len(args) > 1 else kwargs["key"]
    # Unbatched inputs are (L, E); batched ones (L, B, E), or (B, L, E) with batch_first.
    if query.dim() == 2:
        (lq, d_in), lk, batch = query.shape, key.shape[0], 1
    elif module.batch_first:
        (batch, lq, d_in), lk = query.shape, key.shape[1]
    else:
        (lq, batch, d_in), lk = query.shape, key.shape[0]
    return attention_rule(d_in, module.embed_dim, lq, lk, batch)


# Exact types, as thop looks them up (a subclass gets no rule there either).
RULES: dict[type, Rule] = {
    nn.Linear: _linear,
    nn.Conv1d: _conv,
    nn.Conv2d: _conv,
    nn.Conv3d: _conv,
    nn.LayerNorm: _norm,
    nn.BatchNorm1d: _norm,
    nn.BatchNorm2d: _norm,
    nn.BatchNorm3d: _norm,
    nn.Dropout: _zero,
    nn.ReLU: _zero,
    nn.ReLU6: _zero,
    nn.MaxPool1d: _zero,
    nn.MaxPool2d: _zero,
    nn.MaxPool3d: _zero,
    nn.MultiheadAttention: _torch_attention,
}
_CONTAINERS = (nn.Sequential, nn.ModuleList)  # thop descends into these even though they have a rule


class MacCounter:
    """Counts a module tree's multiply-accumulates in thop 0.1.1's convention while inside ``with``.

    Example::

        with MacCounter(model) as counter:
            model(*inputs)
        counter.count()                 # the whole model
        counter.count(model.encoder)    # one subtree

    Calls accumulate: run several forwards inside one ``with`` to add them up.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.ops: dict[nn.Module, int] = {}
        self.ran: set[nn.Module] = set()
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._wrapped: list[DecoderAttention] = []

    def __enter__(self) -> MacCounter:
        for module in self.model.modules():
            rule = RULES.get(type(module))
            if isinstance(module, DecoderAttention):
                self._wrap_attention(module)
            elif rule is not None:
                self.ops[module] = 0
                self._handles.append(module.register_forward_hook(self._hook(rule), with_kwargs=True))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        for module in self._wrapped:  # back to the class's methods
            del module.project, module.attend
        self._handles, self._wrapped = [], []

    def _hook(self, rule: Rule) -> Callable:
        def hook(module: nn.Module, args: tuple, kwargs: dict, output: object) -> None:
            self.ops[module] += int(rule(module, args, kwargs, output))
            self.ran.add(module)

        return hook

    def _wrap_attention(self, module: DecoderAttention) -> None:
        """The custom attention rule on our decoder attention, through its two methods (it has no forward)."""
        project, attend = module.project, module.attend
        self.ops[module] = 0

        def counted_project(x: torch.Tensor, which: int, *args: object, **kwargs: object) -> torch.Tensor:
            # x (B, L, d_in): d_in*d multiply-adds per projected row, whichever of q / k / v it is.
            self.ops[module] += x.shape[-1] * module.dim * (x.numel() // x.shape[-1])
            self.ran.add(module)
            return project(x, which, *args, **kwargs)

        def counted_attend(q: torch.Tensor, k: torch.Tensor, *args: object, **kwargs: object) -> torch.Tensor:
            # q (B, h, Lq, d/h), k (B, h, Lk, d/h); the output projection inside is not counted.
            self.ops[module] += 2 * q.shape[-2] * k.shape[-2] * module.dim
            self.ran.add(module)
            return attend(q, k, *args, **kwargs)

        module.project, module.attend = counted_project, counted_attend
        self._wrapped.append(module)

    def count(self, module: nn.Module | None = None) -> int:
        """MACs of ``module`` (default: the whole model, whose own rule thop never applies): its rule's
        count if it has one, else the sum over its children."""
        if module is not None and module in self.ops and not isinstance(module, _CONTAINERS):
            return self.ops[module]
        return sum(self.count(child) for child in (self.model if module is None else module).children())

    def thop_params(self, module: nn.Module | None = None) -> int:
        """Parameters as thop reports them: those of the counted modules that ran (children of a counted
        module included), so raw ``nn.Parameter`` tensors and ``nn.Embedding`` tables are missed."""
        if module is not None and module in self.ops and not isinstance(module, _CONTAINERS):
            return sum(p.numel() for p in module.parameters()) if module in self.ran else 0
        return sum(self.thop_params(child) for child in (self.model if module is None else module).children())


@dataclass(frozen=True)
class MacsCount:
    """Multiply-accumulates in the paper's convention (thop 0.1.1, official profiling script).

    Attributes:
        encoder: the encoder on the templates and the search crop, batch 1.
        decoder_step: ONE decoding step from the START token (bottleneck, decoder, vocabulary head).
        total: their sum, the paper's Tab. 1 figure.
        thop_params: the parameter count thop reports beside it (not the true count).
    """

    encoder: int
    decoder_step: int
    total: int
    thop_params: int


def meta_model(config: ModelConfig) -> SeqTrack:
    """A `SeqTrack` for ``config`` on the ``meta`` device (shapes, no storage), in eval mode, frozen
    (``requires_grad`` off: `FlopCounterMode`'s module tracker would otherwise hook gradients)."""
    with torch.device("meta"):
        model = SeqTrack(config)
    # Tensors built from numpy (the sinusoid table) ignore the device context.
    return model.to("meta").eval().requires_grad_(False)


def meta_inputs(config: ModelConfig) -> dict[str, torch.Tensor | None]:
    """Batch-1 meta inputs: ``templates (1, T, 3, Ht, Wt)``, ``search (1, 3, S, S)``, the START
    ``sequence (1, 1)`` int64 and ``history (1, 4K)`` int64 (None when ``temporal_frames`` is 0)."""
    width = 4 * config.temporal_frames
    return {
        "templates": torch.zeros(1, config.num_templates, 3, config.template_size, config.template_size, device="meta"),
        "search": torch.zeros(1, 3, config.search_size, config.search_size, device="meta"),
        "sequence": torch.full((1, 1), start_token(config.bins), dtype=torch.long, device="meta"),
        "history": torch.zeros(1, width, dtype=torch.long, device="meta") if width else None,
    }


def paper_macs(config: ModelConfig) -> MacsCount:
    """MACs of ``config``'s network in the paper's convention, counted on a meta-device model.

    The official script profiles encoder mode and decoder mode separately; one teacher-forced pass on the
    START sequence runs exactly those modules once, and the counter splits it at ``model.encoder``.
    """
    model = meta_model(config)
    inputs = meta_inputs(config)
    extra = {"history": inputs["history"]} if inputs["history"] is not None else {}
    with torch.no_grad(), MacCounter(model) as counter:
        model(inputs["templates"], inputs["search"], inputs["sequence"], **extra)
    total, encoder = counter.count(), counter.count(model.encoder)
    return MacsCount(encoder=encoder, decoder_step=total - encoder, total=total, thop_params=counter.thop_params())


def counted_frame_flops(config: ModelConfig) -> float:
    """FLOPs (2 per multiply-add) of one tracked frame for one target, counted by `FlopCounterMode` on a
    meta-device model running ``generate`` (encoder, memory keys/values, four cached steps, head)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = meta_model(config)
    inputs = meta_inputs(config)
    extra = {"history": inputs["history"]} if inputs["history"] is not None else {}
    with FlopCounterMode(display=False) as counter:
        model.generate(inputs["templates"], inputs["search"], **extra)
    return float(counter.get_total_flops())


def resolve_model_config(name: str) -> ModelConfig:
    """The `ModelConfig` behind a model preset (``b256`` ...), a registered model name (``demo``,
    ``b256_got``) or a weights file holding its config (our safetensors, our ONNX).

    Raises:
        InputError: an unknown name, or a file that does not say which network it holds.
        CheckpointError: a registered model whose file is absent or damaged, or a damaged file.
    """
    from seqtrack.model.header import read_header
    from seqtrack.model.registry import REGISTRY, resolve_weights

    key = name.lower().removeprefix("seqtrack_")
    path = Path(name).expanduser()
    if not path.exists():
        if key in MODEL_PRESETS:
            return model_preset(key)
        entry = REGISTRY.get(key)
        if entry is not None and entry.preset is not None:  # an official model: its network is the preset
            return model_preset(entry.preset)
        if entry is None and not (path.suffix or len(path.parts) > 1):  # a path gets resolve_weights' message
            names = ", ".join(dict.fromkeys([*MODEL_PRESETS, *REGISTRY]))
            raise InputError(safe_text(f"unknown model {name!r}: give a model name ({names}) or a weights file"))
        path = resolve_weights(name)  # a registered file, or the error saying which file is missing
    header = read_header(path)
    if header.format == "onnx":
        from seqtrack.runtime.onnxruntime import read_config

        return read_config(path)
    config = header.model_config()
    if config is None:
        raise InputError(
            safe_text(f"{path} does not store its model config (an official checkpoint?): give its preset, e.g. b256")
        )
    return config


@dataclass(frozen=True)
class MacsRow:
    """One model's figures: paper-convention MACs, counted and analytic FLOPs of a frame, parameters."""

    name: str
    macs: MacsCount
    frame_flops: float
    analytic_flops: float
    params: int


def measure(name: str, config: ModelConfig | None = None) -> MacsRow:
    """Every figure of `MacsRow` for one model (``config`` default: `resolve_model_config` of ``name``)."""
    from seqtrack.bench.flops import frame_flops

    config = config if config is not None else resolve_model_config(name)
    params = sum(p.numel() for p in meta_model(config).parameters())
    return MacsRow(name, paper_macs(config), counted_frame_flops(config), frame_flops(config), params)


def render_table(rows: Iterable[MacsRow]) -> str:
    """A Markdown table: paper-convention G MACs (encoder, one decoder step, total), our counted GFLOPs of
    a tracked frame, and the true parameter count."""
    lines = [
        "| model | enc G MACs | dec step G MACs | total G MACs (paper convention) | GFLOPs per frame (ours) "
        "| params (M) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        m = row.macs
        lines.append(
            safe_text(
                f"| {row.name} | {m.encoder / 1e9:.2f} | {m.decoder_step / 1e9:.3f} | {m.total / 1e9:.2f} "
                f"| {row.frame_flops / 1e9:.2f} | {row.params / 1e6:.2f} |"
            )
        )
    return "\n".join(lines)


__all__ = [
    "DEFAULT_MODELS",
    "OFFICIAL_MEASURED_GMACS",
    "OFFICIAL_THOP_MPARAMS",
    "RULES",
    "MacCounter",
    "MacsCount",
    "MacsRow",
    "attention_rule",
    "counted_frame_flops",
    "measure",
    "meta_inputs",
    "meta_model",
    "paper_macs",
    "render_table",
    "resolve_model_config",
]
