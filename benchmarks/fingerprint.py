"""A fingerprint of what the models and the training loop compute on a CPU: one hash to compare.

Hashes, through the public API only, the initial weights, scores and ~25 training steps of the
reward models (transformer, with dropout, with margin and centering, bag-of-words, a seeded
re-initialisation, a continued run), and the policy's weights, log-probs, samples, 20 SFT steps
and 10 DPO steps. A weight tensor counts by its values, dtype and shape, in ``state_dict`` order,
not by its name, so renaming a key leaves the hash as it was. A refactoring that claims to change
no result runs this before and after: the combined hash (the last line) must be the same.

Usage::

    PYTHONPATH=. python benchmarks/fingerprint.py
"""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np
import torch

from rmcourse.data import PreferenceDataset, PreferenceWorld
from rmcourse.model import new_model
from rmcourse.policy import encode_prompts, encode_responses, new_policy, sample, sequence_logprobs
from rmcourse.policy_train import dpo, implicit_rewards, sft
from rmcourse.scoring import score_pairs
from rmcourse.train import TrainConfig, train


def digest(*parts: object) -> str:
    """sha256 of tensors (values, dtype, shape), arrays, dicts of numbers and plain values."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, torch.nn.Module):
            part = list(part.state_dict().values())  # values in a fixed order, names left out
        if isinstance(part, (list, tuple)) and part and isinstance(part[0], torch.Tensor):
            for t in part:
                h.update(digest(t).encode())
            continue
        if isinstance(part, torch.Tensor):
            part = part.detach().cpu().contiguous()
            h.update(f"{part.dtype}{tuple(part.shape)}".encode())
            h.update(part.view(torch.uint8).numpy().tobytes() if part.numel() else b"")
        elif isinstance(part, np.ndarray):
            h.update(f"{part.dtype}{part.shape}".encode() + np.ascontiguousarray(part).tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True, default=repr).encode())
    return h.hexdigest()


def config(**kw) -> TrainConfig:
    return TrainConfig(**{"steps": 25, "batch_size": 32, "eval_every": 10, "device": "cpu",
                          "progress": False, **kw})  # fmt: skip


def reward_models(world: PreferenceWorld) -> dict[str, str]:
    tok = world.tokenizer()
    train_ds, val_ds, test_ds = world.splits(512, 128, 128, seed=0)
    out = {}

    def run(name, model, cfg):
        out[f"{name} init"] = digest(model)
        out[f"{name} scores before"] = digest(*score_pairs(model, tok, test_ds))
        result = train(model, tok, train_ds, val_ds, cfg)
        out[f"{name} trained"] = digest(result.model, result.history, result.val_history,
                                        result.best_step, result.best_val_loss)  # fmt: skip
        out[f"{name} scores after"] = digest(*score_pairs(result.model, tok, test_ds))
        return result

    torch.manual_seed(0)
    first = run("transformer", new_model(tok), config(seed=0))
    torch.manual_seed(1)
    run("dropout", new_model(tok, dropout=0.1), config(seed=1))
    torch.manual_seed(2)
    run("margin+centering", new_model(tok), config(seed=2, margin=0.5, center_coef=0.01))
    torch.manual_seed(0)
    run("bow", new_model(tok, kind="bow"), config(seed=0, lr=0.05))
    torch.manual_seed(123)  # the weights come from config.seed, not from this global seed
    run("reinit", new_model(tok), config(seed=3, reinit=True))
    run("continued", first.model, config(steps=5, seed=4, reinit=False))
    return out


def policy(world: PreferenceWorld) -> dict[str, str]:
    tok = world.tokenizer()
    out = {}
    torch.manual_seed(0)
    lm = new_policy(tok)
    out["policy init"] = digest(lm)
    pairs = world.sample(256, seed=7)
    x = encode_prompts(tok, pairs.prompts)
    y = encode_responses(tok, pairs.chosen)
    with torch.no_grad():
        out["policy logprobs"] = digest(sequence_logprobs(lm.eval(), x, y))
    out["policy samples"] = digest(sample(lm, x[:64], seed=1))
    answers = [a[0] for a in world.sample_responses(pairs.prompts, 1, seed=0)]
    cfg = TrainConfig(steps=20, batch_size=32, lr=5e-3, warmup_steps=5, device="cpu",
                      progress=False)  # fmt: skip
    reference = sft(lm, tok, pairs.prompts, answers, cfg)
    out["sft"] = digest(reference.model, reference.history)
    with torch.no_grad():
        out["sft logprobs"] = digest(sequence_logprobs(reference.model, x, y))
    dpo_pairs = PreferenceDataset(pairs.prompts, pairs.chosen, pairs.rejected)
    dpo_cfg = TrainConfig(steps=10, batch_size=32, lr=1e-3, warmup_steps=3, seed=1,
                          device="cpu", progress=False)  # fmt: skip
    tuned = dpo(reference.model, tok, dpo_pairs, dpo_cfg, beta=0.1)
    out["dpo"] = digest(tuned.model, tuned.history)
    out["dpo implicit rewards"] = digest(
        implicit_rewards(
            tuned.model, reference.model, tok, pairs.prompts[:64], pairs.chosen[:64], 0.1
        )
    )
    out["reference untouched by dpo"] = digest(reference.model)
    return out


def main() -> str:
    torch.set_num_threads(1)  # one thread: a sum's order, and so its last bit, never varies
    world = PreferenceWorld(seed=0)
    parts = {**reward_models(world), **policy(world)}
    for name, value in parts.items():
        print(f"{name:32} {value[:16]}")
    combined = digest(list(parts.items()))
    print(json.dumps({"torch": torch.__version__, "combined": combined}))
    return combined


if __name__ == "__main__":
    main()
    sys.exit(0)
