"""Where tensors live: the GPU when there is one, else the CPU; bf16 autocast on a GPU only.

Examples
--------
>>> resolve_device("cpu")
device(type='cpu')
>>> autocast(torch.device("cpu")).fast_dtype == torch.bfloat16  # disabled on a CPU
True
"""

from __future__ import annotations

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
