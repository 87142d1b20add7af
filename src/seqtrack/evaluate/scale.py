"""Scaling an evaluation run out: several devices on one machine, several machines under ``torchrun``.

* **Devices** (`worker_devices`): ``--devices cuda:0,cuda:1`` (or ``all``, every visible GPU) lists the
  devices that the worker processes of one run take round-robin; `seqtrack.evaluate.runner` gives worker
  ``k`` the device ``k mod len(devices)``. ``--device`` stays the flag of the one-device case. Every
  name is checked here, in the main process, before any folder is made.
* **Ranks** (`Launch`, `rank_share`): ``torchrun`` (or ``srun``, through torchrun) starts one process per
  rank with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` in its environment. Ranks never talk to each other:
  each computes the same partition of the benchmark from the same inputs and tracks its own share, writing
  into the one shared results folder with the runner's atomic, resumable writes. The partition covers
  *every* sequence, finished or not, so that it does not depend on what the other ranks have done yet;
  finished sequences of a share are then skipped as in a single run. A rank that dies loses only the
  sequence it was writing, and a re-run (with any number of ranks) completes the set.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from seqtrack.data.sequence import Sequence as TrackSequence
from seqtrack.errors import InputError
from seqtrack.evaluate.results import TEMP_PREFIX, TEMP_SUFFIX, result_paths

# The environment variables that torchrun sets for each process it starts.
_RANK_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")


@dataclass(frozen=True)
class Launch:
    """Where this process stands in a ``torchrun`` launch (0 of 1 when started alone).

    Attributes:
        rank: this process among all of them (``RANK``).
        world_size: how many processes share the benchmark (``WORLD_SIZE``).
        local_rank: this process among those of its machine (``LOCAL_RANK``): the GPU ``--device cuda`` means.
        local_world_size: processes on this machine (``LOCAL_WORLD_SIZE``).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Launch:
        """The launch that ``environ`` (default `os.environ`) describes.

        Raises:
            InputError: a variable that is not a whole number, or a rank outside ``0..WORLD_SIZE-1``.
        """
        environ = os.environ if environ is None else environ
        values = {}
        for name in _RANK_VARIABLES:
            text = environ.get(name, "").strip()
            try:
                values[name] = int(text) if text else None
            except ValueError:
                raise InputError(f"environment variable {name}={text!r}: expected a whole number") from None
        world_size = 1 if values["WORLD_SIZE"] is None else values["WORLD_SIZE"]
        rank = values["RANK"] or 0
        local_rank = values["LOCAL_RANK"] or 0
        if world_size < 1 or not 0 <= rank < world_size:
            raise InputError(f"RANK={rank} with WORLD_SIZE={world_size}: expected 0 <= RANK < WORLD_SIZE")
        if local_rank < 0:
            raise InputError(f"LOCAL_RANK={local_rank}: expected a rank of 0 or more")
        local_world_size = values["LOCAL_WORLD_SIZE"] or (world_size if world_size > 1 else 1)
        return cls(rank=rank, world_size=world_size, local_rank=local_rank, local_world_size=local_world_size)

    @property
    def distributed(self) -> bool:
        """True when several processes share the benchmark."""
        return self.world_size > 1

    @property
    def prefix(self) -> str:
        """``"rank 1/4: "`` for the lines a rank prints; empty when started alone."""
        return f"rank {self.rank}/{self.world_size}: " if self.distributed else ""


def rank_share(sequences: Sequence[TrackSequence], rank: int, world_size: int) -> list[TrackSequence]:
    """The sequences of ``rank`` among ``world_size``: disjoint shares that together hold every sequence.

    Balanced by frame count (a LaSOT sequence holds 1,000 to 11,000 frames, so every n-th name could
    leave one rank with far more work): the longest sequence goes first, each to the rank with the fewest
    frames so far (ties: the lowest rank). The order depends only on names and frame counts, never on the
    order ``sequences`` come in, so every rank computes the same partition. The share keeps the order of
    ``sequences``.
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not one of 0..{world_size - 1}")
    loads = [0] * world_size
    owner: dict[str, int] = {}
    for seq in sorted(sequences, key=lambda s: (-len(s.frames), s.name)):
        target = min(range(world_size), key=lambda r: (loads[r], r))
        owner[seq.name] = target
        loads[target] += len(seq.frames)
    return [seq for seq in sequences if owner[seq.name] == rank]


def worker_devices(
    device: str | None,
    devices: str | None,
    launch: Launch = Launch(),
    check: Callable[[str], None] | None = None,
    resolve: Callable[[str, int], str] | None = None,
) -> list[str]:
    """The devices the worker processes take round-robin, from ``--device`` and ``--devices``.

    Args:
        device: ``--device`` (one device for every worker; ``cuda`` is ``cuda:<LOCAL_RANK>`` under torchrun).
        devices: ``--devices``: comma-separated names, or ``all`` for every visible GPU.
        launch: this process's place in a torchrun launch.
        check: called with each distinct name as given, before it is resolved, so that what the tracker
            says of it (the onnxruntime backend runs on the CPU...) comes before whether the machine has it.
        resolve: ``(name, local_rank) -> canonical name``, instead of asking torch (the onnxruntime backend
            asks ONNX Runtime: `seqtrack.runtime.onnx_providers.onnx_device_name`).
    Returns:
        Resolved names (``cuda`` becomes ``cuda:0``); ``["cpu"]`` when neither flag is given.
    Raises:
        InputError: both flags, an empty list, a device this machine lacks (checked with
            `seqtrack.runtime.devices.resolve_device`), or ``--device cuda:N`` for several processes of
            one machine (they would all crowd onto that GPU).
    """
    if device is not None and devices is not None:
        raise InputError("--device and --devices together: --device is one device, --devices lists several")
    if devices is None:
        name = (device or "cpu").strip()
        if launch.local_world_size > 1 and ":" in name:
            raise InputError(
                f"--device {name} names one GPU for the {launch.local_world_size} processes of this machine: "
                "pass --device cuda (each process takes cuda:<LOCAL_RANK>)"
            )
        names = [name]
    elif devices.strip().lower() == "all":
        names = _all_gpus(torch_only=resolve is None)
    else:
        names = [part.strip() for part in devices.split(",")]
        if any(not part for part in names):
            raise InputError(f"--devices {devices!r}: expected comma-separated device names, e.g. cuda:0,cuda:1")
    for name in dict.fromkeys(names):
        if check is not None:
            check(name)
    return [(resolve or _resolve)(name, launch.local_rank) for name in names]


def _resolve(name: str, local_rank: int) -> str:
    """``name`` checked and made canonical; the CPU needs no torch import (the CLI starts faster)."""
    if name.lower() == "cpu":
        return "cpu"
    from seqtrack.runtime.devices import resolve_device  # imports torch

    return str(resolve_device(name, local_rank=local_rank))


def _all_gpus(torch_only: bool = True) -> list[str]:
    """Every CUDA device torch sees; one error line (naming what is available) when there is none, with how
    to name them by hand when the workers do not run torch (``torch_only=False``: ONNX Runtime can use GPUs
    that a CPU-only torch cannot count)."""
    from seqtrack.runtime.devices import available_devices, resolve_device

    try:
        resolve_device("cuda")
    except InputError as error:
        hint = "" if torch_only else " (torch counts the GPUs for 'all'; list them instead: --devices cuda:0,cuda:1)"
        raise InputError(f"--devices all: {error}{hint}") from None
    return [name for name in available_devices() if name.startswith("cuda")]


def remove_share_temp_files(results_dir: Path, sequences: Sequence[TrackSequence], layout: str) -> list[Path]:
    """Delete the temporary files that killed writers left for ``sequences``; returns what was removed.

    `seqtrack.evaluate.results.remove_stale_temp_files` judges a temp file by whether its writer's pid is
    alive, which only means something on the machine that wrote it: a rank on another machine would take
    a live writer for a dead one and delete the file it is about to rename. The shares of a launch are
    disjoint, so a rank cleans only the files of its own sequences, where no other rank writes.
    """
    removed = []
    for seq in sequences:
        for path in result_paths(Path(results_dir), seq.name, layout):
            if not path.parent.is_dir():
                continue
            for temp in path.parent.glob(f"{TEMP_PREFIX}{path.name}.*{TEMP_SUFFIX}"):
                pid = temp.name[len(TEMP_PREFIX) + len(path.name) + 1 : -len(TEMP_SUFFIX)]
                if not pid.isdigit() or _pid_alive(int(pid)):
                    continue  # not a temp file of ours, or a live writer of this machine (another run)
                try:
                    temp.unlink(missing_ok=True)
                except OSError:
                    continue  # a read-only folder: not worth failing the run on
                removed.append(temp)
    return removed


def _pid_alive(pid: int) -> bool:
    """True when ``pid`` runs on this machine (a pid of another machine reads as dead or as a stranger)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: alive
    return True
