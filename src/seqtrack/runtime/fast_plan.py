"""Which ``--fast`` plan a CPU gets (`choose_fast_plan`), torch-free so that the cached start
(`seqtrack.runtime.fast_start`) can decide without importing torch. The plans and the measurements behind
them are described in `seqtrack.runtime.fast`, which builds them.
"""

from __future__ import annotations

from dataclasses import dataclass

from seqtrack.config import ModelConfig
from seqtrack.errors import InputError
from seqtrack.runtime.cpu import CpuFeatures, cpu_features

PLANS = ("bf16-mixed", "int8-static", "onnx-fp32", "int8-dynamic")


def sensitive_layers(config: ModelConfig) -> tuple[str, ...]:
    """Module names kept fp32 by the int8 plans: the bottleneck (the projection into the decoder's
    memory) and the last encoder block's MLP input, the two layers whose quantisation alone moved tokens
    most in the sensitivity study (demo model: 11 % and 44 % of frames within one bin with dynamic int8;
    `benchmarks/results/fast_path/sensitivity.md`)."""
    last = config.encoder.depth - 1
    return ("bottleneck", f"encoder.body.blocks.{last}.mlp.fc1")


@dataclass(frozen=True)
class FastPlan:
    """What `make_fast_predictor` builds: ``name`` (one of `PLANS`), why, and the fp32-kept modules."""

    name: str
    reason: str
    keep_fp32: tuple[str, ...] = ()


def choose_fast_plan(config: ModelConfig, features: CpuFeatures | None = None, plan: str = "auto") -> FastPlan:
    """The plan for ``config`` on a CPU with ``features`` (default: this one, `cpu_features`); ``plan`` forces one.

    Raises:
        InputError: an unknown plan name.
    """
    if plan not in ("auto",) + PLANS:
        raise InputError(f"unknown fast plan {plan!r}; choose auto or one of {', '.join(PLANS)}")
    features = features or cpu_features()
    keep = sensitive_layers(config)
    if plan == "bf16-mixed" or (plan == "auto" and features.bf16):
        return FastPlan("bf16-mixed", f"native bf16 ({features.summary})")
    if plan == "int8-static" or (plan == "auto" and features.vnni):
        return FastPlan("int8-static", f"int8 dot products without bf16 ({features.summary})", keep)
    if plan == "int8-dynamic":
        return FastPlan("int8-dynamic", "forced", keep)
    return FastPlan("onnx-fp32", f"no VNNI/bf16 ({features.summary}): fp32 read-out in ONNX Runtime")


__all__ = ["FastPlan", "choose_fast_plan", "sensitive_layers", "PLANS"]
