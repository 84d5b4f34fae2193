"""Training and evaluating reward models with the pair-wise ranking (Bradley-Terry) loss.

:func:`train` runs the loop of :mod:`rmcourse.loop` with the Bradley-Terry step: one forward pass
over a batch's chosen and rejected rows together (concatenated, split again with ``chunk``; bf16
autocast on a GPU, but the rewards come out of the head in float32) →
:func:`rmcourse.torch_loss.bt_loss`; a validation pass every ``eval_every`` steps keeps the best
weights.

Evaluation compares a model with the hidden true reward of the world when it is known (the
metrics themselves live in :mod:`rmcourse.metrics`); :mod:`rmcourse.checkpoint` saves the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from rmcourse import loop, metrics, torch_loss
from rmcourse.data import PreferenceDataset, Tokenizer
from rmcourse.device import resolve_device
from rmcourse.model import RewardModel
from rmcourse.scoring import encode_dataset, pair_metrics, score_pairs, score_rows, trim_padding


@dataclass
class TrainConfig(loop.LoopConfig):
    """How to train a reward model: the loop's config (:class:`rmcourse.loop.LoopConfig`) and the
    options of the Bradley-Terry loss."""

    margin: float | None = None  # Llama 2's margin m in -log σ(r_c - r_r - m)
    center_coef: float = 0.0  # TRL's center_rewards_coefficient


@dataclass
class TrainResult:
    """A trained model (the best checkpoint by validation loss) and what happened on the way.

    ``history`` has one entry per step (``"step"``, ``"lr"`` and :data:`rmcourse.scoring.METRICS`
    on the training batch); ``val_history`` one per validation pass (``"step"`` and the
    metrics). The logged ``"loss"`` is the plain Bradley-Terry loss, without margin or
    centering, so runs with and without those options can be compared.
    """

    model: nn.Module
    tokenizer: Tokenizer
    config: TrainConfig
    history: dict[str, list[float]]
    val_history: dict[str, list[float]]
    best_step: int
    best_val_loss: float
    train_seconds: float
    pairs_per_second: float
    device: str


def train(
    model: RewardModel,
    tokenizer: Tokenizer,
    train_data: PreferenceDataset,
    val_data: PreferenceDataset,
    config: TrainConfig,
) -> TrainResult:
    """Train ``model`` on ``train_data`` with the Bradley-Terry loss; keep the best by val loss.

    The model trains from the weights it has; with ``config.reinit`` it first gets the weights
    of ``config.seed`` (:func:`rmcourse.loop.init_from_seed`), whatever the global random state.
    A loss that is not finite stops training with a ``FloatingPointError`` naming the step.

    Examples
    --------
    >>> from rmcourse.data import PreferenceWorld
    >>> from rmcourse.model import new_model
    >>> world = PreferenceWorld(seed=0)
    >>> train_ds, val_ds, _ = world.splits(256, 64, 1, seed=0)
    >>> tok = world.tokenizer()
    >>> result = train(new_model(tok, d_model=16, n_layers=1), tok, train_ds, val_ds,
    ...                TrainConfig(steps=3, batch_size=32, device="cpu", progress=False))
    >>> result.history["step"], len(result.val_history["loss"])
    ([1, 2, 3], 1)
    """
    device = resolve_device(config.device)
    chosen, rejected = encode_dataset(tokenizer, train_data, model.config.max_len)  # (N, T) x 2
    if device.type == "cuda":  # page-locked memory lets the copies overlap with compute
        chosen, rejected = chosen.pin_memory(), rejected.pin_memory()

    def bradley_terry(idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        rows = trim_padding(torch.cat([chosen[idx], rejected[idx]]), tokenizer.pad_id)  # (2B, T)
        rewards = model(rows.to(device, non_blocking=True))  # (2B,) float32: ONE forward pass
        r_chosen, r_rejected = rewards.chunk(2)  # (B,), (B,)
        loss = torch_loss.bt_loss(
            r_chosen, r_rejected, margin=config.margin, center_coef=config.center_coef
        )
        return loss, pair_metrics(r_chosen, r_rejected)  # the logged loss: plain Bradley-Terry

    val_rows = torch.cat(encode_dataset(tokenizer, val_data, model.config.max_len))  # (2M, T)

    def validation(model: nn.Module) -> dict[str, float]:  # score_pairs, encoded once
        return pair_metrics(*map(torch.from_numpy, score_rows(model, val_rows, tokenizer.pad_id)))

    batches = loop.index_batches(len(chosen), config.batch_size, config.seed)
    run = loop.run(model, bradley_terry, batches, config, evaluate=validation, keep_best=True)
    n_steps = len(run.history["step"])
    return TrainResult(
        model=model, tokenizer=tokenizer, config=config, history=run.history,
        val_history=run.val_history, best_step=run.best_step, best_val_loss=run.best_val_loss,
        train_seconds=run.seconds,
        pairs_per_second=n_steps * min(config.batch_size, len(chosen)) / max(run.seconds, 1e-9),
        device=str(run.device),
    )  # fmt: skip


# --------------------------------------------------------------------------- evaluation


@dataclass
class Evaluation:
    """Held-out metrics of a reward model; the ``true`` fields are None without true rewards."""

    n_pairs: int
    loss: float
    accuracy: float
    margin: float
    r_chosen: np.ndarray = field(repr=False)
    r_rejected: np.ndarray = field(repr=False)
    bayes_accuracy: float | None = None
    expected_accuracy: float | None = None
    spearman: float | None = None

    @property
    def ratio(self) -> float | None:
        """expected_accuracy / bayes_accuracy: 1.0 orders every pair as r* does."""
        if self.expected_accuracy is None:
            return None
        return self.expected_accuracy / self.bayes_accuracy


def evaluate(model: RewardModel, tokenizer: Tokenizer, dataset: PreferenceDataset) -> Evaluation:
    """Score ``dataset`` with ``model`` and compare with the hidden true reward when known."""
    return evaluate_rewards(*score_pairs(model, tokenizer, dataset), dataset)


def evaluate_rewards(
    r_chosen: np.ndarray, r_rejected: np.ndarray, dataset: PreferenceDataset
) -> Evaluation:
    """The evaluation of rewards that any model gave ``dataset``'s pairs (see :func:`evaluate`).

    Spearman's correlation is over every response (chosen and rejected) of the dataset.

    Examples
    --------
    >>> from rmcourse.data import PreferenceWorld
    >>> ds = PreferenceWorld(seed=0).sample(200, seed=5)
    >>> ev = evaluate_rewards(ds.true_chosen, ds.true_rejected, ds)  # r* itself
    >>> ev.ratio, ev.spearman
    (1.0, 1.0)
    """
    r_c, r_r = np.asarray(r_chosen, dtype=np.float64), np.asarray(r_rejected, dtype=np.float64)
    m = pair_metrics(torch.from_numpy(r_c), torch.from_numpy(r_r))
    result = Evaluation(len(dataset), m["loss"], m["accuracy"], m["margin"], r_c, r_r)
    if dataset.has_true_rewards:
        true_delta = dataset.true_chosen - dataset.true_rejected
        result.bayes_accuracy = metrics.bayes_accuracy(true_delta)
        result.expected_accuracy = metrics.expected_accuracy(true_delta, r_c - r_r)
        result.spearman = metrics.spearman(
            np.concatenate([dataset.true_chosen, dataset.true_rejected]), np.concatenate([r_c, r_r])
        )
    return result
