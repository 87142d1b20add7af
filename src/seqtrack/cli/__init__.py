"""The ``seqtrack`` command. Each area of the library registers its own subcommands.

A command module exposes ``register(subparsers)`` which adds parsers and sets ``handler=fn`` on them;
``fn(args) -> int`` returns the exit status. Errors derived from `SeqTrackError` are printed as one
``seqtrack: error: ...`` line with exit status 2 — never a traceback into the library.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from seqtrack.errors import SeqTrackError

# Modules that add subcommands, in the order their commands appear in --help, with the commands each
# registers (tests/cli/test_cli_entry.py checks the two agree). A command line that names a command
# imports only its module, so `seqtrack info demo` does not pay for numpy or torch.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "seqtrack.cli.track": ("track",),
    "seqtrack.cli.evaluate": ("eval", "report", "pack"),
    "seqtrack.cli.train": ("train",),
    "seqtrack.cli.model": ("convert", "info", "models"),
    "seqtrack.cli.export": ("export",),
    "seqtrack.cli.bench": ("bench",),
    "seqtrack.cli.demo": ("demo",),
}


def _version() -> str:
    from seqtrack import __version__

    return f"seqtrack {__version__}"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser: with every available subcommand, or only the module that registers ``command``."""
    parser = argparse.ArgumentParser(
        prog="seqtrack",
        description=(
            "SeqTrack: sequence-to-sequence visual object tracking "
            "(track, eval, report, train, models, info, convert, export, bench, demo)."
        ),
    )
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = [name for name, commands in COMMAND_MODULES.items() if command in commands]
    for name in wanted or COMMAND_MODULES:
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
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv[0] if argv else None)
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
    except BrokenPipeError:  # `seqtrack models | head`: the reader left; stay quiet like other tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
