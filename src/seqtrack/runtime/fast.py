"""``--fast``: the fastest path this CPU has that keeps the answers (`make_fast_predictor`).

Only the encoder (almost all the FLOPs) changes precision; the decoder, its vocabulary read-out, the
Hann window (any power) and the arg-max stay the reference torch fp32 code, because the four greedy
steps pick one of hundreds of nearly equal neighbouring bins. The plan follows the CPU
(`choose_fast_plan`, `seqtrack.runtime.cpu.cpu_features`):

* native bf16 (AVX512-BF16 / AMX): ``bf16-mixed``: the encoder's linear layers take bf16 inputs and
  weights and return fp32; layer norms, softmax (attention), GELU and the residual stream stay fp32;
* VNNI without bf16: ``int8-static``: the encoder through ONNX Runtime with int8 weight products
  whose activation ranges are calibrated (static QDQ) on crops;
* otherwise (AVX2 and older): ``onnx-fp32``: the whole read-out (encoder, decoder, window of any
  power, arg-max) as one fp32 ONNX Runtime graph: same precision as the reference, about twice as fast
  on small models (fewer, fused kernels, no per-operator Python). Measured on AVX2 for the trained demo
  model (``benchmarks/results/fast_path/sensitivity.md``): int8 on *any single* encoder layer already
  costs open-loop agreement (best layer 98.7 % of frames within one bin, the bottleneck 11 %; all
  layers 1.8 % dynamic / 62 % static), against 100 % for this plan, so int8 is never the AVX2 answer.

A lower-precision plan is verified when built (`make_fast_predictor`, ``verify``): its tokens on the
calibration crops must be within one bin of fp32's on >= 99.5 % of them, or the predictor falls back to
``onnx-fp32`` (the reason is kept in ``plan.reason``). ``int8-dynamic`` is available only when forced.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from seqtrack.config import ModelConfig
from seqtrack.errors import InputError
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.runtime.cpu import CpuFeatures
from seqtrack.runtime.fast_plan import PLANS, FastPlan, choose_fast_plan, sensitive_layers

AGREEMENT = 0.995  # share of calibration crops whose four tokens are within one bin of fp32
SENSITIVE_LAYERS = sensitive_layers  # the rule, by name, for the documentation


class Bf16Linear(nn.Linear):
    """``nn.Linear`` computing in bf16 (weights cast once, on first use) and returning fp32:
    ``(..., in)`` float32 → ``(..., out)`` float32. Parameters stay fp32 (same state dict)."""

    _weight_bf16: torch.Tensor | None = None
    _bias_bf16: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._weight_bf16 is None:
            self._weight_bf16 = self.weight.detach().to(torch.bfloat16)
            self._bias_bf16 = None if self.bias is None else self.bias.detach().to(torch.bfloat16)
        return F.linear(x.to(torch.bfloat16), self._weight_bf16, self._bias_bf16).to(x.dtype)


def use_bf16_linears(module: nn.Module, keep_fp32: Sequence[str] = (), restore: bool = False) -> int:
    """Swap ``module``'s ``nn.Linear`` children (except names under ``keep_fp32``) for `Bf16Linear`, or
    back to plain ``nn.Linear`` with ``restore``; the number swapped (parameters are shared, not copied)."""
    swapped = 0
    for name, child in list(module.named_modules()):
        wanted = isinstance(child, Bf16Linear) if restore else type(child) is nn.Linear
        if not wanted or any(name == k or name.startswith(k + ".") for k in keep_fp32):
            continue
        parent_name, _, attr = name.rpartition(".")
        new = nn.Linear.__new__(nn.Linear) if restore else Bf16Linear.__new__(Bf16Linear)
        nn.Module.__init__(new)
        new.in_features, new.out_features, new.weight, new.bias = (
            child.in_features,
            child.out_features,
            child.weight,
            child.bias,
        )
        new.train(child.training)
        setattr(module.get_submodule(parent_name) if parent_name else module, attr, new)
        swapped += 1
    return swapped


class FastPredictor:
    """A `BoxPredictor`: ``encoder(templates, search) → memory`` by the plan's engine, then the model's
    own fp32 ``generate_from_memory`` (decoder, window of any power, history).

    Attributes:
        model: the fp32 `SeqTrack`; plan: the `FastPlan`; config, device (CPU), dtype (float32).
    """

    def __init__(self, model: SeqTrack, plan: FastPlan, encoder=None) -> None:
        self.model = model.eval()
        self.plan = plan
        self.config: ModelConfig = model.config
        self.device, self.dtype = torch.device("cpu"), torch.float32
        self._encode = encoder or model.encode

    @torch.inference_mode()
    def generate(
        self, templates, search: torch.Tensor, window: bool | float = True, history: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Same contract as `SeqTrack.generate`: ``templates (B, T, 3, H, W)``, ``search (B, 3, S, S)``,
        ``history (B, 4K)`` int64 for a temporal model → ``tokens (B, 4)`` int64, ``probs (B, 4)`` float64."""
        memory = self._encode(templates, search)
        return self.model.generate_from_memory(memory, window=window, history=history)

    def __repr__(self) -> str:
        return f"FastPredictor({self.config.name}, {self.plan.name})"


def make_fast_predictor(
    model: SeqTrack,
    threads: int | None = None,
    plan: str = "auto",
    features: CpuFeatures | None = None,
    calibration: Sequence[tuple[torch.Tensor, torch.Tensor]] | None = None,
    verify: bool = True,
    cache=None,
    weights_sha256: str | None = None,
):
    """The fast path for ``model`` (an fp32 CPU `SeqTrack`; ``bf16-mixed`` swaps its encoder's linears
    in place, the other plans leave it untouched and use it for the torch decoder or the window table).

    Args:
        threads: intra-op threads of the ONNX Runtime session (None: one per physical core).
        plan: ``auto`` (by CPU features, `choose_fast_plan`) or a forced plan name.
        calibration: ``[(templates (B, T, 3, H, W), search (B, 3, S, S))]`` normalised crops, for the
            activation ranges of ``int8-static`` and for ``verify``; default `calibration_crops`.
        verify: check a lower-precision plan against fp32 on the calibration crops and fall back to
            ``onnx-fp32`` below `AGREEMENT` (`FastPredictor.plan` says which ran and why).
        cache, weights_sha256: a `seqtrack.runtime.graph_cache.GraphCache` and the sha256 of the weights file
            ``model`` was loaded from: the ``onnx-fp32`` graph is taken from (or stored into) the cache, so
            that the next start skips the export and torch (`seqtrack.runtime.fast_start`). Without both, the
            graph is exported into a temporary folder.
    Returns:
        A `FastPredictor` (``bf16-mixed``, ``int8-*``) or a torch-free
        `seqtrack.runtime.readout_session.OnnxReadout` with a ``plan`` attribute.
    """
    if model.dtype != torch.float32 or model.device.type != "cpu":
        raise InputError(f"--fast runs on the CPU from fp32 weights, got {model.dtype} on {model.device}")
    chosen = choose_fast_plan(model.config, features, plan)
    model = model.eval()
    if chosen.name == "onnx-fp32":
        return _onnx_fp32(model, chosen, threads, cache, weights_sha256)
    crops = list(calibration or calibration_crops(model.config))
    reference = [model.generate(t, s, window=False)[0] for t, s in crops] if verify else []
    if chosen.name == "bf16-mixed":
        use_bf16_linears(model.encoder)
        predictor = FastPredictor(model, chosen)
    else:
        from seqtrack.runtime.encoder_onnx import OnnxEncoder, quantize_encoder, write_encoder_onnx

        with tempfile.TemporaryDirectory(prefix="seqtrack-fast-") as work:
            source = write_encoder_onnx(model, Path(work) / "encoder.onnx")
            ranges = crops if chosen.name == "int8-static" else None
            target = quantize_encoder(source, Path(work) / "encoder.int8.onnx", chosen.keep_fp32, ranges)
            predictor = FastPredictor(model, chosen, OnnxEncoder(target, threads=threads))  # session holds the graph
    if not verify:
        return predictor
    tokens = [predictor.generate(t, s, window=False)[0] for t, s in crops]
    share = float(
        torch.stack([(a - b).abs().le(1).all(dim=-1).float().mean() for a, b in zip(tokens, reference)]).mean()
    )
    if share >= AGREEMENT:
        return predictor
    if chosen.name == "bf16-mixed":
        use_bf16_linears(model.encoder, restore=True)
    reason = f"{chosen.name} kept only {100 * share:.1f} % of tokens within one bin of fp32: fell back"
    return _onnx_fp32(model, FastPlan("onnx-fp32", reason), threads, cache, weights_sha256)


def _onnx_fp32(model: SeqTrack, plan: FastPlan, threads: int | None, cache=None, weights_sha256: str | None = None):
    """The whole read-out in ONNX Runtime; the graph from the cache when it has it, else exported (and stored)."""
    from seqtrack.runtime.encoder_onnx import write_readout_onnx
    from seqtrack.runtime.fast_start import discard_readout, readout_from_graph, readout_key
    from seqtrack.runtime.graph_cache import GraphCache
    from seqtrack.runtime.onnx_errors import OnnxError

    if cache is None or not weights_sha256:
        cache, weights_sha256 = GraphCache(None), ""  # nothing identifies the weights: a temporary export
    key, fields = readout_key(weights_sha256, model.config)
    for attempt in range(2):
        with cache.graph(key, lambda path: write_readout_onnx(model, path), fields) as raw:
            try:
                readout = readout_from_graph(cache, raw, model.config, weights_sha256, threads)
                break
            except OnnxError as error:
                if attempt or not cache.enabled:
                    raise
                discard_readout(cache, weights_sha256, model.config, str(error))  # export it again
    readout.plan = plan
    return readout


def calibration_crops(config: ModelConfig, count: int = 16, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Stand-in calibration crops when the caller has no real ones: smooth random images (low-frequency
    noise, normalised like camera crops), ``count`` pairs of ``(1, T, 3, H, H)`` and ``(1, 3, S, S)``."""
    generator = torch.Generator().manual_seed(seed)

    def image(size: int) -> torch.Tensor:
        coarse = torch.rand(1, 3, max(size // 16, 2), max(size // 16, 2), generator=generator)
        pixels = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        return (pixels - mean) / std

    crops = []
    for _ in range(count):
        templates = torch.stack([image(config.template_size)[0] for _ in range(config.num_templates)])[None]
        crops.append((templates, image(config.search_size)))
    return crops


__all__ = [
    "FastPredictor",
    "FastPlan",
    "Bf16Linear",
    "make_fast_predictor",
    "choose_fast_plan",
    "use_bf16_linears",
    "sensitive_layers",
    "calibration_crops",
    "PLANS",
    "AGREEMENT",
]
