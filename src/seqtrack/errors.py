"""Errors that reach the user as one clear line (the CLI prints them without a traceback)."""


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
