"""Whether a run folder is started afresh, resumed or refused, and which config changes a resume allows.

Pure decisions (no I/O beyond looking at the folder): `seqtrack.train.trainer.Trainer` takes them on
rank 0, shares them with every rank and acts on them.
"""

from __future__ import annotations

from typing import Literal

from seqtrack.config import ExperimentConfig, to_dict
from seqtrack.train.checkpoint import ResumeState, RunFolder

# Train settings that may change between a run and its resumption (they do not change what is learnt,
# or only its numerics).
RESUMABLE_CHANGES = frozenset({"epochs", "num_workers", "grad_checkpointing", "save_every", "amp"})

FolderDecision = Literal["fresh", "resume", "error"]


def config_differences(stored: dict, current: dict, prefix: str = "") -> list[str]:
    """Dotted names (``train.lr``) of the settings that differ between two `to_dict` configs, sorted,
    leaving out the train settings in `RESUMABLE_CHANGES`."""
    diffs = []
    for key in sorted(set(stored) | set(current)):
        name = f"{prefix}{key}"
        a, b = stored.get(key), current.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            diffs.extend(config_differences(a, b, f"{name}."))
        elif a != b and not (prefix == "train." and key in RESUMABLE_CHANGES):
            diffs.append(name)
    return diffs


def with_defaults(stored: dict, defaults: dict) -> dict:
    """A copy of the `to_dict` config ``stored`` with every key it lacks taken from ``defaults`` (nested
    sections merged key by key); keys of ``stored`` are kept, also those ``defaults`` does not know."""
    out = dict(stored)
    for key, value in defaults.items():
        if key not in out:
            out[key] = value
        elif isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = with_defaults(out[key], value)
    return out


def folder_decision(run: RunFolder, force: bool, resume: bool) -> tuple[FolderDecision, str]:
    """Rank 0's decision about the run folder: ``("fresh"|"resume"|"error", message)``.

    ``force``: discard any run there; ``resume``: continue an unfinished one (else refuse it). The message
    is what to tell the user ("" when there is nothing to say), or the error.
    """
    if run.path.exists() and not run.path.is_dir():
        return "error", f"--out {run.path} exists and is not a folder"
    if not run.has_run():
        return "fresh", ""
    if force:
        return "fresh", f"--force: discarding the run in {run.path}"
    if run.is_finished():
        return "error", (
            f"{run.path} holds a finished run ({run.finished}); pass --force to train again from "
            "scratch there, or choose another --out (to train it for more epochs, delete "
            f"{run.finished.name} and pass --epochs)"
        )
    if not resume:
        return "error", (
            f"{run.path} holds an unfinished run; drop --no-resume to continue it, or pass --force to discard it"
        )
    if not run.resume.is_file():
        return "fresh", f"{run.path} holds no resume point yet ({run.resume.name}); starting over"
    return "resume", f"resuming the run in {run.path}"


def resume_conflicts(state: ResumeState, config: ExperimentConfig) -> tuple[list[str], str]:
    """The settings of ``config`` that a resume from ``state`` cannot honour, and a note for the user.

    Returns ``(names, note)``: dotted names of the conflicting settings (a resume must refuse them), and
    ``""`` or a line about an allowed change worth saying (a moved learning-rate drop).
    """
    # The tracker block is not used by training: a run may be resumed whatever it says (a newer
    # version of this package may also have added tracker fields since the run started).
    # A run started before a field existed ran with what is now its default (new fields default to the
    # old behaviour), so a field missing from the stored config reads as its default.
    stored = with_defaults(state.config, to_dict(ExperimentConfig()))
    stored = {k: v for k, v in stored.items() if k != "tracker"}
    diffs = config_differences(stored, {k: v for k, v in to_dict(config).items() if k != "tracker"})
    note = ""
    if "train.lr_drop_epoch" in diffs:
        # Moving a drop that has not happened yet under either value gives exactly the run that the
        # new config would give from scratch ("train longer before the drop"); anything else would not.
        old_drop, new_drop = state.config["train"]["lr_drop_epoch"], config.train.lr_drop_epoch
        if state.progress.epoch <= min(old_drop, new_drop):
            diffs.remove("train.lr_drop_epoch")
            note = f"lr drop moved from after epoch {old_drop} to after epoch {new_drop}"
    return diffs, note
