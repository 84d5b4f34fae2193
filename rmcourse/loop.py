"""One training loop for every objective: the reward model's, SFT, DPO (and RL next).

nanoGPT's loop, top to bottom (:func:`run`): batch → forward and loss (the objective, under bf16
autocast on a GPU) → ``zero_grad`` → ``backward`` → clip the gradient norm → AdamW step at the
scheduled learning rate → log; every ``eval_every`` steps and after the last, the evaluation hook.

An *objective* is a function from a batch to the loss and the numbers to log (its ``"loss"``
among them): :func:`rmcourse.train.train` gives the Bradley-Terry step of a reward model,
:func:`rmcourse.policy_train.sft` and :func:`rmcourse.policy_train.dpo` theirs. :class:`LoopConfig`
holds what every loop needs (budget, optimiser, schedule, clipping, seed, device); an objective's
own options extend it (:class:`rmcourse.train.TrainConfig` adds the margin and centering of the
Bradley-Terry loss). The model the loop is handed trains from the weights it has, unless the
config asks for a seeded re-initialisation (``reinit=True``).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import torch
from torch import nn

from rmcourse.device import autocast, resolve_device
from rmcourse.validate import finite_number, positive_int

Objective = Callable[[Any], tuple[torch.Tensor, dict[str, float]]]
"""A batch -> (the loss to minimise, the numbers to log)."""

Evaluate = Callable[[nn.Module], dict[str, float]]
"""The model -> the numbers of an evaluation pass (``"loss"`` among them to keep the best)."""

ADAM_BETAS = (0.9, 0.98)  # beta2 as the original transformer's (Vaswani et al. 2017)


@dataclass
class LoopConfig:
    """What every training loop needs. Give exactly one budget: ``steps`` or ``seconds``."""

    steps: int | None = None
    seconds: float | None = None  # of training time, evaluation passes left out
    batch_size: int = 64  # more steps per CPU-second beat bigger ones for these small models
    lr: float = 3e-3  # high for a transformer, right for one this small (AdamW, warmed up)
    min_lr_ratio: float = 0.05  # cosine decay to lr * min_lr_ratio at the end of the budget
    warmup_steps: int = 30
    weight_decay: float = 0.01  # on the weights of nn.Linear layers only (parameter_groups)
    grad_clip: float = 1.0  # the largest gradient norm a step uses
    eval_every: int = 100  # steps between evaluation passes (and one at the end), given a hook
    seed: int = 0  # the batch order, dropout and (with reinit) the starting weights
    reinit: bool = False  # True: first give the model the weights ``seed`` gives
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
        finite_number(self.grad_clip, "grad_clip", lower=0.0, strict=True)

    def lr_at(self, step: int, fraction_done: float) -> float:
        """Linear warm-up over ``warmup_steps``, then cosine decay by the budget fraction used.

        Examples
        --------
        >>> cfg = LoopConfig(steps=100, lr=1.0, warmup_steps=10, min_lr_ratio=0.0)
        >>> cfg.lr_at(0, 0.0), cfg.lr_at(50, 0.5), cfg.lr_at(99, 1.0)
        (0.1, 0.5, 0.0)
        """
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * min(fraction_done, 1.0)))
        return self.lr * (self.min_lr_ratio + (1.0 - self.min_lr_ratio) * cosine)


def reject_objective_options(config: LoopConfig, objective: str) -> None:
    """Raise if ``config`` sets an option beyond :class:`LoopConfig`'s, which ``objective`` lacks.

    Examples
    --------
    >>> from rmcourse.train import TrainConfig
    >>> reject_objective_options(TrainConfig(steps=5, margin=1.0), "sft")
    Traceback (most recent call last):
    ...
    ValueError: sft has no option margin=1.0 (a TrainConfig option); leave it at its default
    """
    loop_fields = {f.name for f in fields(LoopConfig)}
    extra = [f"{f.name}={getattr(config, f.name)!r}" for f in fields(config)
             if f.name not in loop_fields and getattr(config, f.name) != f.default]  # fmt: skip
    if extra:
        raise ValueError(f"{objective} has no option {', '.join(extra)} (a "
                         f"{type(config).__name__} option); leave it at its default")  # fmt: skip


@dataclass
class LoopResult:
    """What a run did: one ``history`` entry per step (``"step"``, ``"lr"`` and the objective's
    numbers), one ``val_history`` entry per evaluation pass (``"step"`` and the hook's numbers),
    the step with the lowest evaluation loss, and the training seconds."""

    history: dict[str, list[float]]
    val_history: dict[str, list[float]]
    best_step: int
    best_val_loss: float
    seconds: float
    device: torch.device


def index_batches(n: int, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
    """Endless batches of ``batch_size`` indices of ``range(n)``, shuffled each epoch (seeded).

    An epoch's last, short batch is left out; with fewer than ``batch_size`` examples, every
    batch is all of them, shuffled anew.

    Examples
    --------
    >>> batches = index_batches(5, 2, seed=0)
    >>> epoch = torch.cat([next(batches), next(batches)])  # 4 of the 5 indices: 1 is left out
    >>> len(set(epoch.tolist()))
    4
    >>> sorted(next(index_batches(3, 8, seed=0)).tolist())
    [0, 1, 2]
    """
    positive_int(n, "n")
    generator = torch.Generator().manual_seed(seed)  # the batch order, on the CPU
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, max(n - batch_size, 0) + 1, batch_size):
            yield order[start : start + batch_size]  # (B,)


def init_from_seed(model: nn.Module, seed: int) -> None:
    """Give ``model`` the weights that ``torch.manual_seed(seed)`` then building it would give.

    ``model`` must be one that ``type(model)(model.config)`` builds (the reward models and the
    policy are). The global random state is left as it was.

    Examples
    --------
    >>> from rmcourse.model import RewardModelConfig, TransformerRewardModel
    >>> model = TransformerRewardModel(RewardModelConfig(vocab_size=5))
    >>> _ = torch.manual_seed(7)
    >>> same = TransformerRewardModel(RewardModelConfig(vocab_size=5))
    >>> init_from_seed(model, 7)
    >>> all(torch.equal(a, b) for a, b in zip(model.parameters(), same.parameters()))
    True
    """
    if not hasattr(model, "config"):
        raise TypeError(f"init_from_seed needs a model built from its .config, got "
                        f"{type(model).__name__} without one")  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = type(model)(model.config)
    model.load_state_dict(fresh.state_dict())


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """AdamW parameter groups by layer type: ``nn.Linear`` weights decay; nothing else does.

    Decay pulls the weights of a matrix product towards zero; on an embedding it would shrink
    the rows of rare tokens for no reason, and on a bias or a LayerNorm gain it only shifts or
    rescales (nanoGPT's ``configure_optimizers``, minus its embedding decay).

    Examples
    --------
    >>> net = nn.Sequential(nn.Embedding(5, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    >>> [(g["weight_decay"], len(g["params"])) for g in parameter_groups(net, 0.01)]
    [(0.01, 1), (0.0, 4)]
    """
    linear_weights = {id(m.weight) for m in model.modules() if isinstance(m, nn.Linear)}
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (decay if id(param) in linear_weights else no_decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]  # fmt: skip


@dataclass
class _Log:
    """What a run has done so far: steps, training seconds, numbers, the best weights."""

    config: LoopConfig
    step: int = 0
    seconds: float = 0.0
    train: dict[str, list[float]] = field(default_factory=dict)
    val: dict[str, list[float]] = field(default_factory=dict)
    best_step: int = 0
    best_val_loss: float = math.inf
    best_state: dict[str, torch.Tensor] | None = None

    @property
    def fraction_done(self) -> float:
        """The share of the budget (steps or seconds) used."""
        c = self.config
        return self.step / c.steps if c.steps else self.seconds / c.seconds

    @property
    def eval_due(self) -> bool:
        """Every ``eval_every`` steps, and after the last one."""
        return self.step % self.config.eval_every == 0 or self.fraction_done >= 1.0

    def log_step(self, lr: float, numbers: dict[str, float], seconds: float) -> None:
        """Count a step of ``seconds`` and record its learning rate and the objective's numbers."""
        self.step += 1
        self.seconds += seconds
        for name, value in {"step": self.step, "lr": lr, **numbers}.items():
            self.train.setdefault(name, []).append(value)

    def log_evaluation(self, numbers: dict[str, float], model: nn.Module, keep_best: bool) -> None:
        """Record an evaluation pass; with ``keep_best``, copy the weights of the lowest loss."""
        loss = numbers.get("loss", 0.0)
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"training diverged: the validation loss is {loss} at step {self.step}; "
                f"try a smaller lr than {self.config.lr}"
            )
        for name, value in {"step": self.step, **numbers}.items():
            self.val.setdefault(name, []).append(value)
        if keep_best and loss < self.best_val_loss:
            self.best_val_loss, self.best_step = loss, self.step
            self.best_state = copy.deepcopy(model.state_dict())


def run(
    model: nn.Module,
    objective: Objective,
    batches: Iterator[Any],
    config: LoopConfig,
    evaluate: Evaluate | None = None,
    keep_best: bool = False,
) -> LoopResult:
    """Minimise ``objective(batch)`` over ``config``'s budget, one batch of ``batches`` a step.

    ``evaluate(model)`` runs every ``config.eval_every`` steps and after the last, in eval mode
    and without gradients; with ``keep_best`` the model ends with the weights of the evaluation
    of the lowest ``"loss"``, else with those of the last step. A loss that is not finite stops
    the run with a ``FloatingPointError`` naming the step. The model ends in eval mode.
    """
    from tqdm.auto import tqdm

    if keep_best and evaluate is None:
        raise ValueError("keep_best needs an evaluate hook to say which weights are best")
    device = resolve_device(config.device)
    if config.reinit:
        init_from_seed(model, config.seed)
    torch.manual_seed(config.seed)  # dropout
    model.to(device).train()
    optimizer = torch.optim.AdamW(
        parameter_groups(model, config.weight_decay), lr=config.lr, betas=ADAM_BETAS
    )
    log = _Log(config)
    bar = tqdm(total=config.steps or config.seconds, disable=not config.progress,
               unit="step" if config.steps else "s")  # fmt: skip

    while log.fraction_done < 1.0:
        start = time.perf_counter()
        batch = next(batches)
        with autocast(device):
            loss, numbers = objective(batch)  # forward and loss
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training diverged: the loss is {loss.item()} at step {log.step + 1}; "
                f"try a smaller lr than {config.lr}"
            )
        lr = config.lr_at(log.step, log.fraction_done)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        log.log_step(lr, numbers, elapsed)
        bar.update(1 if config.steps else elapsed)
        if "loss" in numbers:
            bar.set_postfix(loss=f"{numbers['loss']:.3f}")
        if evaluate is not None and log.eval_due:
            model.eval()
            with torch.no_grad():
                evaluation = evaluate(model)
            model.train()
            log.log_evaluation(evaluation, model, keep_best)
    bar.close()

    if keep_best:
        model.load_state_dict(log.best_state)
    model.eval()
    return LoopResult(log.train, log.val, log.best_step, log.best_val_loss, log.seconds, device)
