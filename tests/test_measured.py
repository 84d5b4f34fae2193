"""Benchmark results shipped with the course (``rmcourse.data.load_measured``): they read back,
and they describe today's model, so a change of lesson 04's model cannot leave them stale."""

import pytest
import torch

from rmcourse.data import PreferenceWorld, load_measured
from rmcourse.model import count_parameters, new_model


def test_the_architecture_runs_describe_todays_default_model():
    records = load_measured("architecture")
    runs = [r for r in records if r["kind"] == "run"]
    torch.manual_seed(0)
    today = count_parameters(new_model(PreferenceWorld(seed=0).tokenizer()))
    assert {r["parameters"] for r in runs if r["variant"] == "default"} == {today}
    # every variant and budget the lessons read has the same three seeds
    by_cell: dict[tuple, list[int]] = {}
    for r in runs:
        by_cell.setdefault((r["trainer"], r["variant"], r["budget"]), []).append(r["seed"])
    assert all(sorted(seeds) == [0, 1, 2] for seeds in by_cell.values()), by_cell
    for variant in ("default", "learned+gelu", "pos-zero+gelu", "gelu", "gelu-88", "learned"):
        assert {b for (_, v, b) in by_cell if v == variant} >= {"300 steps", "1200 steps"}
    assert ("trl", "tiny-llama", "1200 steps") in by_cell
    assert ("rmcourse", "default", "TRL's 1200-step seconds") in by_cell
    assert all(0.5 < r["ratio"] <= 1.0 for r in runs)


def test_an_unknown_measurement_is_refused_with_the_names_it_ships():
    with pytest.raises(ValueError, match=r"no measurement named 'speed'.*'architecture'"):
        load_measured("speed")
