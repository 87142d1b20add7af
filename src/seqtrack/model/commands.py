"""``seqtrack convert`` and ``seqtrack info``: weights files from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    convert = subparsers.add_parser(
        "convert", help="convert an official .pth.tar checkpoint to our safetensors format",
        description="Read a SeqTrack checkpoint (official .pth.tar, bare state dict or safetensors) without "
                    "executing anything from it, and write safetensors with the model config in its metadata.")
    convert.add_argument("source", type=Path, help="input weights (e.g. SEQTRACK_ep0500.pth.tar)")
    convert.add_argument("target", type=Path, help="output .safetensors file")
    convert.add_argument("--preset", help="model preset (b256, b384, l256, l384, t128, s128); default: inferred")
    convert.set_defaults(handler=_convert)

    info = subparsers.add_parser("info", help="describe a weights file (preset, sizes, parameters)")
    info.add_argument("weights", type=Path)
    info.add_argument("--preset", help="model preset; default: inferred from the file")
    info.set_defaults(handler=_info)


def _convert(args: argparse.Namespace) -> int:
    from seqtrack.model.weights import convert_checkpoint, describe_config

    model = convert_checkpoint(args.source, args.target, config=args.preset)
    print(f"wrote {args.target} ({describe_config(model.config)})")
    return 0


def _info(args: argparse.Namespace) -> int:
    from seqtrack.model.weights import describe_config, load_model

    model = load_model(args.weights, config=args.preset)
    count = sum(p.numel() for p in model.parameters())
    print(f"{args.weights}: {describe_config(model.config)}; {count:,} parameters")
    return 0
