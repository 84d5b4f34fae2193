"""``rmcourse hf-train``: train the tiny ``transformers`` reward model (or DPO policy) with TRL.

The same command runs on one process or many, unchanged::

    rmcourse hf-train --data p.jsonl --out run/
    torchrun --standalone --nproc_per_node 2 -m rmcourse hf-train --data p.jsonl --out run/
    accelerate launch --multi_gpu --num_processes 2 -m rmcourse hf-train --data p.jsonl --out run/

On CPUs too, ``--multi_gpu`` is the switch that starts torchrun's launcher (gloo joins the
processes, or MPI where torch was built with it); ``accelerate launch --cpu`` starts a single
process whatever ``--num_processes`` says (unless it is given an MPI host file). ``world_size``
in ``metrics.json`` tells how many processes trained.

Under a launcher, TRL's trainers (through ``accelerate``) join the process group the launcher set
up (gloo on CPUs, or MPI where torch was built with it; NCCL on GPUs) and wrap the model in
``DistributedDataParallel``: each process trains on its own ``batch_size`` pairs a step and the
gradients are averaged, so every process ends with the same weights. Process 0 writes
``metrics.json`` and the model (``model/``, ``save_pretrained``); every process writes
``rank<R>.json`` with a digest of its weights.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
import time
from importlib.metadata import version
from pathlib import Path

import torch
from transformers import PreTrainedModel

from rmcourse.data import load_jsonl, split_pairs, split_words
from rmcourse.fileio import atomic_write_text
from rmcourse.hf.model import policy_model, reward_model
from rmcourse.hf.tokenizer import course_tokenizer
from rmcourse.hf.trainers import (
    HFTrainConfig,
    dpo_implicit_rewards,
    dpo_trainer,
    reward_scores,
    reward_trainer,
)
from rmcourse.train import evaluate_rewards

HELD_OUT_FRACTION = 0.1
VERSIONED = ("torch", "transformers", "trl", "accelerate", "datasets")


def weights_digest(model: PreTrainedModel) -> str:
    """SHA-256 of every parameter and buffer, in name order: equal digests, equal weights.

    Examples
    --------
    >>> from rmcourse.hf.tokenizer import course_tokenizer
    >>> tok = course_tokenizer()
    >>> weights_digest(reward_model(tok, seed=0)) == weights_digest(reward_model(tok, seed=0))
    True
    >>> weights_digest(reward_model(tok, seed=0)) == weights_digest(reward_model(tok, seed=1))
    False
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def hf_train(
    data: str | Path, out: str | Path, dpo: bool = False, config: HFTrainConfig | None = None
) -> dict:
    """Train on the JSONL pairs in ``data`` (90 % train, 10 % held out, seeded) and write the
    results to the folder ``out``; returns the metrics (process 0's are written).

    Raises
    ------
    ValueError
        The data file is malformed or has fewer than 2 pairs (nothing is written then).
    """
    config = HFTrainConfig() if config is None else config
    pairs = load_jsonl(data)
    train_ds, held_out = split_pairs(pairs, val_fraction=HELD_OUT_FRACTION, seed=config.seed)
    words = sorted({w for t in train_ds.prompts + train_ds.chosen + train_ds.rejected
                    for w in split_words(t)})  # fmt: skip
    tokenizer = course_tokenizer(words)
    out = Path(out)
    started = time.perf_counter()
    if dpo:
        model = policy_model(tokenizer, seed=config.seed)
        reference = copy.deepcopy(model).eval()
        trainer = dpo_trainer(model, reference, tokenizer, train_ds, config)
    else:
        model = reward_model(tokenizer, seed=config.seed)
        trainer = reward_trainer(model, tokenizer, train_ds, config)
    trainer.train()
    seconds = time.perf_counter() - started
    model = trainer.accelerator.unwrap_model(trainer.model)
    if dpo:
        rewards = dpo_implicit_rewards(model, reference, tokenizer, held_out, config.beta)
    else:
        rewards = reward_scores(model, tokenizer, held_out)
    ev = evaluate_rewards(*rewards, held_out)
    state = trainer.accelerator.state
    metrics = {
        "mode": "dpo" if dpo else "reward",
        "data": str(data),
        "train_pairs": len(train_ds),
        "held_out_pairs": len(held_out),
        "world_size": state.num_processes,
        "backend": str(getattr(state, "backend", None)),
        "device": str(trainer.args.device),
        "steps": trainer.state.global_step,
        "pairs_per_step": config.batch_size * state.num_processes,
        "seconds": round(seconds, 2),
        "held_out_loss": ev.loss,
        "held_out_accuracy": ev.accuracy,
        "parameters": model.num_parameters(),
        "versions": {name: version(name) for name in VERSIONED},
    }
    if ev.expected_accuracy is not None:
        metrics.update(bayes_accuracy=ev.bayes_accuracy, expected_accuracy=ev.expected_accuracy)
    rank = state.process_index
    out.mkdir(parents=True, exist_ok=True)
    digest = {"rank": rank, "weights_sha256": weights_digest(model)}
    atomic_write_text(out / f"rank{rank}.json", json.dumps(digest))
    if state.is_main_process:
        model.save_pretrained(out / "model")
        tokenizer.save_pretrained(out / "model")
        atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=1))
    trainer.accelerator.wait_for_everyone()
    return metrics


def hf_train_command(data: str, out: str, dpo: bool, steps: int, batch_size: int, seed: int) -> int:
    """``rmcourse hf-train``: returns 0, or 2 for unusable data (the reason goes to stderr)."""
    try:
        config = HFTrainConfig(steps=steps, batch_size=batch_size, seed=seed,
                               use_cpu=not torch.cuda.is_available())  # fmt: skip
        metrics = hf_train(data, out, dpo=dpo, config=config)
    except (OSError, ValueError) as exc:
        print(f"rmcourse hf-train: {exc}", file=sys.stderr)
        return 2
    keys = ("mode", "world_size", "steps", "seconds", "held_out_accuracy", "expected_accuracy")
    print(json.dumps({k: metrics[k] for k in keys if k in metrics}))
    return 0
