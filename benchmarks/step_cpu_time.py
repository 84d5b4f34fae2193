"""CPU milliseconds per training step of lesson 04's model: a throughput A/B on a loaded machine.

Usage::

    PYTHONPATH=TREE python benchmarks/step_cpu_time.py

``train()`` of the default reward model at 50 and at 450 steps of 64 pairs, one torch thread, in
process time; the difference over 400 steps cancels the set-up and the one validation pass. CPU
time depends on other work on the machine much less than wall-clock pairs/s, so two versions of
the code (``git archive COMMIT | tar -x -C TREE``) can be compared by running this script with
``PYTHONPATH`` at each tree in turn, interleaved. The last line is one JSON object.
"""

from __future__ import annotations

import json
import time

import torch

from rmcourse.data import PreferenceWorld
from rmcourse.model import new_model
from rmcourse.train import TrainConfig, train

SHORT, LONG = 50, 450


def main() -> dict:
    torch.set_num_threads(1)
    world = PreferenceWorld(seed=0)
    train_ds, val_ds, _ = world.splits(20_000, 200, 10, seed=0)
    tok = world.tokenizer()
    spent = []
    for steps in (SHORT, LONG):
        torch.manual_seed(0)
        model = new_model(tok)
        config = TrainConfig(steps=steps, seed=0, progress=False, device="cpu", eval_every=10**6)
        cpu, wall = time.process_time(), time.perf_counter()
        train(model, tok, train_ds, val_ds, config)
        spent.append((time.process_time() - cpu, time.perf_counter() - wall))
    cpu_step = (spent[1][0] - spent[0][0]) / (LONG - SHORT)
    wall_step = (spent[1][1] - spent[0][1]) / (LONG - SHORT)
    figures = {"cpu_ms_per_step": round(cpu_step * 1e3, 3),
               "pairs_per_cpu_second": round(64 / cpu_step),
               "wall_ms_per_step": round(wall_step * 1e3, 3)}  # fmt: skip
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
