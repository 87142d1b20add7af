"""The ``seqtrack`` command. Each area of the library registers its own subcommands.

A command module exposes ``register(subparsers)`` which adds parsers and sets ``handler=fn`` on them;
``fn(args) -> int`` returns the exit status. Errors derived from `SeqTrackError` are printed as one
``seqtrack: error: ...`` line with exit status 2 — never a traceback into the library.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from seqtrack.errors import SeqTrackError

# Modules that add subcommands, in the order their commands appear in --help.
COMMAND_MODULES = (
    "seqtrack.tracking.commands",
    "seqtrack.evaluate.commands",
    "seqtrack.train.commands",
    "seqtrack.model.commands",
    "seqtrack.export.commands",
    "seqtrack.demo",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="seqtrack",
        description="SeqTrack: sequence-to-sequence visual object tracking (track, eval, report, train, convert, export, bench).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name and (name == error.name or name.startswith(error.name + ".")):
                continue  # that area (or its commands module) is not part of this installation

            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``seqtrack`` console script; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except SeqTrackError as error:
        print(f"seqtrack: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("seqtrack: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
