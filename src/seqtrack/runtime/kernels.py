"""The fp32 matrix products on the faster of the two kernel libraries torch ships: MKL or oneDNN.

``F.linear`` on the CPU goes to MKL (``addmm``), which on AMD CPUs runs its AVX2 code even where the
CPU has AVX-512; oneDNN (``torch.ops.mkldnn._linear_pointwise`` with the weight reordered once into its
blocked layout by ``_reorder_linear_weight``) picks the widest kernels the CPU has. Both compute the
same fp32 products (different summation order: outputs within a few 1e-6, tokens unchanged on the
golden frames, which `tests/runtime/test_fast_kernels.py` checks with oneDNN forced).

`choose_linear_kernel` decides once per process and shape set by a short interleaved timing (a few
products of the model's own largest shape, well under 0.2 s); `use_linear_kernel` swaps the model's
``nn.Linear`` modules for `OneDnnLinear` (same parameters, same state dict) when oneDNN wins.
"""

from __future__ import annotations

import functools
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from seqtrack.errors import InputError

KERNELS = ("auto", "mkl", "onednn")
MARGIN = 1.05  # oneDNN must be this much faster: a tie keeps the reference kernel
MIN_MACS = 50e6  # auto: models whose largest product is smaller stay on MKL (demo model: 14e6, oneDNN 0.8-0.9x)
MIN_ROWS = 32  # fewer rows (the decoder's one-token steps): oneDNN's per-call cost outweighs its kernel


def onednn_available() -> bool:
    """Whether this torch build has the oneDNN linear ops (CPU builds with mkldnn)."""
    ops = getattr(torch.ops, "mkldnn", None)
    return bool(
        torch.backends.mkldnn.is_available()
        and ops is not None
        and hasattr(ops, "_linear_pointwise")
        and hasattr(ops, "_reorder_linear_weight")
    )


class OneDnnLinear(nn.Linear):
    """An ``nn.Linear`` whose inference forward runs oneDNN with a pre-reordered weight.

    The parameters (and so the state dict) are the ordinary ``weight (out, in)`` and ``bias (out,)``;
    the reordered copy is rebuilt whenever the weight changes (in-place updates bump its version) and
    never used while training, for other dtypes or devices, with autograd on, or for fewer than
    `MIN_ROWS` rows (measured on the demo model: oneDNN on the decoder's 1-5-row steps made the whole frame
    slower): those take ``F.linear``. Input ``(..., in)`` → output ``(..., out)``.
    """

    _packed: torch.Tensor | None = None
    _packed_version: tuple | None = None

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> OneDnnLinear:
        """A `OneDnnLinear` sharing ``linear``'s parameters (no copy)."""
        new = cls.__new__(cls)
        nn.Module.__init__(new)
        new.in_features, new.out_features = linear.in_features, linear.out_features
        new.weight, new.bias = linear.weight, linear.bias
        new.train(linear.training)
        return new

    def _usable(self, x: torch.Tensor) -> bool:
        w = self.weight
        return (
            not self.training
            and x.numel() >= MIN_ROWS * self.in_features
            and x.dtype == torch.float32
            and w.dtype == torch.float32
            and x.device.type == "cpu"
            and w.device.type == "cpu"
            and not (torch.is_grad_enabled() and (x.requires_grad or w.requires_grad))
            and not torch.jit.is_tracing()  # exporters know F.linear, not the oneDNN op
            and not torch.compiler.is_compiling()
        )

    def __getstate__(self) -> dict:
        # The reordered weight is an opaque oneDNN tensor (no copy/pickle support): rebuilt on first use.
        state = super().__getstate__()
        state.pop("_packed", None)
        state.pop("_packed_version", None)
        return state

    def _weight(self) -> torch.Tensor:
        version = (self.weight.data_ptr(), self.weight._version)
        if self._packed is None or self._packed_version != version:
            with torch.no_grad():
                self._packed = torch.ops.mkldnn._reorder_linear_weight(self.weight.detach(), None)
            self._packed_version = version
        return self._packed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._usable(x):
            return F.linear(x, self.weight, self.bias)
        shape = x.shape
        out = torch.ops.mkldnn._linear_pointwise(x.reshape(-1, shape[-1]), self._weight(), self.bias, "none", [], "")
        return out.reshape(*shape[:-1], self.out_features)


def linear_shapes(model: nn.Module, tokens: int) -> list[tuple[int, int, int]]:
    """``(rows, in, out)`` of the model's largest ``nn.Linear`` products for ``tokens`` rows (the
    calibration set: the shape that holds the time)."""
    shapes = {(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)}
    largest = sorted(shapes, key=lambda s: s[0] * s[1], reverse=True)[:1]
    # At most 128 rows: enough for both libraries to reach their blocked kernels, and it keeps the
    # timing of a ViT-B (4 x 8 products) near 50 ms on an idle 2-core machine.
    return [(min(tokens, 128), k, n) for k, n in largest]


@functools.cache
def _calibrate(shapes: tuple[tuple[int, int, int], ...], threads: int, repeats: int) -> str:
    generator = torch.Generator().manual_seed(0)
    timings = {"mkl": [], "onednn": []}
    with torch.inference_mode():
        cases = []
        for rows, k, n in shapes:
            x, w = torch.randn(rows, k, generator=generator), torch.randn(n, k, generator=generator)
            b = torch.zeros(n)
            packed = torch.ops.mkldnn._reorder_linear_weight(w, None)
            cases.append(
                {
                    "mkl": lambda x=x, w=w, b=b: F.linear(x, w, b),
                    "onednn": lambda x=x, p=packed, b=b: torch.ops.mkldnn._linear_pointwise(x, p, b, "none", [], ""),
                }
            )
        for run in range(repeats + 1):  # run 0 warms both up; interleaved so load hits both alike
            for name in ("mkl", "onednn"):
                start = time.perf_counter()
                for case in cases:
                    case[name]()
                if run:
                    timings[name].append(time.perf_counter() - start)
    mkl, onednn = statistics.median(timings["mkl"]), statistics.median(timings["onednn"])
    return "onednn" if onednn * MARGIN < mkl else "mkl"


def choose_linear_kernel(model: nn.Module, tokens: int, kernel: str = "auto", repeats: int = 3) -> str:
    """``"mkl"`` or ``"onednn"``: which kernel runs ``model``'s fp32 linears fastest here.

    Args:
        tokens: rows of the products (the encoder's token count for one target).
        kernel: ``auto`` (MKL for small models, `MIN_MACS`; else time both on the model's largest
            shape, cached per process), or a forced ``mkl`` / ``onednn``.
    Raises:
        InputError: an unknown ``kernel``, or ``onednn`` forced on a build without it.
    """
    if kernel not in KERNELS:
        raise InputError(f"unknown linear kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
    if kernel == "mkl":
        return "mkl"
    if not onednn_available():
        if kernel == "onednn":
            raise InputError("linear kernel 'onednn': this torch build has no oneDNN (mkldnn) linear ops")
        return "mkl"
    if kernel == "onednn":
        return "onednn"
    _, k, n = linear_shapes(model, tokens)[0]
    if tokens * k * n < MIN_MACS:
        # Measured end to end on the demo model: oneDNN won its isolated products but lost the frame.
        return "mkl"
    return _calibrate(tuple(linear_shapes(model, tokens)), torch.get_num_threads(), repeats)


def use_linear_kernel(model: nn.Module, kernel: str) -> int:
    """Put ``model``'s ``nn.Linear`` modules on ``kernel`` in place; the number of modules swapped.

    ``onednn`` replaces each plain ``nn.Linear`` by a `OneDnnLinear` sharing its parameters; ``mkl``
    turns `OneDnnLinear` modules back into plain ones. Parameters and state-dict keys do not change.
    """
    swapped = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if kernel == "onednn" and type(child) is nn.Linear:
                setattr(parent, name, OneDnnLinear.from_linear(child))
            elif kernel == "mkl" and isinstance(child, OneDnnLinear):
                plain = nn.Linear.__new__(nn.Linear)
                nn.Module.__init__(plain)
                plain.in_features, plain.out_features = child.in_features, child.out_features
                plain.weight, plain.bias = child.weight, child.bias
                plain.train(child.training)
                setattr(parent, name, plain)
            else:
                continue
            swapped += 1
    return swapped


__all__ = [
    "OneDnnLinear",
    "choose_linear_kernel",
    "use_linear_kernel",
    "onednn_available",
    "linear_shapes",
    "KERNELS",
]
