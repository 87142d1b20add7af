"""How to run a network: backend, precision, compilation, quantisation, threads (`PredictorOptions`)
and the matching command-line flags. Kept free of torch so that ``seqtrack --help`` does not load it;
`seqtrack.runtime.factory.make_predictor` builds the predictors.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from seqtrack.errors import InputError

BACKENDS = ("torch", "onnxruntime")
DTYPES = ("fp32", "bf16", "bf16-autocast", "fp16")
QUANTIZATIONS = ("int8",)


@dataclass(frozen=True)
class PredictorOptions:
    """How to run the network (everything `make_predictor` takes besides the weights).

    ``threads`` None (default): chosen from the free cores when the predictor is made
    (`seqtrack.runtime.threads.auto_threads`); ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` win over that.
    """

    backend: str = "torch"
    dtype: str = "fp32"
    compile: bool = False
    quantize: str | None = None
    threads: int | None = None
    fast: bool = False  # the machine's fastest path that keeps the answers (`seqtrack.runtime.fast`)
    cuda_graphs: bool = False  # replay the read-out as CUDA graphs (`seqtrack.runtime.cuda_graphs`)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise InputError(f"unknown backend {self.backend!r}; choose one of {', '.join(BACKENDS)}")
        if self.dtype not in DTYPES:
            raise InputError(f"unknown dtype {self.dtype!r}; choose one of {', '.join(DTYPES)}")
        if self.quantize is not None and self.quantize not in QUANTIZATIONS:
            raise InputError(f"unknown quantisation {self.quantize!r}; choose one of {', '.join(QUANTIZATIONS)}")
        if self.backend == "onnxruntime" and (self.dtype != "fp32" or self.compile):
            raise InputError(
                "the onnxruntime backend runs the fp32 graph (optionally --quantize int8); "
                "--dtype bf16 and --compile are torch options"
            )
        if self.backend == "torch" and self.quantize is not None:
            raise InputError("--quantize int8 needs --backend onnxruntime")
        if self.fast and (self.backend != "torch" or self.dtype != "fp32" or self.compile or self.quantize):
            raise InputError(
                "--fast chooses the precision and engine itself: use it without --backend onnxruntime, "
                "--dtype, --compile or --quantize"
            )
        if self.cuda_graphs and (self.backend != "torch" or self.compile or self.dtype == "bf16-autocast"):
            raise InputError(
                "--cuda-graphs records the torch network with converted weights: use it without "
                "--backend onnxruntime, --compile or --dtype bf16-autocast"
            )
        if self.threads is not None and self.threads < 1:
            raise InputError(f"threads must be >= 1, got {self.threads}")

    @property
    def label(self) -> str:
        """Short human name, e.g. ``torch fp32``, ``torch bf16-autocast compiled``, ``onnxruntime int8``."""
        if self.fast:
            return "fast"
        if self.backend == "onnxruntime":
            return f"onnxruntime {self.quantize or 'fp32'}"
        extra = " compiled" if self.compile else " cuda-graphs" if self.cuda_graphs else ""
        return f"torch {self.dtype}{extra}"


def predictor_arguments(args: argparse.Namespace) -> dict:
    """The run options the flags of `add_predictor_arguments` set, as the keyword arguments that
    `PredictorOptions`, ``make_predictor`` and ``Tracker.from_pretrained`` share (``backend`` ... ``cuda_graphs``):
    the one place a new run flag is passed on from."""
    return {
        "backend": args.backend,
        "dtype": args.dtype,
        "compile": args.compile,
        "quantize": args.quantize,
        "threads": args.threads,
        "fast": args.fast,
        "cuda_graphs": args.cuda_graphs,
    }


def add_predictor_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--backend --dtype --fast --cuda-graphs --compile --quantize --threads`` to a subcommand (their values:
    `predictor_arguments`)."""
    group = parser.add_argument_group("inference backend")
    group.add_argument(
        "--backend",
        choices=BACKENDS,
        default="torch",
        help="torch (default, reference) or onnxruntime (weights: .onnx or any checkpoint)",
    )
    group.add_argument(
        "--dtype",
        choices=DTYPES,
        default="fp32",
        help="torch precision: fp32 (default), bf16 (converted weights), bf16-autocast, fp16 (converted "
        "weights, GPU only)",
    )
    group.add_argument(
        "--fast",
        action="store_true",
        help="the fastest path this machine has that keeps the answers (CPU: ONNX Runtime / bf16 / int8 "
        "encoder with an fp32 decoder, by CPU features; GPU: fp32 replayed as CUDA graphs)",
    )
    group.add_argument(
        "--cuda-graphs",
        action="store_true",
        help="GPU: replay encoder and decoding steps as CUDA graphs, one per number of targets (same tokens)",
    )
    group.add_argument("--compile", action="store_true", help="torch.compile the encoder (slow first frame)")
    group.add_argument(
        "--quantize",
        choices=QUANTIZATIONS,
        default=None,
        help="onnxruntime: dynamic int8 weights (faster, tokens may differ)",
    )
    group.add_argument(
        "--threads",
        type=int,
        default=None,
        help="intra-op CPU threads (default: the cores other processes leave free at start-up, unless "
        "OMP_NUM_THREADS is set; idle OpenMP threads sleep unless OMP_WAIT_POLICY is set)",
    )
