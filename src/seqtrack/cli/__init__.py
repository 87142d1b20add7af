"""The ``seqtrack`` command. Each area of the library registers its own subcommands.

A command module exposes ``register(subparsers)`` which adds parsers and sets ``handler=fn`` on them;
``fn(args) -> int`` returns the exit status. Errors derived from `SeqTrackError` are printed as one
``seqtrack: error: ...`` line with exit status 2 — never a traceback into the library. A module may also
expose ``normalize_argv(argv) -> argv`` to rewrite its command line before parsing.

Signals: Ctrl-C (SIGINT) raises `KeyboardInterrupt` as usual (exit 130); SIGTERM (``kill``, systemd,
job schedulers) raises `Terminated`, a `KeyboardInterrupt`, so every command closes its files and keeps
what it did exactly as on Ctrl-C, and the process exits with 143 (128 + 15). Both wait for a write that
must not be cut in two (`seqtrack.io.files.interrupts_deferred`).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

from seqtrack.errors import SeqTrackError, safe_text

# Modules that add subcommands, in the order their commands appear in --help, with the commands each
# registers (tests/cli/test_cli_entry.py checks the two agree). A command line that names a command
# imports only its module, so `seqtrack info demo` does not pay for numpy or torch.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "seqtrack.cli.track": ("track",),
    "seqtrack.cli.evaluate": ("eval", "report", "pack"),
    "seqtrack.cli.train": ("train",),
    "seqtrack.cli.model": ("convert", "info", "models", "macs"),
    "seqtrack.cli.export": ("export",),
    "seqtrack.cli.bench": ("bench",),
    "seqtrack.cli.demo": ("demo",),
    "seqtrack.cli.app": ("app",),
    "seqtrack.cli.vot": ("vot-workspace",),
    "seqtrack.cli.attention": ("attention",),
}


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: handled like Ctrl-C (files closed, work kept), exit status 143."""


EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[list[bool]]:
    """While inside, Ctrl-C raises `KeyboardInterrupt` and SIGTERM `Terminated` in the main thread, both
    through `seqtrack.io.files.raise_interrupt` (so a write that must not be cut in two finishes first);
    the previous handlers are restored after.

    Yields a one-item list that becomes ``[True]`` once SIGTERM arrived. Only the first SIGTERM raises:
    later ones are ignored, so that closing files (an MP4's index) is not cut short by a repeated signal.
    A SIGINT that is ignored (a background job) stays ignored. Outside the main thread (signals cannot be
    handled there) it does nothing.
    """
    from seqtrack.io.files import raise_interrupt

    received = [False]
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def on_sigterm(signum: int, frame: object) -> None:
        received[0] = True
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise_interrupt(Terminated())

    def on_sigint(signum: int, frame: object) -> None:
        raise_interrupt(KeyboardInterrupt())

    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, on_sigterm)}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield received
    finally:
        for number, handler in previous.items():
            # None: a handler installed outside Python, which cannot be put back from here; the default is.
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)


def _normalize_argv(argv: list[str]) -> list[str]:
    """``argv`` as rewritten by the module of its command (``normalize_argv``), if it has one."""
    for name, commands in COMMAND_MODULES.items():
        if argv and argv[0] in commands:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError:
                return argv  # build_parser reports what is missing
            normalize = getattr(module, "normalize_argv", None)
            return list(normalize(argv)) if normalize is not None else argv
    return argv


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
    """Entry point of the ``seqtrack`` console script; returns the process exit status.

    ``argv`` None (the console script, ``python -m seqtrack``): the command line of this process, which ends
    when this returns. OpenMP's wait policy is set to passive first unless the user chose one
    (`seqtrack.runtime.threads.apply_wait_policy`). The objects alive at the end are left out of the
    interpreter's final garbage collections (`gc.freeze`): after torch is loaded those take seconds on a
    busy machine and free nothing that the end of the process does not. Every command closes its files
    itself before returning.
    """
    if argv is None:
        # Before any command imports torch: OpenMP reads its wait policy once, when it starts. Passive waiting
        # keeps idle pool threads off the cores another process needs (a user's own setting is kept).
        from seqtrack.runtime.threads import apply_wait_policy

        apply_wait_policy()
    try:
        return _main(sys.argv[1:] if argv is None else list(argv))
    finally:
        if argv is None:
            gc.freeze()


def _main(argv: list[str]) -> int:
    argv = _normalize_argv(argv)
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    with signals_as_interrupts() as terminated:
        try:
            status = int(handler(args) or 0)
        except SeqTrackError as error:
            # safe_text: a message may quote a file's own text (a name in its metadata, a path): never
            # let it drive the terminal or spill onto a second line.
            print(f"seqtrack: error: {safe_text(error)}", file=sys.stderr)
            return 2
        except Terminated:
            print("seqtrack: terminated", file=sys.stderr)
            return EXIT_TERMINATED
        except KeyboardInterrupt:
            print("seqtrack: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except BrokenPipeError:  # `seqtrack models | head`: the reader left; stay quiet like other tools
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141
    # A command that handled the interrupt itself returns 130; after SIGTERM the status says so.
    return EXIT_TERMINATED if terminated[0] and status == EXIT_INTERRUPTED else status


if __name__ == "__main__":
    sys.exit(main())
