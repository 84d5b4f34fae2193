"""Training quality per second: train the default reward model for S seconds, then evaluate.

Usage::

    python benchmarks/train_bench.py [--seconds 60] [--device auto|cpu|cuda]

Trains on the colour world for ``--seconds`` of training time (validation passes not counted),
evaluates the best checkpoint on 10,000 held-out pairs and prints, as its last line, one JSON
object: bayes_accuracy (mean σ(|Δ*|), the ceiling), expected_accuracy (the label accuracy the
model's ordering of the pairs earns without sampling noise), ratio (expected / Bayes),
val_accuracy (plain accuracy on the sampled held-out labels), spearman (learned vs true reward
over all held-out responses), pairs_per_second, seconds, device.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from rmcourse.data import PreferenceWorld
from rmcourse.device import resolve_device
from rmcourse.model import count_parameters, new_model
from rmcourse.train import TrainConfig, evaluate, train

N_TRAIN, N_VAL, N_TEST = 60_000, 2_000, 10_000


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="training time budget")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--seed", type=int, default=0)
    # One thread: this model's matrices are too small for two threads to pay off (on the busy
    # 2-core machine: 1509 pairs/s with one thread, 303 with two).
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    device = resolve_device(args.device)
    world = PreferenceWorld(seed=0)
    start = time.perf_counter()
    train_ds, val_ds, test_ds = world.splits(N_TRAIN, N_VAL, N_TEST, seed=args.seed)
    print(f"data: {N_TRAIN} / {N_VAL} / {N_TEST} pairs in {time.perf_counter() - start:.1f} s",
          flush=True)  # fmt: skip
    tok = world.tokenizer()
    torch.manual_seed(args.seed)
    model = new_model(tok)
    # a GPU is starved by the CPU model's small batches: give it 8x more pairs per step
    batch_size = 1024 if device.type == "cuda" else TrainConfig.batch_size
    config = TrainConfig(seconds=args.seconds, device=str(device), batch_size=batch_size,
                         seed=args.seed, progress=sys.stderr.isatty())  # fmt: skip
    print(f"training {count_parameters(model)} parameters on {device} for {args.seconds:g} s, "
          f"batch {batch_size}", flush=True)  # fmt: skip
    result = train(model, tok, train_ds, val_ds, config)
    for step, loss, acc in zip(result.val_history["step"], result.val_history["loss"],
                               result.val_history["accuracy"], strict=True):  # fmt: skip
        print(f"  step {step:>6}  val loss {loss:.4f}  val accuracy {acc:.4f}")
    ev = evaluate(result.model, tok, test_ds)
    figures = {
        "bayes_accuracy": round(ev.bayes_accuracy, 4),
        "expected_accuracy": round(ev.expected_accuracy, 4),
        "ratio": round(ev.ratio, 4),
        "val_accuracy": round(ev.accuracy, 4),
        "spearman": round(ev.spearman, 4),
        "pairs_per_second": round(result.pairs_per_second),
        "seconds": round(result.train_seconds, 1),
        "device": result.device,
    }
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
