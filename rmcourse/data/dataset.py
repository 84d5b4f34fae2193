"""The dataset type: preference triples (prompt, chosen, rejected), with true rewards when known."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class PreferenceDataset:
    """Preference triples (prompt, chosen, rejected), with hidden true rewards when known.

    ``true_chosen`` and ``true_rejected`` are r* of each response (``None`` for a user's file).
    """

    prompts: list[str]
    chosen: list[str]
    rejected: list[str]
    true_chosen: np.ndarray | None = None
    true_rejected: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.prompts)
        if len(self.chosen) != n or len(self.rejected) != n:
            raise ValueError(
                f"prompts, chosen, rejected have lengths {n}, {len(self.chosen)}, "
                f"{len(self.rejected)}; they must be equal"
            )
        if (self.true_chosen is None) != (self.true_rejected is None):
            raise ValueError("give both true_chosen and true_rejected, or neither")
        for name in ("true_chosen", "true_rejected"):
            value = getattr(self, name)
            if value is not None and np.shape(value) != (n,):
                raise ValueError(f"{name} has shape {np.shape(value)}, expected ({n},)")

    def __len__(self) -> int:
        return len(self.prompts)

    @property
    def has_true_rewards(self) -> bool:
        """Whether the hidden true rewards are known (data from a ``PreferenceWorld``)."""
        return self.true_chosen is not None

    def subset(self, indices: Sequence[int] | np.ndarray) -> PreferenceDataset:
        """The pairs at ``indices``, in that order.

        Examples
        --------
        >>> ds = PreferenceDataset(["p", "q"], ["a", "b"], ["c", "d"])
        >>> ds.subset([1]).chosen
        ['b']
        """
        idx = np.asarray(indices, dtype=np.int64)
        pick = [int(i) for i in idx]
        return PreferenceDataset(
            [self.prompts[i] for i in pick],
            [self.chosen[i] for i in pick],
            [self.rejected[i] for i in pick],
            None if self.true_chosen is None else self.true_chosen[idx],
            None if self.true_rejected is None else self.true_rejected[idx],
        )


def split_pairs(
    dataset: PreferenceDataset, val_fraction: float = 0.1, seed: int = 0
) -> tuple[PreferenceDataset, PreferenceDataset]:
    """Shuffle ``dataset`` (seeded) and split it into training and validation pairs.

    Examples
    --------
    >>> ds = PreferenceDataset(list("abcdefghij"), list("abcdefghij"), list("ABCDEFGHIJ"))
    >>> train_ds, val_ds = split_pairs(ds, val_fraction=0.2)
    >>> len(train_ds), len(val_ds), sorted(train_ds.prompts + val_ds.prompts) == list("abcdefghij")
    (8, 2, True)
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if len(dataset) < 2:
        raise ValueError(f"need at least 2 pairs to split, got {len(dataset)}")
    order = np.random.default_rng(seed).permutation(len(dataset))
    n_val = min(len(dataset) - 1, max(1, round(len(dataset) * val_fraction)))
    return dataset.subset(order[n_val:]), dataset.subset(order[:n_val])
