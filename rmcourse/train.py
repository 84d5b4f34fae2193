"""Training and evaluating reward models with the pair-wise ranking (Bradley-Terry) loss.

The loop, top to bottom: sample a batch of pairs → one forward pass over chosen and rejected
rows together (concatenated, split again with ``chunk``; bf16 autocast on a GPU, but the rewards
come out of the head in float32) → :func:`rmcourse.torch_loss.bt_loss` → ``zero_grad`` →
``backward`` → clip the gradient norm → optimiser step → log.

Evaluation compares a model with the hidden true reward of the world when it is known (the
metrics themselves live in :mod:`rmcourse.metrics`); :mod:`rmcourse.checkpoint` saves the result.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from rmcourse import metrics, torch_loss
from rmcourse.data import PreferenceDataset, Tokenizer
from rmcourse.device import autocast, resolve_device
from rmcourse.model import (
    RewardModel,
    init_from_seed,
    parameter_groups,
)
from rmcourse.scoring import METRICS, encode_dataset, pair_metrics, score_pairs, trim_padding
from rmcourse.validate import finite_number, positive_int


@dataclass
class TrainConfig:
    """How to train. Give exactly one budget: ``steps`` or ``seconds`` (of training time)."""

    steps: int | None = None
    seconds: float | None = None
    batch_size: int = 64  # pairs per step (2 x 64 rows): more steps per CPU-second beat bigger ones
    lr: float = 3e-3  # high for a transformer, right for one this small (AdamW, warmed up)
    min_lr_ratio: float = 0.05  # cosine decay to lr * min_lr_ratio at the end of the budget
    warmup_steps: int = 30
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    margin: float | None = None  # Llama 2's margin m in -log σ(r_c - r_r - m)
    center_coef: float = 0.0  # TRL's center_rewards_coefficient
    eval_every: int = 100  # steps between validation passes (and one at the end)
    seed: int = 0  # the starting weights (see ``reinit``), the batch order and dropout
    reinit: bool = True  # start from the weights ``seed`` gives; False: go on from the model's own
    device: str = "auto"
    progress: bool = True  # tqdm bar; False in tests and notebooks compared by nbval

    def __post_init__(self) -> None:
        if (self.steps is None) == (self.seconds is None):
            raise ValueError(
                f"give exactly one budget, steps or seconds; got steps={self.steps}, "
                f"seconds={self.seconds}"
            )
        if self.steps is not None:
            positive_int(self.steps, "steps")
        if self.seconds is not None:
            finite_number(self.seconds, "seconds", lower=0.0, strict=True)
        positive_int(self.batch_size, "batch_size")
        positive_int(self.eval_every, "eval_every")
        finite_number(self.lr, "lr", lower=0.0, strict=True)

    def lr_at(self, step: int, fraction_done: float) -> float:
        """Linear warm-up over ``warmup_steps``, then cosine decay by the budget fraction used.

        Examples
        --------
        >>> cfg = TrainConfig(steps=100, lr=1.0, warmup_steps=10, min_lr_ratio=0.0)
        >>> cfg.lr_at(0, 0.0), cfg.lr_at(50, 0.5), cfg.lr_at(99, 1.0)
        (0.1, 0.5, 0.0)
        """
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * min(fraction_done, 1.0)))
        return self.lr * (self.min_lr_ratio + (1.0 - self.min_lr_ratio) * cosine)


@dataclass
class TrainResult:
    """A trained model (the best checkpoint by validation loss) and what happened on the way.

    ``history`` has one entry per step (``"step"``, ``"lr"`` and :data:`METRICS` on the training
    batch); ``val_history`` one per validation pass (``"step"`` and :data:`METRICS`). The logged
    ``"loss"`` is the plain Bradley-Terry loss, without margin or centering, so runs with and
    without those options can be compared.
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


# --------------------------------------------------------------------------- training


def _batches(
    chosen: torch.Tensor, rejected: torch.Tensor, batch_size: int, seed: int, pad_id: int
) -> Iterator[torch.Tensor]:
    """Endless (2B, T) batches: the next ``batch_size`` pairs of a shuffled epoch (seeded), chosen
    rows then rejected rows, trimmed of all-padding columns."""
    generator = torch.Generator().manual_seed(seed)  # batch order, on the CPU
    order, cursor = torch.randperm(len(chosen), generator=generator), 0
    while True:
        if cursor + batch_size > len(order):
            order, cursor = torch.randperm(len(chosen), generator=generator), 0
        idx = order[cursor : cursor + batch_size]  # (B,)
        cursor += batch_size
        yield trim_padding(torch.cat([chosen[idx], rejected[idx]]), pad_id)  # (2B, T)


def _columns(*names: str) -> dict[str, list[float]]:
    return {name: [] for name in names}


@dataclass
class _History:
    """What a run has done so far: steps, training seconds, metrics, the best checkpoint."""

    config: TrainConfig
    step: int = 0
    seconds: float = 0.0
    train: dict[str, list[float]] = field(default_factory=lambda: _columns("step", "lr", *METRICS))
    val: dict[str, list[float]] = field(default_factory=lambda: _columns("step", *METRICS))
    best_step: int = 0
    best_val_loss: float = math.inf
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def fraction_done(self) -> float:
        """The share of the budget (steps or seconds) used."""
        c = self.config
        return self.step / c.steps if c.steps else self.seconds / c.seconds

    @property
    def eval_due(self) -> bool:
        """Every ``eval_every`` steps, and after the last one."""
        return self.step % self.config.eval_every == 0 or self.fraction_done >= 1.0

    def log_step(self, lr: float, metrics: dict[str, float], seconds: float) -> None:
        self.step += 1
        self.seconds += seconds
        for name, value in (("step", self.step), ("lr", lr), *metrics.items()):
            self.train[name].append(value)

    def log_validation(self, metrics: dict[str, float], model: nn.Module) -> None:
        """Record a validation pass; keep a copy of the weights when its loss is the best yet."""
        if not math.isfinite(metrics["loss"]):
            raise FloatingPointError(
                f"training diverged: the validation loss is {metrics['loss']} at step {self.step}; "
                f"try a smaller lr than {self.config.lr}"
            )
        for name, value in (("step", self.step), *metrics.items()):
            self.val[name].append(value)
        if metrics["loss"] < self.best_val_loss:
            self.best_val_loss, self.best_step = metrics["loss"], self.step
            self.best_state = copy.deepcopy(model.state_dict())


def optimizer_step(
    optimizer: torch.optim.Optimizer, model: nn.Module, loss: torch.Tensor, lr: float, clip: float
) -> None:
    """One step at learning rate ``lr``: zero_grad → backward → clip the gradient norm → step."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()


def train(
    model: RewardModel,
    tokenizer: Tokenizer,
    train_data: PreferenceDataset,
    val_data: PreferenceDataset,
    config: TrainConfig,
) -> TrainResult:
    """Train ``model`` on ``train_data`` with the Bradley-Terry loss; keep the best by val loss.

    With ``config.reinit`` (the default) the model first gets the starting weights of
    ``config.seed`` (:func:`rmcourse.model.init_from_seed`), so one config trains one model,
    whatever the global random state was. A loss that is not finite stops training with a
    ``FloatingPointError`` naming the step.

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
    from tqdm.auto import tqdm

    device = resolve_device(config.device)
    if config.reinit:
        init_from_seed(model, config.seed)
    torch.manual_seed(config.seed)  # dropout
    model.to(device).train()
    chosen, rejected = encode_dataset(tokenizer, train_data, model.config.max_len)  # (N, T) x 2
    if device.type == "cuda":  # page-locked memory lets the copies overlap with compute
        chosen, rejected = chosen.pin_memory(), rejected.pin_memory()
    batches = _batches(chosen, rejected, config.batch_size, config.seed, tokenizer.pad_id)
    optimizer = torch.optim.AdamW(
        parameter_groups(model, config.weight_decay), lr=config.lr, betas=(0.9, 0.98)
    )
    run = _History(config)
    bar = tqdm(total=config.steps or config.seconds, disable=not config.progress,
               unit="step" if config.steps else "s")  # fmt: skip

    while run.fraction_done < 1.0:
        start = time.perf_counter()
        rows = next(batches).to(device, non_blocking=True)  # (2B, T)
        with autocast(device):  # chosen and rejected rows in ONE forward pass, then split
            rewards = model(rows)  # (2B,) float32: the head runs outside autocast (in_float32)
        r_chosen, r_rejected = rewards.chunk(2)  # (B,), (B,)
        loss = torch_loss.bt_loss(
            r_chosen, r_rejected, margin=config.margin, center_coef=config.center_coef
        )
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training diverged: the loss is {loss.item()} at step {run.step + 1}; "
                f"try a smaller lr than {config.lr}"
            )
        lr = config.lr_at(run.step, run.fraction_done)
        optimizer_step(optimizer, model, loss, lr, config.grad_clip)
        batch_metrics = pair_metrics(r_chosen, r_rejected)
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        run.log_step(lr, batch_metrics, elapsed)
        bar.update(1 if config.steps else elapsed)
        bar.set_postfix(loss=f"{batch_metrics['loss']:.3f}", acc=f"{batch_metrics['accuracy']:.2f}")
        if run.eval_due:
            val = score_pairs(model, tokenizer, val_data)
            run.log_validation(pair_metrics(*map(torch.from_numpy, val)), model)
    bar.close()

    model.load_state_dict(run.best_state)
    model.eval()
    return TrainResult(
        model=model, tokenizer=tokenizer, config=config, history=run.train,
        val_history=run.val, best_step=run.best_step, best_val_loss=run.best_val_loss,
        train_seconds=run.seconds,
        pairs_per_second=run.step * config.batch_size / max(run.seconds, 1e-9),
        device=str(device),
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
