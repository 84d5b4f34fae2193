"""Preference data for TRL: the course's ``PreferenceDataset`` as a ``datasets.Dataset``.

TRL's preference format has a ``"prompt"``, a ``"chosen"`` and a ``"rejected"`` column of
strings (plus an optional ``"margin"`` column for the reward trainer). It is the format of the
JSONL files that ``rmcourse train --data`` reads (:func:`rmcourse.data.save_jsonl`): one format,
two readers.

TRL joins ``prompt + chosen`` as strings, so each response is given a leading space here: the
prompt's last word and the response's first never run together.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from datasets import Dataset

from rmcourse.data import PreferenceDataset


def to_hf_dataset(
    dataset: PreferenceDataset, margins: Sequence[float] | np.ndarray | None = None
) -> Dataset:
    """The pairs of ``dataset`` as a ``datasets.Dataset`` with prompt / chosen / rejected columns.

    Parameters
    ----------
    dataset : PreferenceDataset
    margins : array of float, optional
        One margin per pair for the reward trainer's ``-log σ(r_c - r_r - m)`` (Llama 2); added
        as a ``"margin"`` column.

    Examples
    --------
    >>> ds = PreferenceDataset(["my car is red . color ?"], ["it is red ."], ["it is blue ."])
    >>> row = to_hf_dataset(ds, margins=[1.5])[0]
    >>> row["prompt"] + row["chosen"], row["margin"]
    ('my car is red . color ? it is red .', 1.5)
    """
    columns = {
        "prompt": list(dataset.prompts),
        "chosen": [_spaced(c) for c in dataset.chosen],
        "rejected": [_spaced(r) for r in dataset.rejected],
    }
    if margins is not None:
        margins = np.asarray(margins, dtype=np.float64)
        if margins.shape != (len(dataset),):
            raise ValueError(
                f"margins has shape {margins.shape}, expected one per pair: ({len(dataset)},)"
            )
        if not np.all(np.isfinite(margins)):
            raise ValueError("margins must be finite numbers")
        columns["margin"] = margins.tolist()
    return Dataset.from_dict(columns)


def _spaced(response: str) -> str:
    """``response`` with exactly one leading space."""
    return " " + response.lstrip()
