"""TRL's RewardTrainer with lesson 08's tiny Llama beside rmcourse.train with lesson 04's model.

Usage::

    python benchmarks/trl_side_by_side.py [--steps 300 1200] [--seeds 0 1 2]
        [--variant default learned+gelu ...] [--seconds 10 20] [--no-trl] [--device cpu|cuda]

The same pairs for both (lesson 04's: 20,000 training, 1,000 validation, 4,000 test pairs of the
colour world), batch 64, one torch thread each, float32. Equal steps: each trainer runs each
``--steps`` budget. Equal seconds: right after each TRL run, rmcourse trains (each variant, the
same seed) for as many seconds as TRL's ``.train()`` took, so that both see the same load of a
shared machine. ``seconds`` is the wall-clock time of the whole training call (rmcourse:
``train()``, its data encoding and validation passes included; TRL: building the
``RewardTrainer``, which tokenizes the pairs, and ``.train()``); ``train_seconds`` the training
loop's alone (rmcourse: its steps; TRL: ``.train()``). ``--seconds`` adds rmcourse-only runs
with those training-time budgets.

Each ``--variant`` is a name of :data:`VARIANTS`, or several joined by ``+``
(``learned+gelu``): an ablation of lesson 04's model or recipe.
One JSON line per run (``"kind": "run"``), then one per trainer, variant and budget with the mean
and the sample standard deviation over the seeds (``"kind": "summary"``) of the expected accuracy
over the Bayes ceiling (``ratio``), the seconds and the steps.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from rmcourse import loop
from rmcourse.data import PreferenceWorld
from rmcourse.model import TransformerRewardModel, count_parameters, new_model
from rmcourse.train import TrainConfig, evaluate, train

N_TRAIN, N_VAL, N_TEST = 20_000, 1_000, 4_000  # lesson 04's splits
BATCH = 64


# --------------------------------------------------------------------------- ablations


class MeanReadOut(TransformerRewardModel):
    """Lesson 04's model with its reward read from the mean of the real tokens, not ``<eos>``."""

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        keep = input_ids != self.config.pad_id  # (B, T)
        x = self.transformer(input_ids, keep)  # (B, T, C)
        w = keep.unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        h = (x * w).sum(dim=1) / w.sum(dim=1)  # (B, C)
        return self.transformer.read_out(self.head, h).squeeze(-1)  # (B,)


class SumReadOut(TransformerRewardModel):
    """Lesson 04's model with one reward per real token, ``head(ln_f(x_t))``, summed over the row:
    the form of the world's true reward, a weighted sum of counts of phrases."""

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        keep = input_ids != self.config.pad_id  # (B, T)
        x = self.transformer(input_ids, keep)  # (B, T, C)
        per_token = self.transformer.read_out(self.head, x).squeeze(-1)  # (B, T)
        return (per_token * keep).sum(dim=1)  # (B,)


class Causal(TransformerRewardModel):
    """Lesson 04's model as a causal decoder: each token sees itself and the tokens before it.

    Rows are right-padded, so a real token never sees padding; the reward is read at ``<eos>``,
    the one token that has seen the whole row (as the Llama's head reads it).
    """

    def __init__(self, config) -> None:
        super().__init__(config)
        for block in self.transformer.blocks:
            block.attn.causal = True

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        keep = input_ids != self.config.pad_id  # (B, T)
        x = self.transformer(input_ids, None)  # (B, T, C): the causal mask alone
        last = keep.sum(dim=1) - 1  # (B,)
        h = x[torch.arange(len(x)), last]  # (B, C)
        return self.transformer.read_out(self.head, h).squeeze(-1)  # (B,)


def _pos_init(std: float | None, frozen: bool = False) -> Callable[[nn.Module], None]:
    def edit(model: nn.Module) -> None:
        weight = model.transformer.pos_emb.weight
        if std is None:
            nn.init.zeros_(weight)
        else:
            nn.init.normal_(weight, mean=0.0, std=std)
        weight.requires_grad_(not frozen)

    return edit


def _rms_norm(model: nn.Module) -> None:
    """Every LayerNorm becomes an RMSNorm (a gain, no centring, no bias), as in Llama."""
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.LayerNorm):
                setattr(parent, name, nn.RMSNorm(child.normalized_shape, eps=1e-6))


def _silu(model: nn.Module) -> None:
    """GELU becomes SiLU, Llama's activation (without Llama's gate)."""
    for block in model.transformer.blocks:
        block.mlp[1] = nn.SiLU()


@dataclass
class Variant:
    """An ablation: a model class, edits to its fresh weights or layers, TrainConfig changes,
    and AdamW's betas."""

    model_class: type[TransformerRewardModel] = TransformerRewardModel
    edits: list[Callable[[nn.Module], None]] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    betas: tuple[float, float] | None = None
    sizes: dict = field(default_factory=dict)  # RewardModelConfig fields

    def __add__(self, other: Variant) -> Variant:
        if self.model_class is not TransformerRewardModel and (
            other.model_class is not TransformerRewardModel
        ):
            raise ValueError("two variants that each replace the model class cannot be joined")
        cls = other.model_class if self.model_class is TransformerRewardModel else self.model_class
        return Variant(cls, self.edits + other.edits, {**self.config, **other.config},
                       other.betas or self.betas, {**self.sizes, **other.sizes})  # fmt: skip


LEARNED = {"positions": "learned"}
GELU = {"mlp": "gelu", "d_ff": 64}

VARIANTS: dict[str, Variant] = {
    "default": Variant(),  # lesson 04's model: rotary positions, gated MLP of width 60
    # the shape before it, GPT-2's, a piece at a time: "learned+gelu" is lesson 04's model of
    # before (19,712 parameters)
    "learned": Variant(sizes=LEARNED),  # a learned vector per position, N(0, 1/d) at the start
    "gelu": Variant(sizes=GELU),  # GELU MLP of width 64 for the gated one
    "gelu-88": Variant(sizes={"mlp": "gelu", "d_ff": 88}),  # GELU, as many parameters as gated
    # the learned position vectors' start (these imply "learned")
    "pos-zero": Variant(sizes=LEARNED, edits=[_pos_init(None)]),
    "pos-0.02": Variant(sizes=LEARNED, edits=[_pos_init(0.02)]),
    "pos-none": Variant(sizes=LEARNED, edits=[_pos_init(None, frozen=True)]),  # zero, frozen
    # more of the Llama's architecture
    "rmsnorm": Variant(edits=[_rms_norm]),
    "head-normal": Variant(sizes={"head_std": None}),  # the head at N(0, 1/d), as the Llama's
    "silu": Variant(sizes=GELU, edits=[_silu]),  # SiLU for GELU, no gate (implies "gelu")
    "swiglu-48": Variant(sizes={"mlp": "swiglu", "d_ff": 48}),  # the gated MLP, width 48
    "swiglu-56": Variant(sizes={"mlp": "swiglu", "d_ff": 56}),
    "swiglu-60": Variant(sizes={"mlp": "swiglu", "d_ff": 60}),  # the default's MLP
    "causal": Variant(model_class=Causal),
    # the read-out (lesson 04's: the hidden state of <eos>)
    "mean-readout": Variant(model_class=MeanReadOut),
    "sum-readout": Variant(model_class=SumReadOut),  # a reward per token, summed
    # TRL's recipe, one piece at a time
    "adam-0.999": Variant(betas=(0.9, 0.999)),
    "center-0.01": Variant(config={"center_coef": 0.01}),
    "cosine-to-0": Variant(config={"min_lr_ratio": 0.0}),
    "lr-1e-3": Variant(config={"lr": 1e-3}),
    "lr-1e-2": Variant(config={"lr": 1e-2}),
    "no-warmup": Variant(config={"warmup_steps": 0}),
    "trl-recipe": Variant(config={"min_lr_ratio": 0.0}, betas=(0.9, 0.999)),
    # lesson 04's schedule, longer or higher
    "warmup-100": Variant(config={"warmup_steps": 100}),
    "lr-5e-3": Variant(config={"lr": 5e-3}),
    # other sizes, no more parameters than the Llama's 22,208
    "heads-4": Variant(sizes={"n_heads": 4}),  # four heads of 8 for two of 16: same parameters
    "layers-3": Variant(sizes={"n_layers": 3, "d_ff": 24}),  # 21,568 parameters
}


def variant(spec: str) -> Variant:
    """The variant named ``spec``, or the sum of those joined by ``+``."""
    parts = spec.split("+")
    unknown = [p for p in parts if p not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant {unknown[0]!r}; choose from {sorted(VARIANTS)}")
    out = Variant()
    for part in parts:
        out = out + VARIANTS[part]
    return out


@contextlib.contextmanager
def adam_betas(betas: tuple[float, float] | None) -> Iterator[None]:
    """The loop's AdamW betas set to ``betas`` for the block (None: unchanged)."""
    saved = loop.ADAM_BETAS
    loop.ADAM_BETAS = betas or saved
    try:
        yield
    finally:
        loop.ADAM_BETAS = saved


# --------------------------------------------------------------------------- the two trainers


def run_rmcourse(data, spec: str, seed: int, device: str, steps=None, seconds=None) -> dict:
    world, (train_ds, val_ds, test_ds) = data
    tok = world.tokenizer()
    v = variant(spec)
    torch.manual_seed(seed)
    model = new_model(tok, **v.sizes)
    if v.model_class is not TransformerRewardModel:
        torch.manual_seed(seed)
        model = v.model_class(model.config)
    for edit in v.edits:
        edit(model)
    config = TrainConfig(steps=steps, seconds=seconds, batch_size=BATCH, seed=seed,
                         device=device, progress=False, **v.config)  # fmt: skip
    start = time.perf_counter()
    with adam_betas(v.betas):
        result = train(model, tok, train_ds, val_ds, config)
    wall = time.perf_counter() - start
    ev = evaluate(result.model, tok, test_ds)
    return {"trainer": "rmcourse", "variant": spec, "seed": seed, "ratio": ev.ratio,
            "steps": len(result.history["step"]), "seconds": wall,
            "train_seconds": result.train_seconds,
            "parameters": count_parameters(model)}  # fmt: skip


def run_trl(data, seed: int, device: str, steps: int) -> dict:
    from rmcourse.hf import trainers
    from rmcourse.hf.model import reward_model
    from rmcourse.hf.tokenizer import course_tokenizer

    _, (train_ds, _, test_ds) = data
    tok = course_tokenizer()
    model = reward_model(tok, seed=seed)
    config = trainers.HFTrainConfig(steps=steps, batch_size=BATCH, seed=seed,
                                    use_cpu=device == "cpu", logging_steps=10**6)  # fmt: skip
    start = time.perf_counter()
    trainer = trainers.reward_trainer(model, tok, train_ds, config)
    train_start = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - start
    train_seconds = time.perf_counter() - train_start
    ev = trainers.evaluate_reward_model(model, tok, test_ds)
    return {"trainer": "trl", "variant": "tiny-llama", "seed": seed, "ratio": ev.ratio,
            "steps": trainer.state.global_step, "seconds": wall, "train_seconds": train_seconds,
            "parameters": model.num_parameters()}  # fmt: skip


def summary(runs: list[dict], budget: str) -> dict:
    def mean_std(key: str) -> tuple[float, float]:
        values = [r[key] for r in runs]
        return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0

    out = {"kind": "summary", "trainer": runs[0]["trainer"], "variant": runs[0]["variant"],
           "budget": budget, "seeds": len(runs), "parameters": runs[0]["parameters"]}  # fmt: skip
    for key in ("ratio", "seconds", "steps"):
        m, s = mean_std(key)
        out[key] = round(m, 4 if key == "ratio" else 1)
        out[f"{key}_std"] = round(s, 4 if key == "ratio" else 1)
    return out


def emit(record: dict) -> None:
    rounded = {k: round(v, 4) if isinstance(v, float) else v for k, v in record.items()}
    print(json.dumps(rounded), flush=True)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="*", default=[300, 1200])
    parser.add_argument("--seconds", type=float, nargs="*", default=[], help="rmcourse only")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variant", nargs="+", default=["default"], help="rmcourse side")
    parser.add_argument("--no-trl", action="store_true", help="rmcourse variants only")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args(argv)
    for spec in args.variant:
        variant(spec)  # a bad name fails before anything runs
    torch.set_num_threads(1)
    if not args.no_trl:
        import rmcourse.hf

        rmcourse.hf.go_offline()
    world = PreferenceWorld(seed=0)
    data = (world, world.splits(N_TRAIN, N_VAL, N_TEST, seed=0))
    summaries = []

    def record(runs: list[dict], budget: str) -> None:
        for r in runs:
            emit({"kind": "run", "budget": budget, **r})
        summaries.append(summary(runs, budget))
        emit(summaries[-1])

    for steps in args.steps:
        for spec in args.variant:
            record([run_rmcourse(data, spec, s, args.device, steps=steps) for s in args.seeds],
                   f"{steps} steps")  # fmt: skip
        if args.no_trl:
            continue
        trl_runs, paired = [], {spec: [] for spec in args.variant}
        for seed in args.seeds:  # each TRL run, then rmcourse for the seconds it trained
            trl_runs.append(run_trl(data, seed, args.device, steps))
            seconds = trl_runs[-1]["train_seconds"]
            for spec in args.variant:
                paired[spec].append(run_rmcourse(data, spec, seed, args.device, seconds=seconds))
        record(trl_runs, f"{steps} steps")
        for spec in args.variant:
            record(paired[spec], f"TRL's {steps}-step seconds")
    for seconds in args.seconds:
        for spec in args.variant:
            runs = [run_rmcourse(data, spec, s, args.device, seconds=seconds) for s in args.seeds]
            record(runs, f"{seconds:g} s")
    return summaries


if __name__ == "__main__":
    main()
