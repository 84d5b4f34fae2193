"""Reward-model checkpoints: a folder of three files that :func:`load` reads back.

``config.json`` (the model's kind and size), ``tokenizer.json`` and ``model.pt`` (the weights).

Examples
--------
>>> import tempfile
>>> from rmcourse.data import PreferenceWorld
>>> from rmcourse.model import new_model
>>> tok = PreferenceWorld().tokenizer()
>>> with tempfile.TemporaryDirectory() as folder:
...     model, same_tok = load(save(folder, new_model(tok, kind="bow"), tok))
>>> type(model).__name__, same_tok.to_json() == tok.to_json()
('BagOfWordsReward', True)
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from rmcourse.data import Tokenizer
from rmcourse.device import resolve_device
from rmcourse.fileio import atomic_write_text
from rmcourse.model import MODEL_KINDS, RewardModel, RewardModelConfig, build_model


def save(directory: str | Path, model: RewardModel, tokenizer: Tokenizer) -> Path:
    """Write ``config.json`` (model kind and size), ``tokenizer.json`` and ``model.pt``.

    ``model`` must be a :class:`rmcourse.model.RewardModel` of a kind :func:`load` can build.
    """
    if not isinstance(model, RewardModel) or model.kind not in MODEL_KINDS:
        raise TypeError(
            f"save needs a reward model with a kind in {sorted(MODEL_KINDS)} and a "
            f"RewardModelConfig (rmcourse.model.RewardModel), got {type(model).__name__}"
        )
    directory = Path(directory)
    config = {"kind": model.kind, "model": model.config.to_dict()}
    atomic_write_text(directory / "config.json", json.dumps(config, indent=1))
    atomic_write_text(directory / "tokenizer.json", tokenizer.to_json())
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save(state, directory / "model.pt")
    return directory


def _renamed(state: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """``state`` with the keys of checkpoints saved before the transformer stack became a
    submodule (``tok_emb.weight``, now ``transformer.tok_emb.weight``) renamed."""
    keys = model.state_dict().keys()
    return {k if k in keys or f"transformer.{k}" not in keys else f"transformer.{k}": v
            for k, v in state.items()}  # fmt: skip


BEFORE_OPTIONS = {"positions": "learned", "mlp": "gelu", "head_std": 0.02}
"""The shape of every reward model saved before the config named it (a checkpoint's config
names every field it had, so these fill only what an older one lacks)."""


def load(directory: str | Path, device: str = "cpu") -> tuple[nn.Module, Tokenizer]:
    """Read back what :func:`save` wrote: the model (in eval mode) and its tokenizer."""
    directory = Path(directory)
    for name in ("config.json", "tokenizer.json", "model.pt"):
        if not (directory / name).is_file():
            raise ValueError(f"{directory} is not a checkpoint: {name} is missing")
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    model = build_model(config["kind"], RewardModelConfig(**{**BEFORE_OPTIONS, **config["model"]}))
    tokenizer = Tokenizer.from_json((directory / "tokenizer.json").read_text(encoding="utf-8"))
    state = torch.load(directory / "model.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(_renamed(state, model))
    return model.to(resolve_device(device)).eval(), tokenizer
