"""Process-group set-up for ``torchrun``: who am I, which device, and the few collectives we need.

Outside torchrun (no WORLD_SIZE in the environment) everything degrades to one process and
no ``torch.distributed`` call is made.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistEnv:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that writes files, logs, and shows a progress bar."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup(device: str | None) -> DistEnv:
    """Join the torchrun process group (nccl on CUDA, gloo on CPU) and pick this rank's device.

    ``device`` is "cpu", "cuda" or None (CUDA when available).
    """
    kind = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if kind not in ("cpu", "cuda"):
        raise ValueError(f"--device must be cpu or cuda; got {device!r}.")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but PyTorch sees no CUDA device.")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if kind == "cuda":
        torch.cuda.set_device(local_rank)
        torch_device = torch.device("cuda", local_rank)
    else:
        torch_device = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if kind == "cuda" else "gloo",
                                timeout=timedelta(hours=1),  # rank 0 evaluates while the others wait
                                device_id=torch_device if kind == "cuda" else None)
    return DistEnv(rank=rank, local_rank=local_rank, world_size=world_size, device=torch_device)


def teardown(env: DistEnv) -> None:
    if env.distributed and dist.is_initialized():
        dist.destroy_process_group()


def all_gather_object(env: DistEnv, obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order (just ``[obj]`` in one process)."""
    if not env.distributed:
        return [obj]
    gathered: list[Any] = [None] * env.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def mean_across_ranks(env: DistEnv, values: dict[str, float]) -> dict[str, float]:
    """Average scalars over ranks; every rank must call it with the same keys."""
    if not env.distributed or not values:
        return values
    keys = sorted(values)
    tensor = torch.tensor([values[key] for key in keys], dtype=torch.float64, device=env.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return {key: float(value) / env.world_size for key, value in zip(keys, tensor.tolist())}


def barrier(env: DistEnv) -> None:
    if env.distributed:
        dist.barrier()
