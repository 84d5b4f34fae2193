"""JSONL preference files in the format of TRL's reward trainer.

One object per line with string fields ``"prompt"``, ``"chosen"`` and ``"rejected"``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from rmcourse.data.dataset import PreferenceDataset
from rmcourse.fileio import atomic_write_text


def save_jsonl(dataset: PreferenceDataset, path: str | os.PathLike) -> None:
    """Write ``{"prompt", "chosen", "rejected"}`` lines atomically (:mod:`rmcourse.fileio`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> ds = PreferenceDataset(["what color is a sky ?"], ["it is blue ."], ["it is red ."])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "prefs.jsonl"
    >>> save_jsonl(ds, path)
    >>> load_jsonl(path).chosen
    ['it is blue .']
    """
    lines = (
        json.dumps({"prompt": p, "chosen": c, "rejected": r}) + "\n"
        for p, c, r in zip(dataset.prompts, dataset.chosen, dataset.rejected, strict=True)
    )
    atomic_write_text(path, "".join(lines))


def load_jsonl(path: str | os.PathLike) -> PreferenceDataset:
    """Read a preference file; every line must be a valid object (blank lines are allowed).

    Raises
    ------
    ValueError
        Naming the file, the line number and the problem: bad JSON, not an object, a missing
        or non-string field, an empty prompt or response, or no pairs at all.
    """
    path = Path(path)
    prompts, chosen, rejected = [], [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}, line {lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{where}: expected a JSON object, got {type(obj).__name__}")
            for key in ("prompt", "chosen", "rejected"):
                if key not in obj:
                    raise ValueError(f"{where}: missing field {key!r}")
                if not isinstance(obj[key], str):
                    raise ValueError(
                        f"{where}: field {key!r} must be a string, got {type(obj[key]).__name__}"
                    )
                if not obj[key].strip():
                    raise ValueError(f"{where}: field {key!r} is empty")
            prompts.append(obj["prompt"])
            chosen.append(obj["chosen"])
            rejected.append(obj["rejected"])
    if not prompts:
        raise ValueError(f"{path}: no preference pairs in the file")
    return PreferenceDataset(prompts, chosen, rejected)
