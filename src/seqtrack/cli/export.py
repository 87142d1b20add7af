"""``seqtrack export``: weights → one ONNX graph, optionally int8 (``seqtrack bench`` lives in `seqtrack.cli.bench`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from seqtrack.errors import InputError

FORMATS = ("onnx",)


def register(subparsers: argparse._SubParsersAction) -> None:
    export = subparsers.add_parser(
        "export",
        help="export weights as one ONNX graph (encoder + 4 greedy steps + Hann prior)",
        description="Export a SeqTrack checkpoint as a single ONNX graph taking templates (B,T,3,H,W), "
        "search (B,3,S,S), a window flag and, for a model with temporal tokens, history (B,4K), returning the "
        "4 tokens and their probabilities (any decoding and encoding the checkpoint records). "
        "The result is checked against PyTorch with ONNX Runtime (tokens exact, probabilities "
        "within 1e-5) and carries the model config in its metadata.",
        epilog="example: seqtrack export --weights seqtrack_b256.pth.tar --format onnx --out b256.onnx "
        "[--quantize int8]; then: make_predictor('b256.onnx', backend='onnxruntime')",
    )
    export.add_argument(
        "--weights", "-w", required=True, type=Path, help="official .pth.tar, state dict or our .safetensors"
    )
    # Validated in the handler (not argparse choices) so a bad value gives one clear error line.
    export.add_argument("--format", default="onnx", help="output format: onnx (default)")
    export.add_argument("--out", "-o", required=True, type=Path, help="output file (.onnx)")
    export.add_argument(
        "--quantize",
        default=None,
        help="int8: dynamic int8 quantisation of the encoder's weight MatMuls (faster; tokens may differ)",
    )
    export.add_argument(
        "--batch",
        type=int,
        default=1,
        help="batch (number of targets) for tracing and the check; with --static-batch the only "
        "batch the file accepts (default 1; the batch axis is dynamic otherwise)",
    )
    export.add_argument("--static-batch", action="store_true", help="fix the batch axis to --batch")
    export.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    export.add_argument("--preset", help="model preset when the file does not determine it")
    export.add_argument("--no-validate", action="store_true", help="skip the ONNX Runtime vs PyTorch check")
    export.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from seqtrack.io.files import check_destination, refuse_overlaps
    from seqtrack.model.registry import resolve_weights
    from seqtrack.model.weights import describe_config, load_model

    if args.format.lower() not in FORMATS:
        raise InputError(f"unknown export format {args.format!r}; supported: {', '.join(FORMATS)}")
    if args.quantize is not None and args.quantize.lower() != "int8":
        raise InputError(f"unknown quantisation {args.quantize!r}; supported: int8")
    if args.batch < 1:
        raise InputError(f"--batch must be >= 1, got {args.batch}")
    if args.out.suffix.lower() != ".onnx":
        raise InputError(f"--out must end in .onnx, got {args.out}")
    # Before the checkpoint is loaded: an --out that cannot be written, or that is the weights themselves.
    check_destination(args.out, "--out")
    if not args.out.resolve().parent.is_dir():
        raise InputError(f"output folder does not exist: {args.out.parent}")
    weights = resolve_weights(args.weights)  # a registered name or a path
    refuse_overlaps({"the weights": weights}, {"--out": args.out})
    from seqtrack.export.onnx import export_onnx
    from seqtrack.runtime.onnxruntime import require

    require("onnx")  # fail before loading a large checkpoint
    require("onnxruntime")
    model = load_model(weights, config=args.preset)
    result = export_onnx(
        model,
        args.out,
        batch=args.batch,
        opset=args.opset,
        dynamic_batch=not args.static_batch,
        quantize=args.quantize.lower() if args.quantize else None,
        validate=not args.no_validate,
    )
    print(
        f"wrote {result.path} ({result.precision}, {result.size_bytes / 2**20:.1f} MiB) from "
        f"{describe_config(model.config)}"
    )
    for check in result.validation:
        print(
            f"  ONNX Runtime vs PyTorch, window {'on ' if check.window else 'off'}, batch {check.batch}: "
            f"tokens {check.token_agreement:.0%} equal, max |dprob| {check.max_prob_diff:.1e}"
            + ("" if result.precision == "fp32" else " (int8: not expected to be exact)")
        )
    return 0
