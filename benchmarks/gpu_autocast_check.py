"""Check that training under bf16 autocast hands float32 rewards and log-probs to the losses.

Usage::

    python benchmarks/gpu_autocast_check.py [--device cuda|cpu] [--steps 20]

On a CUDA GPU, ``rmcourse.train.train`` and ``rmcourse.policy_train.dpo`` run their forward
passes under bf16 autocast (:func:`rmcourse.device.autocast`); the reward head and the policy's
head and log-softmax stay in float32 (:func:`rmcourse.transformer.in_float32`). This script trains a
reward model and a DPO policy a few steps, records what reaches ``bt_loss`` and ``dpo_loss`` (and
the trained policy's logits under autocast), and prints their dtype and the share of values that
bf16 holds exactly (1.0: the values were rounded to bf16, whatever their dtype now; float32
values from a float32 head give about 0). ``--device cpu`` runs the same loops under CPU bf16
autocast instead, a stand-in where no GPU is at hand. The last line is one JSON object; the exit
status is 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from rmcourse import loop, policy_train, torch_loss
from rmcourse import train as rm_train
from rmcourse.data import PreferenceDataset, PreferenceWorld
from rmcourse.model import new_model
from rmcourse.policy import new_policy


def bf16_share(values: torch.Tensor) -> float:
    """Share of ``values`` that bf16 represents exactly."""
    return (values == values.bfloat16().to(values.dtype)).float().mean().item()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA GPU here; --device cpu checks under CPU bf16 autocast instead")
    if args.device == "cpu":  # rmcourse.device.autocast is off on a CPU: switch it on
        cpu_bf16 = lambda device: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
        loop.autocast = cpu_bf16

    seen: dict[str, list[torch.Tensor]] = {"rewards": [], "policy_logprobs": []}  # per step
    bt_loss, dpo_loss = torch_loss.bt_loss, torch_loss.dpo_loss

    def spy_bt_loss(r_chosen, r_rejected, **kwargs):
        if "center_coef" in kwargs:  # the training step's call (pair_metrics passes none)
            seen["rewards"].append(torch.cat([r_chosen, r_rejected]).detach())
        return bt_loss(r_chosen, r_rejected, **kwargs)

    def spy_dpo_loss(policy_chosen, policy_rejected, *refs, **kwargs):
        seen["policy_logprobs"].append(torch.cat([policy_chosen, policy_rejected]).detach())
        return dpo_loss(policy_chosen, policy_rejected, *refs, **kwargs)

    torch_loss.bt_loss, torch_loss.dpo_loss = spy_bt_loss, spy_dpo_loss
    try:
        world = PreferenceWorld(seed=0)
        tok = world.tokenizer()
        train_ds, val_ds, _ = world.splits(2048, 256, 1, seed=0)
        config = rm_train.TrainConfig(steps=args.steps, batch_size=64, eval_every=args.steps,
                                      device=args.device, progress=False, reinit=True)  # fmt: skip
        rm_result = rm_train.train(new_model(tok), tok, train_ds, val_ds, config)
        pairs = PreferenceDataset(list(train_ds.prompts[:256]), list(train_ds.chosen[:256]),
                                  list(train_ds.rejected[:256]))  # fmt: skip
        policy_config = loop.LoopConfig(steps=args.steps, batch_size=32, lr=1e-3,
                                         device=args.device, progress=False)  # fmt: skip
        policy = policy_train.dpo(new_policy(tok), tok, pairs, policy_config, beta=0.1).model
        rows = torch.from_numpy(tok.encode_pairs(pairs.prompts[:64], pairs.chosen[:64], 32))
        with loop.autocast(torch.device(args.device)), torch.no_grad():
            logits = policy(rows.to(args.device))[..., 1:]  # (B, T, V - 1): <pad>'s -inf left out
        seen["policy_logits"] = [logits.flatten()]
    finally:
        torch_loss.bt_loss, torch_loss.dpo_loss = bt_loss, dpo_loss

    report: dict = {
        "device": rm_result.device,
        "gpu": torch.cuda.get_device_name() if args.device == "cuda" else None,
    }
    ok = True
    for name, tensors in seen.items():
        values = torch.cat(tensors).float()
        dtypes = sorted({str(t.dtype) for t in tensors})
        share = bf16_share(torch.cat(tensors))
        good = dtypes == ["torch.float32"] and share < 0.5
        ok &= good
        print(
            f"{name:16s} dtype {', '.join(dtypes)}   steps {len(tensors)}   share exact in bf16 "
            f"{share:.3f}   mean {values.mean().item():+.4f}   {'ok' if good else 'FAILED'}"
        )
        report[f"{name}_dtype"], report[f"{name}_bf16_share"] = dtypes, round(share, 4)
    report["ok"] = ok
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    sys.exit(0 if main()["ok"] else 1)
