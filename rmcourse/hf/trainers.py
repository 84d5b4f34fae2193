"""TRL's ``RewardTrainer`` and ``DPOTrainer`` set up for the tiny models on a CPU, and the course's
evaluation of what they learned.

Settings that differ from TRL's defaults, and why: ``bf16=False`` (TRL turns bf16 on by default;
float32 keeps the loss comparable with :mod:`rmcourse.torch_loss` to float32 precision),
``activation_checkpointing=False`` (TRL turns it on; at this size it saves nothing and costs
time), ``report_to="none"`` (no experiment tracker, no network), ``save_strategy="no"`` (the
caller saves the model it wants), ``use_cpu`` unless a GPU is asked for.

Evaluation reads rewards the way TRL trains them: ``prompt + " " + response + <eos>``, right-padded,
the reward model's output (the reward at the last non-pad token); for DPO the implicit reward
``β (log π(y|x) − log π_ref(y|x))`` summed over the response's tokens (Rafailov et al. 2023).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase, PrinterCallback
from trl import DPOConfig, DPOTrainer, RewardConfig, RewardTrainer

from rmcourse.data import PreferenceDataset
from rmcourse.hf.data import to_hf_dataset
from rmcourse.train import Evaluation, evaluate_rewards
from rmcourse.validate import positive_int


@dataclass
class HFTrainConfig:
    """How to train with TRL (the same for the reward model and for DPO unless stated)."""

    steps: int = 400
    batch_size: int = 64  # pairs per step and process (TRL's per_device_train_batch_size)
    lr: float = 3e-3  # lesson 04's rate: right for a model this small
    warmup_steps: int = 30
    weight_decay: float = 0.01
    center_coef: float | None = 0.01  # reward model only; Eisenstein et al. (2023) suggest 0.01
    beta: float = 0.1  # DPO only: TRL's default
    seed: int = 0
    use_cpu: bool = True
    logging_steps: int = 50

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "logging_steps"):
            positive_int(getattr(self, name), name)
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.center_coef is not None and not self.center_coef >= 0:
            raise ValueError(f"center_coef must be None or >= 0, got {self.center_coef}")
        if not self.beta > 0:
            raise ValueError(f"beta must be positive, got {self.beta}")


def _common_args(config: HFTrainConfig, output_dir: str | None) -> dict:
    return {
        "output_dir": output_dir or tempfile.mkdtemp(prefix="rmcourse-hf-"),
        "per_device_train_batch_size": config.batch_size,
        "learning_rate": config.lr,
        "max_steps": config.steps,
        "warmup_steps": config.warmup_steps,
        "lr_scheduler_type": "cosine",
        "weight_decay": config.weight_decay,
        "max_grad_norm": 1.0,
        "seed": config.seed,
        "data_seed": config.seed,
        "bf16": False,
        "activation_checkpointing": False,  # transformers 5 name of gradient_checkpointing
        "report_to": "none",
        "save_strategy": "no",
        "logging_steps": config.logging_steps,
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        "use_cpu": config.use_cpu,
        "ddp_find_unused_parameters": False,  # every parameter gets a gradient: skip the search
    }


def reward_trainer(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    train_data: PreferenceDataset,
    config: HFTrainConfig,
    margins: np.ndarray | None = None,
    output_dir: str | None = None,
) -> RewardTrainer:
    """A ``RewardTrainer`` for ``model`` on ``train_data`` (call ``.train()`` to train)."""
    args = RewardConfig(
        **_common_args(config, output_dir),
        center_rewards_coefficient=config.center_coef,
        max_length=model.config.max_position_embeddings,
    )
    trainer = RewardTrainer(
        model=model,
        args=args,
        train_dataset=to_hf_dataset(train_data, margins),
        processing_class=tokenizer,
    )
    trainer.remove_callback(PrinterCallback)  # the logs stay in trainer.state.log_history
    return trainer


def dpo_trainer(
    policy: PreTrainedModel,
    reference: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    train_data: PreferenceDataset,
    config: HFTrainConfig,
    output_dir: str | None = None,
) -> DPOTrainer:
    """A ``DPOTrainer`` (sigmoid loss, ``beta = config.beta``) for ``policy`` against
    ``reference``."""
    args = DPOConfig(
        **_common_args(config, output_dir),
        beta=config.beta,
        loss_type=["sigmoid"],
        max_length=policy.config.max_position_embeddings,
    )
    trainer = DPOTrainer(
        model=policy,
        ref_model=reference,
        args=args,
        train_dataset=to_hf_dataset(train_data),
        processing_class=tokenizer,
    )
    trainer.remove_callback(PrinterCallback)
    return trainer


def _rows(
    tokenizer: PreTrainedTokenizerBase, prompts: list[str], responses: list[str]
) -> dict[str, torch.Tensor]:
    """``prompt + " " + response + eos`` rows, right-padded, as TRL builds them."""
    eos = tokenizer.eos_token
    texts = [f"{p} {r.lstrip()}{eos}" for p, r in zip(prompts, responses, strict=True)]
    return tokenizer(texts, padding=True, padding_side="right", return_tensors="pt")


@torch.no_grad()
def reward_scores(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    dataset: PreferenceDataset,
    batch_size: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """Rewards of the chosen and the rejected responses, float64 arrays (N,)."""
    was_training = model.training
    model.eval()
    prompts = dataset.prompts + dataset.prompts
    responses = dataset.chosen + dataset.rejected
    out = []
    for start in range(0, len(prompts), batch_size):
        rows = _rows(tokenizer, prompts[start : start + batch_size],
                     responses[start : start + batch_size])  # fmt: skip
        rows = {k: v.to(model.device) for k, v in rows.items()}
        out.append(model(**rows).logits.squeeze(-1).float().cpu())  # (b,)
    model.train(was_training)
    r_c, r_r = torch.cat(out).double().numpy().reshape(2, -1)
    return r_c, r_r


@torch.no_grad()
def response_logps(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    responses: list[str],
) -> torch.Tensor:
    """``log π(y | x)``: the sum of the log-probabilities of the response's tokens (with its
    ``<eos>``) after the prompt, float32, shape (N,)."""
    was_training = model.training
    model.eval()
    rows = _rows(tokenizer, prompts, responses)
    ids, keep = rows["input_ids"].to(model.device), rows["attention_mask"].to(model.device)
    n_prompt = torch.tensor([len(tokenizer(p)["input_ids"]) for p in prompts], device=ids.device)
    logits = model(input_ids=ids, attention_mask=keep).logits[:, :-1].float()  # (N, T-1, V)
    token_logps = torch.log_softmax(logits, dim=-1).gather(2, ids[:, 1:, None]).squeeze(2)
    position = torch.arange(1, ids.shape[1], device=ids.device)  # (T-1,): position of each target
    in_response = (position[None, :] >= n_prompt[:, None]) & keep[:, 1:].bool()  # (N, T-1)
    model.train(was_training)
    return (token_logps * in_response).sum(dim=1).cpu()  # (N,)


def dpo_implicit_rewards(
    policy: PreTrainedModel,
    reference: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    dataset: PreferenceDataset,
    beta: float,
) -> tuple[np.ndarray, np.ndarray]:
    """DPO's implicit rewards ``β (log π(y|x) − log π_ref(y|x))`` of the chosen and rejected
    responses, float64 arrays (N,)."""
    out = []
    for responses in (dataset.chosen, dataset.rejected):
        ratio = response_logps(policy, tokenizer, dataset.prompts, responses) - response_logps(
            reference, tokenizer, dataset.prompts, responses
        )  # (N,)
        out.append(beta * ratio.double().numpy())
    return out[0], out[1]


def evaluate_reward_model(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, dataset: PreferenceDataset
) -> Evaluation:
    """The course's evaluation of a ``transformers`` reward model: loss, accuracy and, with true
    rewards, expected accuracy against the Bayes ceiling and Spearman's correlation with r*."""
    return evaluate_rewards(*reward_scores(model, tokenizer, dataset), dataset)
