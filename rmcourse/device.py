"""Where tensors live: the GPU when there is one, else the CPU; bf16 autocast on a GPU only;
how many CPU threads a big batch may use.

Examples
--------
>>> resolve_device("cpu")
device(type='cpu')
>>> autocast(torch.device("cpu")).fast_dtype == torch.bfloat16  # disabled on a CPU
True
"""

from __future__ import annotations

import os

import torch


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` → CUDA when present, else CPU; ``"cuda"`` fails clearly without a GPU.

    Examples
    --------
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be 'auto', 'cpu' or 'cuda', got 'tpu'
    """
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for, but torch finds no CUDA GPU here")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def autocast(device: torch.device) -> torch.autocast:
    """bf16 autocast on a GPU (tensor cores, no loss scaling needed); full float32 on a CPU."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16,
                          enabled=device.type == "cuda")  # fmt: skip


def cpu_threads(most: int = 2) -> int:
    """CPU threads for work that gains from a second one (scoring big batches): ``most``, or
    fewer where this process may run on fewer CPUs or ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS``
    asks for fewer (``make test`` gives each of its processes one).

    The lessons train with one thread (their models are small) and score their large pools with
    ``cpu_threads()``; two was measured to pay off on a 2-core machine, more was not measured.
    Read from the environment, not from torch's current setting, so that re-running a lesson's
    cells gives the same answer.

    Examples
    --------
    >>> 1 <= cpu_threads() <= 2
    True
    >>> cpu_threads(most=1)
    1
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    allowed = [most, cpus or 1]
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            allowed.append(int(value))
    return max(1, min(allowed))
