"""Reward models: a small transformer that reads prompt and response, and a bag-of-words baseline.

Both map a batch of token rows ``prompt <sep> response <eos> <pad>...`` (see
:meth:`rmcourse.data.Tokenizer.encode_pairs`) to one scalar reward per row, shape (B,), float32
even under bf16 autocast (:func:`rmcourse.transformer.in_float32`).

The transformer is an encoder (every token attends to every non-pad token, nanoGPT's block
without the causal mask). Its reward is read from the hidden state of the last non-pad token,
``<eos>``, the way reward models built on language models read theirs (transformers'
``*ForSequenceClassification`` of decoder models, which TRL's ``RewardTrainer`` trains, read the
last non-pad token): that token attends to the prompt and the response alike, so it can check the
answer against the question, and unlike a mean over tokens its read-out is not diluted by the
length of the response.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

import torch
from torch import nn

from rmcourse.transformer import (
    MLPS,
    POSITIONS,
    Transformer,
    check_sizes,
    in_float32,
    init_weights,
)

if TYPE_CHECKING:
    from rmcourse.data.tokenizer import Tokenizer


@dataclass
class RewardModelConfig:
    """Size and shape of the transformer reward model (defaults: 21,824 parameters, fast on a CPU).

    The sizes were chosen by the quality reached per CPU-second (benchmarks/train_bench.py):
    d_model=64 learns in fewer pairs, but costs 2.5x more per pair than 32 (both compared under
    the earlier std-0.02 initialisation; with the current one, a wider model did not help either).
    The shape follows the Llama family: rotary positions and the gated (SwiGLU) MLP, for GPT-2's
    learned position vectors and GELU MLP (``positions="learned", mlp="gelu", d_ff=64``, 19,712
    parameters). Learned position vectors that start as large as the word embeddings cost the
    model many steps; after 1,200 steps the gated MLP of width 60 with rotary positions ends
    higher than GPT-2's shape, level with a GELU MLP of as many parameters and with lesson 08's
    tiny Llama (benchmarks/trl_side_by_side.py, its README section; lesson 04, section 10).
    """

    vocab_size: int
    pad_id: int = 0
    sep_id: int = 2  # the bag-of-words baseline counts only the words after <sep>
    max_len: int = 32  # the longest row of the colour world is 25 tokens
    d_model: int = 32
    n_heads: int = 2
    n_layers: int = 2  # one layer failed to compare the two colours within a minute (std-0.02 init)
    d_ff: int = 60  # the MLP's hidden width: about 2x rather than GPT's 4x, the world is small
    dropout: float = 0.0  # off: a tiny model; train keeps the best validation step anyway
    positions: str = "rotary"  # or "learned": a vector per position added to the tokens (GPT-2's)
    mlp: str = "swiglu"  # or "gelu" (GPT-2's); hidden width d_ff either way
    head_std: float | None = 0.02  # small: the loss starts near ln 2 (None: d_model^-1/2)

    def __post_init__(self) -> None:
        check_sizes(self)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}, got {self.positions!r}")
        if self.mlp not in MLPS:
            raise ValueError(f"mlp must be one of {MLPS}, got {self.mlp!r}")
        if self.head_std is not None and not self.head_std > 0:
            raise ValueError(f"head_std must be positive or None, got {self.head_std}")

    def to_dict(self) -> dict:
        """The config as a JSON-able dict."""
        return asdict(self)


@runtime_checkable
class RewardModel(Protocol):
    """What the rest of the package needs of a reward model, beyond being an ``nn.Module``.

    ``kind`` names its class in :data:`MODEL_KINDS` and ``config`` its size, so that
    :func:`build_model` can build it again (a checkpoint stores both); calling it maps token rows
    (B, T) to rewards (B,).
    """

    kind: ClassVar[str]
    config: RewardModelConfig

    def __call__(self, input_ids: torch.Tensor) -> torch.Tensor: ...


class TransformerRewardModel(nn.Module):
    """The encoder (:class:`rmcourse.transformer.Transformer`) and a scalar head on ``<eos>``.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = TransformerRewardModel(RewardModelConfig(vocab_size=10)).eval()
    >>> ids = torch.tensor([[4, 5, 2, 6, 3, 0, 0], [7, 2, 8, 9, 6, 3, 0]])
    >>> model(ids).shape
    torch.Size([2])
    >>> bool(torch.allclose(model(ids[:1, :5]), model(ids)[:1], atol=1e-6))  # padding is ignored
    True
    """

    kind: ClassVar[str] = "transformer"

    def __init__(self, config: RewardModelConfig) -> None:
        super().__init__()
        self.config = config
        # No bias in the last LayerNorm or the head: a bias there only adds one constant to
        # every reward, which the pair-wise loss (a function of r_c - r_r) never sees.
        self.transformer = Transformer(
            config, config.dropout, causal=False, norm_bias=False, positions=config.positions,
            mlp=config.mlp,
        )  # fmt: skip
        self.head = nn.Linear(config.d_model, 1, bias=False)
        init_weights(self, config.d_model, self.head, config.head_std)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """``input_ids`` (B, T) right-padded rows -> rewards (B,)."""
        keep = input_ids != self.config.pad_id  # (B, T)
        if not bool(keep.any(dim=1).all()):
            raise ValueError("every row needs at least one non-pad token")
        x = self.transformer(input_ids, keep)  # (B, T, C)
        last = keep.sum(dim=1) - 1  # (B,) index of the last real token (<eos>)
        h = x[torch.arange(len(x), device=x.device), last]  # (B, C)
        return self.transformer.read_out(self.head, h).squeeze(-1)  # (B,) float32


class BagOfWordsReward(nn.Module):
    """Linear reward on the word counts of the response only (the words after ``<sep>``).

    It can learn that politeness is good and filler bad, but it never sees the question, so it
    cannot tell a right answer from a wrong one.

    Examples
    --------
    >>> import torch
    >>> model = BagOfWordsReward(RewardModelConfig(vocab_size=6))
    >>> with torch.no_grad():
    ...     _ = model.weights.weight.copy_(torch.arange(6.0))
    >>> model(torch.tensor([[4, 2, 5, 5, 3, 0]]))  # counts 5, 5, <eos> after <sep>: 5+5+3
    tensor([13.], grad_fn=<SqueezeBackward1>)
    """

    kind: ClassVar[str] = "bow"

    def __init__(self, config: RewardModelConfig) -> None:
        super().__init__()
        self.config = config
        self.weights = nn.Linear(config.vocab_size, 1, bias=False)  # no bias: see above
        nn.init.zeros_(self.weights.weight)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """``input_ids`` (B, T) -> rewards (B,)."""
        after_sep = torch.cumsum(input_ids == self.config.sep_id, dim=1) > 0  # (B, T)
        response = after_sep & (input_ids != self.config.sep_id) & (input_ids != self.config.pad_id)
        counts = torch.zeros(
            input_ids.shape[0], self.config.vocab_size, device=input_ids.device
        )  # (B, V)
        counts.scatter_add_(1, input_ids, response.to(counts.dtype))
        return in_float32(self.weights, counts).squeeze(-1)  # (B,) float32


MODEL_KINDS: dict[str, type[nn.Module]] = {
    TransformerRewardModel.kind: TransformerRewardModel,
    BagOfWordsReward.kind: BagOfWordsReward,
}


def build_model(kind: str, config: RewardModelConfig) -> nn.Module:
    """A reward model of ``kind`` (``"transformer"`` or ``"bow"``).

    Examples
    --------
    >>> type(build_model("bow", RewardModelConfig(vocab_size=5))).__name__
    'BagOfWordsReward'
    """
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {sorted(MODEL_KINDS)}")
    return MODEL_KINDS[kind](config)


def new_model(
    tokenizer: Tokenizer, kind: str = "transformer", **sizes: int | float | str | None
) -> nn.Module:
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


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters.

    Examples
    --------
    >>> count_parameters(BagOfWordsReward(RewardModelConfig(vocab_size=5)))
    5
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
