"""``seqtrack models``, ``seqtrack info``, ``seqtrack convert`` and ``seqtrack macs``: named models and weights files.

``models`` and ``info`` on our safetensors files read headers only (`seqtrack.model.header`), so they
answer without loading torch; ``info`` on an official ``.pth.tar`` has to unpickle it (safely). ``macs``
counts a network's operations on the ``meta`` device (`seqtrack.bench.macs`): no weights are loaded.
"""

from __future__ import annotations

import argparse
from pathlib import Path

_DEFAULT_MACS_MODELS = ("b256", "b384", "l256", "l384")  # the paper's Tab. 1 (bench.macs.DEFAULT_MODELS)


def register(subparsers: argparse._SubParsersAction) -> None:
    convert = subparsers.add_parser(
        "convert",
        help="convert an official .pth.tar checkpoint to our safetensors format",
        description="Read a SeqTrack checkpoint (official .pth.tar, bare state dict or safetensors) without "
        "executing anything from it, and write safetensors with the model config in its metadata.",
    )
    convert.add_argument("source", help="input weights or model name (e.g. SEQTRACK_ep0500.pth.tar, b256)")
    convert.add_argument("target", type=Path, help="output .safetensors file")
    convert.add_argument("--preset", help="model preset (b256, b384, l256, l384, t128, s128); default: inferred")
    convert.set_defaults(handler=_convert)

    info = subparsers.add_parser("info", help="describe a model or weights file (network, parameters, settings)")
    info.add_argument("weights", help="a model name (see 'seqtrack models') or a weights file")
    info.add_argument("--preset", help="model preset; default: the file's config, else inferred from its shapes")
    info.set_defaults(handler=_info)

    models = subparsers.add_parser(
        "models",
        help="list the model names, their sizes and whether their weights are on this machine",
        description="Named models resolve to local files: the demo model ships with seqtrack; the official "
        "checkpoints go under $SEQTRACK_HOME (default ~/.cache/seqtrack). Nothing is downloaded.",
    )
    models.set_defaults(handler=_models)

    macs = subparsers.add_parser(
        "macs",
        help="count multiply-accumulates (the paper's Tab. 1 convention) and the FLOPs of a tracked frame",
        description="For each model: G MACs as the paper's Tab. 1 counts them (thop 0.1.1 rules, as the "
        "official tracking/profile_model.py: encoder + ONE decoding step, batch 1), our count of the FLOPs of "
        "one tracked frame (every matrix product: encoder + four cached decoding steps + head), and the true "
        "parameter count. Counted on the network itself on the meta device: fast, nothing is loaded.",
    )
    macs.add_argument(
        "models",
        nargs="*",
        default=list(_DEFAULT_MACS_MODELS),
        help="model presets (b256 b384 l256 l384 t128 s128), registered names (demo) or weights files with "
        "their config; default: " + " ".join(_DEFAULT_MACS_MODELS),
    )
    macs.set_defaults(handler=_macs)


def _convert(args: argparse.Namespace) -> int:
    from seqtrack.errors import safe_text
    from seqtrack.model.weights import convert_checkpoint, describe_config

    # convert_checkpoint refuses a target that is the source, checks it is writable, and writes atomically.
    model = convert_checkpoint(args.source, args.target, config=args.preset)
    print(safe_text(f"wrote {args.target} ({describe_config(model.config)})"))
    return 0


def _info(args: argparse.Namespace) -> int:
    from seqtrack.errors import InputError, safe_text
    from seqtrack.model.header import describe_config, read_header
    from seqtrack.model.registry import resolve_weights

    path = resolve_weights(args.weights)
    header = read_header(path)
    tracker = header.tracker_settings()  # checked: a file whose settings the tracker refuses is refused here too
    if header.format == "onnx":  # config and input shapes checked against the graph
        from seqtrack.runtime.onnxruntime import read_config

        if args.preset is not None:
            raise InputError("--preset does not apply to an ONNX file: its graph fixes the network")
        line = f"{path}: ONNX graph of {describe_config(read_config(path))}"
    else:
        if header.config is not None and args.preset is None:
            config, count = header.model_config(), header.parameters
        else:  # official files and state dicts: the network must be built to know what they hold
            from seqtrack.model.weights import load_model

            model = load_model(path, config=args.preset)
            config, count = model.config, sum(p.numel() for p in model.parameters())
        line = f"{path}: {describe_config(config)}; {count:,} parameters"
    # Everything printed from a file is escaped: its metadata could hold terminal control sequences.
    print(safe_text(line))
    if tracker:
        settings = ", ".join(f"{key}={value}" for key, value in sorted(tracker.items()))
        print(
            safe_text(
                f"recommended tracker settings (used unless --settings official or a flag says otherwise): {settings}"
            )
        )
    return 0


def _models(args: argparse.Namespace) -> int:
    from seqtrack.errors import safe_text
    from seqtrack.model.registry import REGISTRY, find, seqtrack_home

    print("| name | network | parameters | weights on this machine |\n|---|---|---:|---|")
    for entry in REGISTRY.values():
        path = find(entry)
        where = f"{path} ({path.stat().st_size / 1e6:.1f} MB)" if path else "absent"
        print(safe_text(f"| {entry.name} | {entry.summary} | {entry.parameters:,} | {where} |"))
    print()
    print(
        safe_text(f"official checkpoints are looked up in {seqtrack_home()} ($SEQTRACK_HOME); ")
        + "'seqtrack info NAME' tells more, and an absent model's error says which file to put where"
    )
    return 0


def _macs(args: argparse.Namespace) -> int:
    from seqtrack.bench.macs import measure, render_table, resolve_model_config

    # Every name is checked before anything is counted: a typo in the last one fails at once.
    configs = [(name, resolve_model_config(name)) for name in args.models]
    print(render_table(measure(name, config) for name, config in configs))
    print()
    print(
        "paper convention: multiply-accumulates counted by thop 0.1.1's rules, as the official "
        "tracking/profile_model.py (encoder + ONE decoding step; the ViT's attention products not counted); "
        "ours: 2 FLOPs per multiply-add of every matrix product of one tracked frame (torch FlopCounterMode)"
    )
    return 0
