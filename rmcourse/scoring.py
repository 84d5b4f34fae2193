"""A reward model's rewards for a dataset, and the metrics of a set of pairs that training logs.

Chosen and rejected rows are scored in one forward pass (concatenated, split again), the way
TRL's reward trainer does; rewards come back as float64 NumPy arrays.
"""

from __future__ import annotations

import numpy as np
import torch

from rmcourse import torch_loss
from rmcourse.data import PreferenceDataset, Tokenizer
from rmcourse.device import autocast
from rmcourse.model import RewardModel

METRICS = ("loss", "accuracy", "margin", "reward_chosen", "reward_rejected", "reward_mean",
           "reward_std")  # fmt: skip
"""The names :func:`pair_metrics` returns, logged per step and per validation pass."""


def encode_dataset(
    tokenizer: Tokenizer, dataset: PreferenceDataset, max_len: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Chosen and rejected rows as two (N, T) int64 tensors of one common width T."""
    both = tokenizer.encode_pairs(
        dataset.prompts + dataset.prompts, dataset.chosen + dataset.rejected, max_len
    )  # (2N, T)
    return torch.from_numpy(both).chunk(2)


def trim_padding(ids: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Drop the columns that are padding in every row (less work, same rewards)."""
    width = int((ids != pad_id).sum(dim=1).max())
    return ids[:, :width]


@torch.no_grad()
def score_pairs(
    model: RewardModel,
    tokenizer: Tokenizer,
    dataset: PreferenceDataset,
    batch_size: int = 1024,
    device: torch.device | str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rewards of the chosen and of the rejected responses, as float64 NumPy arrays (N,)."""
    chosen, rejected = encode_dataset(tokenizer, dataset, model.config.max_len)
    return score_rows(model, torch.cat([chosen, rejected]), tokenizer.pad_id, batch_size, device)


@torch.no_grad()
def score_rows(
    model: RewardModel,
    rows: torch.Tensor,
    pad_id: int,
    batch_size: int = 1024,
    device: torch.device | str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`score_pairs` of rows already encoded: the chosen rows (N, T), then the rejected."""
    device = next(model.parameters()).device if device is None else torch.device(device)
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(rows), batch_size):
        ids = trim_padding(rows[start : start + batch_size], pad_id).to(device)
        with autocast(device):
            out.append(model(ids).float().cpu())
    model.train(was_training)
    r_c, r_r = torch.cat(out).double().numpy().reshape(2, -1)
    return r_c, r_r


def pair_metrics(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> dict[str, float]:
    """Loss, accuracy (ties wrong), mean margin, reward means and spread of a set of pairs.

    Examples
    --------
    >>> m = pair_metrics(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 0.0]))
    >>> round(m["loss"], 6), m["accuracy"], m["margin"], m["reward_mean"]
    (0.503204, 0.5, 0.5, 0.25)
    """
    r_c, r_r = r_chosen.detach().float(), r_rejected.detach().float()
    both = torch.cat([r_c, r_r])
    values = torch.stack([
        torch_loss.bt_loss(r_c, r_r), (r_c - r_r).mean(), r_c.mean(), r_r.mean(), both.mean(),
        both.std(correction=0),
    ]).tolist()  # fmt: skip
    loss, margin, chosen, rejected, mean, std = values
    return {"loss": loss, "accuracy": torch_loss.accuracy(r_c, r_r), "margin": margin,
            "reward_chosen": chosen, "reward_rejected": rejected, "reward_mean": mean,
            "reward_std": std}  # fmt: skip
