"""Measurements that ship with the course: the JSON lines a benchmark printed, read back.

A lesson that discusses a measurement too slow to repeat in the lesson itself (many seeds, many
variants, TRL beside rmcourse) plots the lines the benchmark printed, stored in
``rmcourse/data/measured/NAME.jsonl``; the benchmark's own command writes that file again.

- ``architecture``: ``benchmarks/trl_side_by_side.py`` (lesson 04's section 10, lesson 08),
  every run (``"kind": "run"``) and summary over the seeds (``"kind": "summary"``).
"""

from __future__ import annotations

import json
from importlib import resources

REQUIRED = {"kind", "trainer", "variant", "budget", "ratio", "parameters"}


def load_measured(name: str) -> list[dict]:
    """The records of ``measured/NAME.jsonl``, in the order the benchmark printed them.

    Examples
    --------
    >>> runs = [r for r in load_measured("architecture") if r["kind"] == "run"]
    >>> sorted({r["trainer"] for r in runs})
    ['rmcourse', 'trl']
    """
    files = resources.files("rmcourse.data") / "measured"
    path = files / f"{name}.jsonl"
    if not path.is_file():
        known = sorted(
            p.name.removesuffix(".jsonl") for p in files.iterdir() if p.name.endswith(".jsonl")
        )
        raise ValueError(f"no measurement named {name!r}; the course ships {known}")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        missing = REQUIRED - set(record)
        if missing:
            raise ValueError(f"measured/{name}.jsonl line {number} lacks {sorted(missing)}")
        records.append(record)
    return records
