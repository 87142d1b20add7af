"""The run folder: weights checkpoints, the resume file, and durable (atomic) writes.

Layout of ``--out``::

    config.yaml                      the effective experiment config (YAML, our layout)
    metrics.jsonl                    one JSON object a line (see `seqtrack.train.metrics`)
    checkpoint_ep0010.safetensors    model weights + model config (`save_safetensors`), every save_every
                                     epochs and the last
    resume.pt                        everything needed to continue exactly (see `ResumeState`)
    finished.json                    written once the last epoch is done (a finished run is never resumed)

Every file is written to a temporary name (`seqtrack.io.files.atomic_path`), flushed, fsync'ed and moved
over the old one with ``os.replace`` (then the folder is fsync'ed), so a SIGKILL or a power loss leaves
either the old or the new file, never a torn one; a full disk is one error line and the previous file
stays. The temporary files a SIGKILL leaves behind are removed when the next run starts
(`remove_stale_temp_files`). Only rank 0 writes.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from seqtrack.config import to_dict
from seqtrack.errors import CheckpointError
from seqtrack.io.files import atomic_path

RESUME_FORMAT = 1


# ---------------------------------------------------------------------------------------------- durable writes
def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some filesystems do not allow opening folders; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def durable_path(path: Path, what: str) -> Iterator[Path]:
    """A temporary path to write ``path`` through (`seqtrack.io.files.atomic_path`: fsync'ed, renamed over
    ``path``; on failure removed, ``path`` unchanged and one `InputError` naming ``what``), then the folder
    fsync'ed so that the rename itself survives a power loss."""
    path = Path(path)
    with atomic_path(path, what) as temp:
        yield temp
    _fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes, what: str = "run file") -> None:
    """Write ``data`` to ``path`` atomically and durably."""
    with durable_path(path, what) as temp:
        temp.write_bytes(data)


def atomic_torch_save(obj: Any, path: Path, what: str = "resume file") -> None:
    """``torch.save`` to ``path`` atomically and durably."""
    with durable_path(path, what) as temp:
        with open(temp, "wb") as handle:
            torch.save(obj, handle)


def atomic_save_weights(model: torch.nn.Module, path: Path) -> None:
    """Our safetensors checkpoint (the layout of `seqtrack.model.weights.save_safetensors`: the tensors and
    the model config in the metadata), atomically and durably.

    The bytes are made in memory and written here rather than by the safetensors writer, which goes
    through a temporary file of its own with a random name: a killed run would leave files that
    `remove_stale_temp_files` cannot tell from a live writer's, and a full disk must surface as an
    `OSError` to become one error line.
    """
    from safetensors.torch import save

    from seqtrack.model.header import CONFIG_KEY

    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    metadata = {CONFIG_KEY: json.dumps(to_dict(model.config)), "format": "pt"}
    atomic_write_bytes(path, save(tensors, metadata=metadata), what="weights checkpoint")


# Temporary files of the atomic writers: ``.NAME.PID.tmp`` (`seqtrack.io.files.temporary_path`) and, from
# earlier versions of this module, ``.NAME.tmpPID``.
_TEMP_NAMES = (re.compile(r"^\..+\.(\d+)\.tmp$"), re.compile(r"^\..+\.tmp(\d+)$"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Delete the temporary files that killed writers left in a run folder (their process no longer
    runs: a SIGKILL during a checkpoint write leaves one each time); returns what was removed.

    Files of live processes are kept: they may be writing right now.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in folder.iterdir():
        match = next((m for m in (p.match(path.name) for p in _TEMP_NAMES) if m), None)
        if match and path.is_file() and not _pid_alive(int(match.group(1))):
            with contextlib.suppress(OSError):  # gone meanwhile, or not ours to remove
                path.unlink()
                removed.append(path)
    return removed


# ---------------------------------------------------------------------------------------------- RNG states
def capture_rng() -> dict:
    """The process's RNG states (Python, NumPy legacy global, torch CPU, every CUDA device) in a form
    that ``torch.load(weights_only=True)`` accepts (tensors, ints, lists)."""
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {
            "name": np_state[0],
            "key": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else [],
    }
    return state


def restore_rng(state: dict) -> None:
    """Set the process's RNG states from `capture_rng` output."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["name"], n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


# ---------------------------------------------------------------------------------------------- resume state
@dataclass
class Progress:
    """Where training stands, in units that do not depend on the number of ranks.

    Attributes:
        epoch: 1-based epoch in progress (or about to start when ``samples_in_epoch == 0``).
        samples_in_epoch: global samples of ``epoch`` already trained (a multiple of the global batch).
        global_step: optimiser steps done since the start of the run.
        samples_seen: global samples trained since the start.
        epoch_loss_sum, epoch_steps: running sum (float64) and count of the step losses of ``epoch``.
        window_loss_sum, window_iou_sum, window_steps: the same since the last ``step`` line of the log
            (so that a resumed run writes the same averages as an uninterrupted one).
        elapsed: seconds spent training (summed over restarts).
    """

    epoch: int = 1
    samples_in_epoch: int = 0
    global_step: int = 0
    samples_seen: int = 0
    epoch_loss_sum: float = 0.0
    epoch_steps: int = 0
    window_loss_sum: float = 0.0
    window_iou_sum: float = 0.0
    window_steps: int = 0
    elapsed: float = 0.0


@dataclass
class ResumeState:
    """Content of ``resume.pt``.

    Attributes:
        progress: `Progress`; config: the experiment config as a plain dict (`seqtrack.config.to_dict`).
        model, optimizer, scheduler, scaler: state dicts (``scaler`` empty without fp16 AMP).
        rng: per-rank `capture_rng` states, indexed by rank.
        world_size: ranks that wrote it; extra: free-form facts (MAE file, versions).
    """

    progress: Progress
    config: dict
    model: dict
    optimizer: dict
    scheduler: dict
    scaler: dict = field(default_factory=dict)
    rng: list = field(default_factory=list)
    world_size: int = 1
    extra: dict = field(default_factory=dict)

    def to_payload(self) -> dict:
        payload = {
            "format": RESUME_FORMAT,
            **{
                k: getattr(self, k)
                for k in ("config", "model", "optimizer", "scheduler", "scaler", "rng", "world_size", "extra")
            },
        }
        payload["progress"] = asdict(self.progress)
        return payload

    @classmethod
    def from_payload(cls, payload: dict, path: Path) -> ResumeState:
        if not isinstance(payload, dict) or payload.get("format") != RESUME_FORMAT:
            raise CheckpointError(f"{path} is not a seqtrack resume file (format {RESUME_FORMAT})")
        try:
            return cls(
                progress=Progress(**payload["progress"]),
                config=payload["config"],
                model=payload["model"],
                optimizer=payload["optimizer"],
                scheduler=payload["scheduler"],
                scaler=payload["scaler"],
                rng=payload["rng"],
                world_size=payload["world_size"],
                extra=payload["extra"],
            )
        except (KeyError, TypeError) as error:
            raise CheckpointError(f"{path} is an incomplete resume file: {error}") from None


def save_resume(state: ResumeState, path: Path) -> None:
    """Write ``resume.pt`` atomically."""
    atomic_torch_save(state.to_payload(), path, what="resume file")


def load_resume(path: Path) -> ResumeState:
    """Read ``resume.pt`` (tensors and plain data only: ``weights_only=True``)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for damaged files
        raise CheckpointError(f"{path} could not be read as a resume file: {type(error).__name__}: {error}") from None
    return ResumeState.from_payload(payload, path)


# ---------------------------------------------------------------------------------------------- run folder
@dataclass(frozen=True)
class RunFolder:
    """Names of the files of one training run in ``path``."""

    path: Path

    @property
    def config(self) -> Path:
        return self.path / "config.yaml"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def resume(self) -> Path:
        return self.path / "resume.pt"

    @property
    def finished(self) -> Path:
        return self.path / "finished.json"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    def checkpoint(self, epoch: int) -> Path:
        return self.path / f"checkpoint_ep{epoch:04d}.safetensors"

    def checkpoints(self) -> list[Path]:
        """Weight checkpoints present, oldest epoch first."""
        return sorted(self.path.glob("checkpoint_ep*.safetensors"))

    def is_finished(self) -> bool:
        return self.finished.is_file()

    def has_run(self) -> bool:
        """True when the folder holds (part of) a training run."""
        return any(p.exists() for p in (self.resume, self.finished, self.metrics)) or bool(self.checkpoints())

    def finished_summary(self) -> dict:
        try:
            return json.loads(self.finished.read_text())
        except (OSError, ValueError):
            return {}

    def clear(self) -> None:
        """Remove the files of a previous run (only the names listed above; nothing else is touched)."""
        for p in (self.resume, self.finished, self.metrics, self.config, *self.checkpoints()):
            p.unlink(missing_ok=True)
        if self.tensorboard.is_dir():
            for p in self.tensorboard.glob("events.out.tfevents.*"):
                p.unlink()

    def mark_finished(self, summary: dict) -> None:
        atomic_write_bytes(self.finished, (json.dumps(summary, indent=2) + "\n").encode(), what="finished.json")

    def write_config(self, config: Any) -> None:
        """``config.yaml``: the experiment config (a config dataclass) in our YAML layout, atomically."""
        text = yaml.safe_dump(to_dict(config), sort_keys=False)
        atomic_write_bytes(self.config, text.encode("utf-8"), what="config.yaml")


__all__ = [
    "RunFolder",
    "ResumeState",
    "Progress",
    "save_resume",
    "load_resume",
    "capture_rng",
    "restore_rng",
    "atomic_torch_save",
    "atomic_save_weights",
    "atomic_write_bytes",
    "durable_path",
    "remove_stale_temp_files",
]
