"""Reward models: a small transformer that reads prompt and response, and a bag-of-words baseline.

Both map a batch of token rows ``prompt <sep> response <eos> <pad>...`` (see
:meth:`rmcourse.data.Tokenizer.encode_pairs`) to one scalar reward per row, shape (B,), float32
even under bf16 autocast (:func:`in_float32`).

The transformer is an encoder (every token attends to every non-pad token, nanoGPT's block
without the causal mask). Its reward is read from the hidden state of the last non-pad token,
``<eos>``, the way reward models built on language models read theirs (TRL's
``AutoModelForSequenceClassification`` reads the last non-pad token): that token attends to the
prompt and the response alike, so it can check the answer against the question, and unlike a
mean over tokens its read-out is not diluted by the length of the response.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn

from rmcourse.validate import positive_int

if TYPE_CHECKING:
    from rmcourse.data.tokenizer import Tokenizer
    from rmcourse.policy import PolicyConfig


def check_sizes(config: RewardModelConfig | PolicyConfig) -> None:
    """Raise unless a transformer's sizes are positive integers and ``n_heads`` divides
    ``d_model``.

    Examples
    --------
    >>> RewardModelConfig(vocab_size=10, d_model=30, n_heads=4)
    Traceback (most recent call last):
    ...
    ValueError: d_model=30 must be divisible by n_heads=4
    """
    for name in ("vocab_size", "max_len", "d_model", "n_heads", "n_layers", "d_ff"):
        positive_int(getattr(config, name), name)
    if config.d_model % config.n_heads:
        raise ValueError(f"d_model={config.d_model} must be divisible by n_heads={config.n_heads}")


@dataclass
class RewardModelConfig:
    """Size of the transformer reward model (defaults: ~20 k parameters, fast on a CPU).

    The defaults were chosen by the quality reached per CPU-second (benchmarks/train_bench.py):
    d_model=64 learns in fewer pairs, but costs 2.5x more per pair than 32 (both compared under
    the earlier std-0.02 initialisation; with the current one, a wider model did not help either).
    """

    vocab_size: int
    pad_id: int = 0
    sep_id: int = 2  # the bag-of-words baseline counts only the words after <sep>
    max_len: int = 32  # the longest row of the colour world is 25 tokens
    d_model: int = 32
    n_heads: int = 2
    n_layers: int = 2  # one layer failed to compare the two colours within a minute (std-0.02 init)
    d_ff: int = 64  # 2x rather than GPT's 4x: the world is small, and CPU time is the budget
    dropout: float = 0.0  # fresh samples every epoch and a tiny model: nothing to regularise

    def __post_init__(self) -> None:
        check_sizes(self)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

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


class SelfAttention(nn.Module):
    """Multi-head self-attention over the real tokens; ``causal``: each token sees the earlier ones.

    The reward model's encoder attends to every non-pad key (``keep``); the policy's causal
    language model (:mod:`rmcourse.policy`) to itself and the tokens before it.
    """

    def __init__(
        self, d_model: int, n_heads: int, dropout: float = 0.0, causal: bool = False
    ) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.dropout = dropout
        self.causal = causal

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` (B, T, C), ``keep`` (B, T) bool, True on real tokens (None: all); -> (B, T, C)."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 x (B, T, C)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        mask = None if keep is None else keep[:, None, None, :]  # (B, 1, 1, T): real keys only
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0,
            is_causal=self.causal,
        )  # (B, H, T, C/H)  # fmt: skip
        return self.proj(y.transpose(1, 2).reshape(B, T, C))  # (B, T, C)


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x)) (nanoGPT's block)."""

    def __init__(
        self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0, causal: bool = False
    ) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, n_heads, dropout, causal)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, d_ff),
            nn.GELU(),
            nn.Linear(d_ff, d_model),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` (B, T, C) -> (B, T, C); ``keep`` as in :class:`SelfAttention`."""
        x = x + self.attn(self.ln1(x), keep)
        return x + self.mlp(self.ln2(x))


def in_float32(layers: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``layers(x)`` computed in float32, under autocast too: the read-out of a reward or a logit.

    Under bf16 autocast an ``nn.Linear`` returns bf16, 8 significant bits (2 to 3 decimal
    digits): rewards near 30 would be 0.125 apart, and a later ``.float()`` cannot restore what
    was rounded away (lesson 03). The head is one small matrix product, so float32 costs next to
    nothing. Without autocast, and on float32 input, this is exactly ``layers(x)``.

    Examples
    --------
    >>> head = nn.Linear(4, 1)
    >>> with torch.autocast("cpu", dtype=torch.bfloat16):
    ...     head(torch.ones(2, 4)).dtype, in_float32(head, torch.ones(2, 4)).dtype
    (torch.bfloat16, torch.float32)
    """
    with torch.autocast(device_type=x.device.type, enabled=False):
        return layers(x.float())


def init_weights(model: nn.Module, d_model: int, head: nn.Linear) -> None:
    """N(0, 1/d_model) weights and zero biases in ``model``'s linear layers and embeddings, then
    N(0, 0.02^2) weights in its output ``head`` (this reward model's and the policy's).

    GPT-2's fixed std 0.02 is near 1/sqrt(d) at its widths (768 and up); at d_model=32 it makes
    every query·key product ~0, and the reward model sits on a plateau for 1000+ steps before its
    attention learns to match the colour answered with the colour asked about
    (benchmarks/train_bench.py, 60 s on a 2-core CPU: ratio 0.95 / 0.89 for seeds 0 / 1 with 0.02;
    0.997-0.998 for seeds 0-2 with 1/sqrt(d)). The head keeps GPT-2's small 0.02: untrained
    rewards are all near 0, so the loss starts near ln 2, and an untrained policy predicts every
    word about equally.
    """
    std = d_model**-0.5
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=std)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
    nn.init.normal_(head.weight, mean=0.0, std=0.02)


class TransformerRewardModel(nn.Module):
    """Token + position embeddings, ``n_layers`` encoder blocks, a scalar head on ``<eos>``.

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
        self.tok_emb = nn.Embedding(config.vocab_size, config.d_model)
        self.pos_emb = nn.Embedding(config.max_len, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            Block(config.d_model, config.n_heads, config.d_ff, config.dropout)
            for _ in range(config.n_layers)
        )
        # No bias in the last LayerNorm or the head: a bias there only adds one constant to
        # every reward, which the pair-wise loss (a function of r_c - r_r) never sees.
        self.ln_f = nn.LayerNorm(config.d_model, bias=False)
        self.head = nn.Linear(config.d_model, 1, bias=False)
        init_weights(self, config.d_model, self.head)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """``input_ids`` (B, T) right-padded rows -> rewards (B,)."""
        B, T = input_ids.shape
        if T > self.config.max_len:
            raise ValueError(f"rows of {T} tokens exceed max_len={self.config.max_len}")
        keep = input_ids != self.config.pad_id  # (B, T)
        if not bool(keep.any(dim=1).all()):
            raise ValueError("every row needs at least one non-pad token")
        pos = torch.arange(T, device=input_ids.device)  # (T,)
        x = self.drop(self.tok_emb(input_ids) + self.pos_emb(pos))  # (B, T, C)
        for block in self.blocks:
            x = block(x, keep)  # (B, T, C)
        last = keep.sum(dim=1) - 1  # (B,) index of the last real token (<eos>)
        h = x[torch.arange(B, device=x.device), last]  # (B, C)
        return in_float32(lambda t: self.head(self.ln_f(t)), h).squeeze(-1)  # (B,) float32


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


def init_from_seed(model: RewardModel, seed: int) -> None:
    """Give ``model`` the weights that ``torch.manual_seed(seed)`` then building it would give.

    The global random state is left as it was.

    Examples
    --------
    >>> model = build_model("transformer", RewardModelConfig(vocab_size=5))
    >>> _ = torch.manual_seed(7)
    >>> same = build_model("transformer", RewardModelConfig(vocab_size=5))
    >>> init_from_seed(model, 7)
    >>> all(torch.equal(a, b) for a, b in zip(model.parameters(), same.parameters()))
    True
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = build_model(model.kind, model.config)
    model.load_state_dict(fresh.state_dict())


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Optimiser parameter groups: weight decay on matrices, none on embeddings, biases, norms.

    Decay pulls the weights of a matrix product towards zero; on an embedding it would shrink
    the rows of rare tokens for no reason, and on a bias or a LayerNorm gain it only shifts or
    rescales (nanoGPT's ``configure_optimizers``, minus its embedding decay).

    Examples
    --------
    >>> groups = parameter_groups(TransformerRewardModel(RewardModelConfig(vocab_size=5)), 0.01)
    >>> [(g["weight_decay"], len(g["params"])) for g in groups]
    [(0.01, 9), (0.0, 19)]
    """
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (decay if param.ndim >= 2 and "emb" not in name else no_decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]  # fmt: skip


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters.

    Examples
    --------
    >>> count_parameters(BagOfWordsReward(RewardModelConfig(vocab_size=5)))
    5
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
