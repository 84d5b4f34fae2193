"""Training and evaluating reward models with the pair-wise ranking (Bradley-Terry) loss.

The loop, top to bottom: sample a batch of pairs → one forward pass over chosen and rejected
rows together (concatenated, split again with ``chunk``) → :func:`rmcourse.torch_loss.bt_loss`
→ ``zero_grad`` → ``backward`` → clip the gradient norm → optimiser step → log.

Evaluation compares a model with the hidden true reward of the world when it is known: held-out
accuracy next to the Bayes ceiling, the noise-free expected accuracy, Spearman's rank
correlation, accuracy by true-margin bucket and a calibration curve.
"""

from __future__ import annotations

import copy
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rmcourse import torch_loss
from rmcourse.data import PreferenceDataset, PreferenceWorld, Tokenizer, load_jsonl
from rmcourse.model import RewardModelConfig, build_model, count_parameters
from rmcourse.np_loss import sigmoid

METRICS = ("loss", "accuracy", "margin", "reward_chosen", "reward_rejected", "reward_mean",
           "reward_std")  # fmt: skip


# --------------------------------------------------------------------------- set-up


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` → CUDA when present, else CPU; ``"cuda"`` fails clearly without a GPU.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for, but torch finds no CUDA GPU here")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def new_model(tokenizer: Tokenizer, kind: str = "transformer", **sizes: int | float) -> nn.Module:
    """A fresh reward model of ``kind`` for ``tokenizer``'s vocabulary; ``sizes`` override defaults.

    Examples
    --------
    >>> from rmcourse.data import PreferenceWorld
    >>> model = new_model(PreferenceWorld().tokenizer(), d_model=32)
    >>> model.config.d_model, model.config.vocab_size
    (32, 48)
    """
    config = RewardModelConfig(
        vocab_size=len(tokenizer), pad_id=tokenizer.pad_id, sep_id=tokenizer.sep_id, **sizes
    )
    return build_model(kind, config)


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
    seed: int = 0
    device: str = "auto"
    progress: bool = True  # tqdm bar; False in tests and notebooks compared by nbval

    def __post_init__(self) -> None:
        if (self.steps is None) == (self.seconds is None):
            raise ValueError(
                f"give exactly one budget, steps or seconds; got steps={self.steps}, "
                f"seconds={self.seconds}"
            )
        if self.steps is not None and (not isinstance(self.steps, int) or self.steps < 1):
            raise ValueError(f"steps must be a positive integer, got {self.steps!r}")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"seconds must be positive, got {self.seconds!r}")
        for name in ("batch_size", "eval_every"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")

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


# --------------------------------------------------------------------------- scoring


def encode_dataset(
    tokenizer: Tokenizer, dataset: PreferenceDataset, max_len: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Chosen and rejected rows as two (N, T) int64 tensors of one common width T."""
    both = tokenizer.encode_pairs(
        dataset.prompts + dataset.prompts, dataset.chosen + dataset.rejected, max_len
    )  # (2N, T)
    return torch.from_numpy(both).chunk(2)


def _trim(ids: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Drop the columns that are padding in every row (less work, same rewards)."""
    width = int((ids != pad_id).sum(dim=1).max())
    return ids[:, :width]


@torch.no_grad()
def score_pairs(
    model: nn.Module,
    tokenizer: Tokenizer,
    dataset: PreferenceDataset,
    batch_size: int = 1024,
    device: torch.device | str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rewards of the chosen and of the rejected responses, as float64 NumPy arrays (N,)."""
    device = next(model.parameters()).device if device is None else torch.device(device)
    was_training = model.training
    model.eval()
    chosen, rejected = encode_dataset(tokenizer, dataset, model.config.max_len)
    rows = torch.cat([chosen, rejected])  # (2N, T)
    out = []
    for start in range(0, len(rows), batch_size):
        ids = _trim(rows[start : start + batch_size], tokenizer.pad_id).to(device)
        with _autocast(device):
            out.append(model(ids).float().cpu())
    model.train(was_training)
    r_c, r_r = torch.cat(out).double().numpy().reshape(2, -1)
    return r_c, r_r


def _autocast(device: torch.device) -> torch.autocast:
    # bf16 autocast on a GPU (tensor cores, no loss scaling needed); full float32 on a CPU.
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16,
                          enabled=device.type == "cuda")  # fmt: skip


def pair_metrics(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> dict[str, float]:
    """Loss, accuracy (ties wrong), mean margin, reward means and spread of a set of pairs.

    Examples
    --------
    >>> m = pair_metrics(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 0.0]))
    >>> round(m["loss"], 6), m["accuracy"], m["margin"], m["reward_mean"]
    (0.503204, 0.5, 0.5, 0.25)
    """
    r_c, r_r = r_chosen.detach().float(), r_rejected.detach().float()
    both = torch.cat([r_c, r_r])
    values = torch.stack([
        torch_loss.bt_loss(r_c, r_r), (r_c - r_r).mean(), r_c.mean(), r_r.mean(), both.mean(),
        both.std(correction=0),
    ]).tolist()  # fmt: skip
    loss, margin, chosen, rejected, mean, std = values
    return {"loss": loss, "accuracy": torch_loss.accuracy(r_c, r_r), "margin": margin,
            "reward_chosen": chosen, "reward_rejected": rejected, "reward_mean": mean,
            "reward_std": std}  # fmt: skip


# --------------------------------------------------------------------------- training


def train(
    model: nn.Module,
    tokenizer: Tokenizer,
    train_data: PreferenceDataset,
    val_data: PreferenceDataset,
    config: TrainConfig,
) -> TrainResult:
    """Train ``model`` on ``train_data`` with the Bradley-Terry loss; keep the best by val loss.

    Examples
    --------
    >>> from rmcourse.data import PreferenceWorld
    >>> world = PreferenceWorld(seed=0)
    >>> train_ds, val_ds, _ = world.splits(256, 64, 1, seed=0)
    >>> tok = world.tokenizer()
    >>> _ = torch.manual_seed(0)
    >>> result = train(new_model(tok, d_model=16, n_layers=1), tok, train_ds, val_ds,
    ...                TrainConfig(steps=3, batch_size=32, device="cpu", progress=False))
    >>> result.history["step"], len(result.val_history["loss"])
    ([1, 2, 3], 1)
    """
    from tqdm.auto import tqdm

    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)  # batch order, on the CPU
    model.to(device).train()
    chosen, rejected = encode_dataset(tokenizer, train_data, model.config.max_len)  # (N, T) x 2
    if device.type == "cuda":  # page-locked memory lets the copies overlap with compute
        chosen, rejected = chosen.pin_memory(), rejected.pin_memory()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "emb" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "emb" not in n)]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr, betas=(0.9, 0.98),
    )  # fmt: skip

    history: dict[str, list[float]] = {"step": [], "lr": [], **{m: [] for m in METRICS}}
    val_history: dict[str, list[float]] = {"step": [], **{m: [] for m in METRICS}}
    best_state, best_step, best_val_loss = None, 0, math.inf
    order = torch.randperm(len(train_data), generator=generator)
    cursor, step, train_seconds = 0, 0, 0.0
    bar = tqdm(total=config.steps or config.seconds, disable=not config.progress,
               unit="step" if config.steps else "s")  # fmt: skip

    def fraction_done() -> float:
        return step / config.steps if config.steps else train_seconds / config.seconds

    while fraction_done() < 1.0:
        start = time.perf_counter()
        # batch: the next batch_size pairs of a shuffled epoch
        if cursor + config.batch_size > len(order):
            order, cursor = torch.randperm(len(train_data), generator=generator), 0
        idx = order[cursor : cursor + config.batch_size]
        cursor += config.batch_size
        rows = _trim(torch.cat([chosen[idx], rejected[idx]]), tokenizer.pad_id)  # (2B, T)
        rows = rows.to(device, non_blocking=True)
        # forward: chosen and rejected in ONE pass, then split
        with _autocast(device):
            r_chosen, r_rejected = model(rows).float().chunk(2)  # (B,), (B,)
        loss = torch_loss.bt_loss(
            r_chosen, r_rejected, margin=config.margin, center_coef=config.center_coef
        )
        lr = config.lr_at(step, fraction_done())
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        # log
        step += 1
        metrics = pair_metrics(r_chosen, r_rejected)
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        train_seconds += elapsed
        history["step"].append(step)
        history["lr"].append(lr)
        for name in METRICS:
            history[name].append(metrics[name])
        bar.update(1 if config.steps else elapsed)
        bar.set_postfix(loss=f"{metrics['loss']:.3f}", acc=f"{metrics['accuracy']:.2f}")
        if step % config.eval_every == 0 or fraction_done() >= 1.0:
            val = pair_metrics(*map(torch.from_numpy, score_pairs(model, tokenizer, val_data)))
            val_history["step"].append(step)
            for name in METRICS:
                val_history[name].append(val[name])
            if val["loss"] < best_val_loss:
                best_val_loss, best_step = val["loss"], step
                best_state = copy.deepcopy(model.state_dict())
    bar.close()
    model.load_state_dict(best_state)
    model.eval()
    return TrainResult(
        model=model, tokenizer=tokenizer, config=config, history=history,
        val_history=val_history, best_step=best_step, best_val_loss=best_val_loss,
        train_seconds=train_seconds,
        pairs_per_second=step * config.batch_size / max(train_seconds, 1e-9), device=str(device),
    )  # fmt: skip


# --------------------------------------------------------------------------- evaluation


def rank_average(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x``, ties sharing the mean of their ranks (scipy's ``rankdata``).

    Examples
    --------
    >>> rank_average(np.array([10.0, 30.0, 20.0, 20.0]))
    array([1. , 4. , 2.5, 2.5])
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"rank_average needs a 1-d array, got shape {x.shape}")
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    first_rank = np.cumsum(counts) - counts + 1  # rank of the first of each group of ties
    return (first_rank + (counts - 1) / 2.0)[inverse]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation: Pearson's correlation of the average ranks.

    Examples
    --------
    >>> spearman(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 4.0, 9.0, 16.0]))
    1.0
    >>> spearman(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0]))
    -1.0
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise ValueError(
            f"spearman needs two 1-d arrays of one length >= 2, got {a.shape}, {b.shape}"
        )
    ra, rb = rank_average(a) - (a.size + 1) / 2.0, rank_average(b) - (b.size + 1) / 2.0
    denom = math.sqrt(float(np.sum(ra**2) * np.sum(rb**2)))
    if denom == 0.0:
        raise ValueError("spearman is undefined when one array is constant")
    return round(float(np.sum(ra * rb) / denom), 12)


def expected_accuracy(true_delta: np.ndarray, learned_delta: np.ndarray) -> float:
    """Label accuracy expected without sampling noise, given Bradley-Terry labels from r*.

    A pair with true margin Δ* is labelled in r*'s order with probability σ(|Δ*|). A model that
    orders it as r* does (``learned_delta * true_delta > 0``) is right with that probability,
    otherwise with 1 − σ(|Δ*|); the mean over pairs is returned. With ``learned_delta =
    true_delta`` this is the Bayes accuracy, mean σ(|Δ*|).

    Examples
    --------
    >>> round(expected_accuracy(np.array([2.0, -1.0, 0.0]), np.array([0.5, 0.3, 1.0])), 6)
    0.549913
    """
    true_delta = np.asarray(true_delta, dtype=float)
    learned_delta = np.asarray(learned_delta, dtype=float)
    if true_delta.shape != learned_delta.shape or true_delta.size == 0:
        raise ValueError(
            f"true_delta {true_delta.shape} and learned_delta {learned_delta.shape} must have "
            "one non-empty shape"
        )
    right = sigmoid(np.abs(true_delta))
    return float(np.mean(np.where(learned_delta * true_delta > 0, right, 1.0 - right)))


def accuracy_by_margin(
    true_delta: np.ndarray, learned_delta: np.ndarray, edges: np.ndarray
) -> dict[str, np.ndarray]:
    """Per bucket of |Δ*| (``edges[i] <= |Δ*| < edges[i+1]``): how often the model orders pairs
    as r* does (``"agreement"``), its expected label accuracy (``"expected"``), the Bayes
    ceiling (``"bayes"``) and the number of pairs (``"count"``; empty buckets give NaN rates).

    Examples
    --------
    >>> out = accuracy_by_margin(np.array([0.5, 0.7, 3.0]), np.array([1.0, -1.0, 2.0]),
    ...                          np.array([0.0, 1.0, 5.0]))
    >>> out["agreement"], out["count"]
    (array([0.5, 1. ]), array([2, 1]))
    """
    true_delta = np.asarray(true_delta, dtype=float)
    learned_delta = np.asarray(learned_delta, dtype=float)
    edges = np.asarray(edges, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"edges must be an increasing 1-d array of >= 2 values, got {edges}")
    size = np.abs(true_delta)
    agree = learned_delta * true_delta > 0
    right = sigmoid(size)
    out = {name: np.full(edges.size - 1, np.nan) for name in ("agreement", "expected", "bayes")}
    out["count"] = np.zeros(edges.size - 1, dtype=int)
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        inside = (size >= lo) & (size < hi)
        out["count"][i] = int(inside.sum())
        if inside.any():
            out["agreement"][i] = agree[inside].mean()
            out["expected"][i] = np.where(agree, right, 1 - right)[inside].mean()
            out["bayes"][i] = right[inside].mean()
    return out


def calibration_curve(learned_delta: np.ndarray, n_bins: int = 10) -> dict[str, np.ndarray]:
    """Predicted P(first preferred) = σ(Δ) against the observed frequency, in equal-width bins.

    Every pair is counted in both orders: (chosen, rejected) predicted σ(Δ), observed 1, and
    (rejected, chosen) predicted 1 − σ(Δ), observed 0; otherwise every observation would be 1.
    Returns ``"predicted"`` (mean prediction per non-empty bin), ``"observed"`` and ``"count"``.

    Examples
    --------
    >>> out = calibration_curve(np.array([0.0, 0.0]), n_bins=2)
    >>> out["predicted"], out["observed"], out["count"]
    (array([0.5]), array([0.5]), array([4]))
    """
    if not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    p = sigmoid(np.asarray(learned_delta, dtype=float))
    predicted = np.concatenate([p, 1.0 - p])
    observed = np.concatenate([np.ones_like(p), np.zeros_like(p)])
    bins = np.minimum((predicted * n_bins).astype(int), n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    used = count > 0
    return {
        "predicted": (np.bincount(bins, predicted, n_bins)[used] / count[used]),
        "observed": (np.bincount(bins, observed, n_bins)[used] / count[used]),
        "count": count[used],
    }


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


def evaluate(model: nn.Module, tokenizer: Tokenizer, dataset: PreferenceDataset) -> Evaluation:
    """Score ``dataset`` with ``model`` and compare with the hidden true reward when known.

    Spearman's correlation is over every response (chosen and rejected) of the dataset.
    """
    r_c, r_r = score_pairs(model, tokenizer, dataset)
    m = pair_metrics(torch.from_numpy(r_c), torch.from_numpy(r_r))
    result = Evaluation(len(dataset), m["loss"], m["accuracy"], m["margin"], r_c, r_r)
    if dataset.has_true_rewards:
        true_delta = dataset.true_chosen - dataset.true_rejected
        result.bayes_accuracy = PreferenceWorld.bayes_accuracy(dataset)
        result.expected_accuracy = expected_accuracy(true_delta, r_c - r_r)
        result.spearman = spearman(
            np.concatenate([dataset.true_chosen, dataset.true_rejected]), np.concatenate([r_c, r_r])
        )
    return result


# --------------------------------------------------------------------------- checkpoints


def save(directory: str | Path, model: nn.Module, tokenizer: Tokenizer) -> Path:
    """Write ``config.json`` (model kind and size), ``tokenizer.json`` and ``model.pt``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {"kind": model.kind, "model": model.config.to_dict()}
    (directory / "config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    (directory / "tokenizer.json").write_text(tokenizer.to_json(), encoding="utf-8")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save(state, directory / "model.pt")
    return directory


def load(directory: str | Path, device: str = "cpu") -> tuple[nn.Module, Tokenizer]:
    """Read back what :func:`save` wrote: the model (in eval mode) and its tokenizer."""
    directory = Path(directory)
    for name in ("config.json", "tokenizer.json", "model.pt"):
        if not (directory / name).is_file():
            raise ValueError(f"{directory} is not a checkpoint: {name} is missing")
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    model = build_model(config["kind"], RewardModelConfig(**config["model"]))
    tokenizer = Tokenizer.from_json((directory / "tokenizer.json").read_text(encoding="utf-8"))
    state = torch.load(directory / "model.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.to(resolve_device(device)).eval(), tokenizer


# --------------------------------------------------------------------------- command line

def split_pairs(
    dataset: PreferenceDataset, val_fraction: float = 0.1, seed: int = 0
) -> tuple[PreferenceDataset, PreferenceDataset]:
    """Shuffle ``dataset`` (seeded) and split it into training and validation pairs.

    Examples
    --------
    >>> ds = PreferenceDataset(list("abcdefghij"), list("abcdefghij"), list("ABCDEFGHIJ"))
    >>> train_ds, val_ds = split_pairs(ds, val_fraction=0.2)
    >>> len(train_ds), len(val_ds), sorted(train_ds.prompts + val_ds.prompts) == list("abcdefghij")
    (8, 2, True)
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if len(dataset) < 2:
        raise ValueError(f"need at least 2 pairs to split, got {len(dataset)}")
    order = np.random.default_rng(seed).permutation(len(dataset))
    n_val = min(len(dataset) - 1, max(1, round(len(dataset) * val_fraction)))
    return dataset.subset(order[n_val:]), dataset.subset(order[:n_val])


DEFAULT_STEPS = 300  # when the command gets neither --steps nor --seconds


def train_command(
    data: str | None = None,
    device: str = "auto",
    seconds: float | None = None,
    steps: int | None = None,
    out: str | None = None,
) -> int:
    """``rmcourse train``: train on a JSONL file (or the colour world), print a summary table.

    A file is split 90/10 into training and validation pairs (seeded); without one, the colour
    world supplies 20,000 training, 2,000 validation and 5,000 test pairs. Returns the exit
    status: 0, or 2 for unusable data (the reason goes to stderr).
    """
    if data is None:
        world = PreferenceWorld(seed=0)
        train_ds, val_ds, test_ds = world.splits(20_000, 2_000, 5_000, seed=0)
        source = "colour world (hidden true reward)"
    else:
        try:
            pairs = load_jsonl(data)
        except (OSError, ValueError) as exc:
            print(f"rmcourse train: {exc}", file=sys.stderr)
            return 2
        if len(pairs) < 2:
            print(f"rmcourse train: {data} has 1 pair; need at least 2", file=sys.stderr)
            return 2
        train_ds, val_ds = split_pairs(pairs, val_fraction=0.1, seed=0)
        test_ds, source = val_ds, data
    tokenizer = Tokenizer.from_texts(train_ds.prompts + train_ds.chosen + train_ds.rejected)
    if steps is None and seconds is None:
        steps = DEFAULT_STEPS
    config = TrainConfig(steps=steps, seconds=seconds, device=device)
    model = new_model(tokenizer)
    result = train(model, tokenizer, train_ds, val_ds, config)
    ev = evaluate(result.model, tokenizer, test_ds)
    rows = [
        ("data", source),
        ("pairs (train / val / held-out)", f"{len(train_ds)} / {len(val_ds)} / {len(test_ds)}"),
        ("device", result.device),
        ("parameters", f"{count_parameters(result.model)}"),
        ("steps", f"{result.history['step'][-1]}"),
        ("training seconds", f"{result.train_seconds:.1f}"),
        ("pairs per second", f"{result.pairs_per_second:.0f}"),
        ("best step (val loss)", f"{result.best_step}"),
        ("held-out loss", f"{ev.loss:.4f}"),
        ("held-out accuracy", f"{ev.accuracy:.4f}"),
        ("held-out mean margin", f"{ev.margin:.4f}"),
    ]
    if ev.bayes_accuracy is not None:
        rows += [
            ("Bayes accuracy (ceiling)", f"{ev.bayes_accuracy:.4f}"),
            ("expected accuracy", f"{ev.expected_accuracy:.4f}"),
            ("expected / Bayes", f"{ev.ratio:.4f}"),
            ("Spearman(learned, true)", f"{ev.spearman:.4f}"),
        ]
    if out is not None:
        rows.append(("checkpoint", str(save(out, result.model, tokenizer))))
    width = max(len(k) for k, _ in rows)
    print(f"{'metric':<{width}}  value")
    print(f"{'-' * width}  {'-' * 30}")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


__all__ = [
    "METRICS", "TrainConfig", "TrainResult", "Evaluation", "resolve_device", "new_model",
    "encode_dataset", "score_pairs", "pair_metrics", "train", "rank_average", "spearman",
    "expected_accuracy", "accuracy_by_margin", "calibration_curve", "evaluate", "save", "load",
    "split_pairs", "train_command",
]  # fmt: skip
