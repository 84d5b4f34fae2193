"""Checks of the tensors the PyTorch losses take, and the dtype those losses compute in.

Each ``as_*`` function raises ``TypeError``/``ValueError`` naming the bad argument, or returns
its tensors in the compute dtype ``torch.promote_types(dtype, torch.float32)``: float32 and
float64 inputs are used as they are, float16 and bfloat16 inputs are cast to float32 *before*
:mod:`rmcourse.torch_loss` takes the difference ``r_c - r_r`` (so it cannot overflow float16),
and the loss comes back in float32, like the float32 loss of mixed-precision training. Gradients
flow back through the cast and reach the inputs in their own dtype.

Unlike the NumPy side, inputs are not checked for NaN/inf: that check would synchronise the GPU
on every training step.

Examples
--------
>>> import torch
>>> r_c, r_r = as_pair(torch.zeros(2, dtype=torch.float16), torch.ones(2, dtype=torch.float16))
>>> r_c.dtype, r_r.dtype
(torch.float32, torch.float32)
>>> as_pair(torch.zeros(2), torch.zeros(3))
Traceback (most recent call last):
...
ValueError: r_chosen and r_rejected must have the same shape, got (2,) and (3,)
"""

from __future__ import annotations

import functools
from numbers import Real

import torch

from rmcourse.validate import finite_number

REDUCTIONS = ("mean", "sum", "none")
"""How per-pair losses may be combined."""

DPO_LOGPS = ("policy_chosen_logps", "policy_rejected_logps", "ref_chosen_logps",
             "ref_rejected_logps")  # fmt: skip
"""The names of DPO's four log-prob arguments, in order."""


def check_reduction(reduction: object) -> None:
    """Raise ValueError unless ``reduction`` is one of :data:`REDUCTIONS`."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _check_float_tensor(x: object, name: str) -> None:
    """Raise TypeError unless ``x`` is a real floating-point tensor."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")


def _upcast(x: torch.Tensor) -> torch.Tensor:
    """``x`` in ``promote_types(x.dtype, float32)``: float16/bfloat16 become float32."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def as_float(x: object, name: str) -> torch.Tensor:
    """``x``, a floating-point tensor, in the compute dtype; TypeError for anything else."""
    _check_float_tensor(x, name)
    return _upcast(x)


def as_pair(r_chosen: object, r_rejected: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Rewards of chosen and rejected responses (one shape, at least one pair), in one dtype."""
    _check_float_tensor(r_chosen, "r_chosen")
    _check_float_tensor(r_rejected, "r_rejected")
    if r_chosen.shape != r_rejected.shape:
        raise ValueError(
            "r_chosen and r_rejected must have the same shape, got "
            f"{tuple(r_chosen.shape)} and {tuple(r_rejected.shape)}"
        )
    if r_chosen.numel() == 0:
        raise ValueError("r_chosen and r_rejected are empty: need at least one pair")
    dtype = torch.promote_types(r_chosen.dtype, r_rejected.dtype)
    return _upcast(r_chosen.to(dtype)), _upcast(r_rejected.to(dtype))


def as_margin(margin: object, rewards: torch.Tensor) -> torch.Tensor:
    """The margin as a tensor of the rewards' dtype and device (0-d or the rewards' shape)."""
    if isinstance(margin, torch.Tensor):
        _check_float_tensor(margin, "margin")
        if margin.ndim != 0 and margin.shape != rewards.shape:
            raise ValueError(
                "margin must be a number, a 0-d tensor or a tensor of the rewards' shape "
                f"{tuple(rewards.shape)}, got shape {tuple(margin.shape)}"
            )
        return margin.to(dtype=rewards.dtype, device=rewards.device)
    if not isinstance(margin, Real) or isinstance(margin, bool):
        raise TypeError(f"margin must be None, a number or a tensor, got {type(margin).__name__}")
    return torch.tensor(finite_number(margin, "margin"), dtype=rewards.dtype, device=rewards.device)


def as_logps(*logps: object) -> list[torch.Tensor]:
    """DPO's four log-probs (:data:`DPO_LOGPS`): one shape, at least one pair; in one dtype."""
    for name, value in zip(DPO_LOGPS, logps, strict=True):
        _check_float_tensor(value, name)
    shapes = dict(zip(DPO_LOGPS, (tuple(v.shape) for v in logps), strict=True))
    if len(set(shapes.values())) != 1:
        raise ValueError(f"the four log-prob tensors must have one shape, got {shapes}")
    if logps[0].numel() == 0:
        raise ValueError("the log-prob tensors are empty: need at least one pair")
    dtype = functools.reduce(torch.promote_types, (v.dtype for v in logps))
    return [_upcast(v.to(dtype)) for v in logps]
