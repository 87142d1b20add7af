"""Process-group set-up for training: one process on CPU/GPU, or DDP under ``torchrun``.

``torchrun`` sets ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; when
``WORLD_SIZE > 1`` the process group starts with ``env://`` and NCCL on GPUs, gloo on CPUs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from seqtrack.errors import InputError
from seqtrack.runtime.devices import resolve_device


@dataclass(frozen=True)
class DistContext:
    """Where this process stands.

    Attributes:
        rank, world_size, local_rank: as given by ``torchrun`` (0, 1, 0 for a single process).
        device: the device this process trains on.
        initialized: True when this module started a process group (and must end it).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    initialized: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup(device: str = "auto") -> DistContext:
    """Start the process group when launched with ``WORLD_SIZE > 1`` (else a single-process context).

    ``device``: ``auto``, ``cpu``, ``cuda`` (``cuda:<LOCAL_RANK>`` under ``torchrun``), ``cuda:N`` (one
    process only) or ``mps``, checked by `seqtrack.runtime.devices.resolve_device`.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if world_size > 1 and ":" in str(device):
        # Every process would take that one GPU: under torchrun each takes its own, cuda:<LOCAL_RANK>.
        raise InputError(f"--device {device} names one GPU for {world_size} processes: pass --device cuda")
    target = resolve_device(device, local_rank=local_rank)
    if world_size <= 1:
        if target.type == "cuda":
            torch.cuda.set_device(target)
        return DistContext(device=target)
    if target.type == "cuda":
        torch.cuda.set_device(target)
    started = False
    if not dist.is_initialized():
        backend = "nccl" if target.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, init_method="env://", world_size=world_size, rank=rank)
        started = True
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank, device=target, initialized=started)


def teardown(context: DistContext) -> None:
    """End the process group if `setup` started it."""
    if context.initialized and dist.is_initialized():
        dist.destroy_process_group()


def barrier(context: DistContext) -> None:
    """Wait for every rank (no-op for one process)."""
    if context.distributed:
        if context.device.type == "cuda":
            dist.barrier(device_ids=[context.device.index])
        else:
            dist.barrier()


def mean_over_ranks(value: torch.Tensor, context: DistContext) -> torch.Tensor:
    """Average of a tensor over ranks (a copy; the tensor itself is for one process)."""
    value = value.detach().clone()
    if context.distributed:
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        value /= context.world_size
    return value


def gather_objects(obj, context: DistContext) -> list:
    """Every rank's ``obj`` as a list indexed by rank (``[obj]`` for one process)."""
    if not context.distributed:
        return [obj]
    out = [None] * context.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj, context: DistContext):
    """Rank 0's ``obj`` on every rank."""
    if not context.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


__all__ = [
    "DistContext",
    "setup",
    "teardown",
    "barrier",
    "mean_over_ranks",
    "gather_objects",
    "broadcast_object",
]
