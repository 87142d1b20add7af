"""Errors that reach the user as one clear line (the CLI prints them without a traceback)."""

import unicodedata


class SeqTrackError(Exception):
    """Base class of every error the library raises on bad input; the message names the culprit
    (file, frame, argument) and what was expected."""


class CheckpointError(SeqTrackError):
    """A weights file is missing, unreadable, unsafe, or not a SeqTrack checkpoint."""


class InputError(SeqTrackError):
    """Bad user input: a box, a source, an argument."""


class DatasetError(SeqTrackError):
    """A dataset or benchmark folder is missing or malformed; the message names the expected path."""


def require_extra(module: str, extra: str, purpose: str):
    """Import an optional dependency, or raise one `InputError` naming the extra that brings it.

    Args:
        module: what to import (``"matplotlib.figure"``); extra: the ``seqtrack[...]`` extra that
            installs it (``"plots"``); purpose: what needs it, for the message (``"--plots"``).
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise InputError(f"{purpose} needs the optional package {top!r}: pip install 'seqtrack[{extra}]'") from None


def safe_text(text: object) -> str:
    """``text`` made safe to print on a terminal: control, format (bidirectional overrides, zero-width),
    line/paragraph separator, private and unassigned characters become ``\\xNN`` / ``\\uNNNN`` /
    ``\\UNNNNNNNN`` escapes (so a message stays one line, too).

    A file's metadata (a model name, a setting) is the file author's text: printed raw, ``"\\x1b[2J"``
    clears the screen and ``"\\u202e"`` reverses what follows.
    """
    out = []
    for char in str(text):
        category = unicodedata.category(char)
        if category[0] == "C" or category in ("Zl", "Zp"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)
