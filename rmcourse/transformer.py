"""The transformer stack under both heads: the reward model's encoder and the policy's causal LM.

Token and position embeddings, ``n_layers`` pre-norm blocks (nanoGPT's), a final LayerNorm. Two
options of the Llama family, off by default: rotary positions (``positions="rotary"``: queries
and keys rotated by position, no position vectors added) and the gated MLP (``mlp="swiglu"``).
:class:`rmcourse.model.TransformerRewardModel` reads a scalar reward off the last real token with
it; :class:`rmcourse.policy.CausalLM` reads next-token logits off every position, with a causal
mask. Both read out through :meth:`Transformer.read_out`, in float32 under autocast too
(:func:`in_float32`), and start from the same weights (:func:`init_weights`).

References
----------
A. Karpathy, nanoGPT (the block and the layout); A. Radford et al., "Language Models are
Unsupervised Multitask Learners", 2019 (GPT-2: pre-norm blocks; its code initialises its weights
with std 0.02, its position vectors with 0.01; 0.02 is the value of GPT-1's paper, A. Radford et
al., "Improving Language Understanding by Generative Pre-Training", 2018); J. Su et al., "RoFormer:
Enhanced Transformer with Rotary Position Embedding", 2021 (rotary positions); N. Shazeer, "GLU
Variants Improve Transformer", 2020 (SwiGLU); both as H. Touvron et al., "LLaMA: Open and Efficient
Foundation Language Models", 2023, use them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from rmcourse.validate import positive_int


class TransformerSizes(Protocol):
    """What a config gives :class:`Transformer`: the reward model's and the policy's both do."""

    vocab_size: int
    max_len: int
    d_model: int
    n_heads: int
    n_layers: int
    d_ff: int


def check_sizes(config: TransformerSizes) -> None:
    """Raise unless a transformer's sizes are positive integers and ``n_heads`` divides
    ``d_model``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> check_sizes(SimpleNamespace(vocab_size=10, max_len=8, d_model=30, n_heads=4, n_layers=1,
    ...                             d_ff=16))
    Traceback (most recent call last):
    ...
    ValueError: d_model=30 must be divisible by n_heads=4
    """
    for name in ("vocab_size", "max_len", "d_model", "n_heads", "n_layers", "d_ff"):
        positive_int(getattr(config, name), name)
    if config.d_model % config.n_heads:
        raise ValueError(f"d_model={config.d_model} must be divisible by n_heads={config.n_heads}")


POSITIONS = ("learned", "rotary")
MLPS = ("gelu", "swiglu")
ROPE_BASE = 10_000.0  # the base of the rotation frequencies (Llama's rope_theta)


@functools.lru_cache(maxsize=64)
def rope_tables(
    T: int, head_dim: int, device: torch.device, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin, each (T, head_dim), of the angles ``t * ROPE_BASE**(-2i/head_dim)`` of
    positions t = 0..T-1 and pairs i = 0..head_dim/2-1, each angle twice (for the two halves that
    :func:`rotate` pairs)."""
    inv_freq = ROPE_BASE ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.arange(T, dtype=torch.float32)[:, None] * inv_freq[None, :]  # (T, D/2)
    angles = torch.cat([angles, angles], dim=-1)  # (T, D)
    return angles.cos().to(device, dtype), angles.sin().to(device, dtype)


def rotate(t: torch.Tensor) -> torch.Tensor:
    """Rotary positions: each vector of ``t`` (..., T, D) rotated by its position's angles.

    Coordinates i and i + D/2 form a pair, turned by the angle ``position * ROPE_BASE**(-2i/D)``
    (the halves' pairing of ``transformers``' Llama, ``rotate_half``; Su et al. pair neighbouring
    coordinates, the same rotations up to a fixed reordering of coordinates, which the learned
    projections absorb). A rotation keeps lengths, and the dot product of a
    query at position m with a key at position n depends on the offset n - m only, not on m:

    Examples
    --------
    >>> gen = torch.Generator().manual_seed(0)
    >>> q, k = torch.randn(1, 16, generator=gen), torch.randn(1, 16, generator=gen)
    >>> def score(m, n):  # the query at position m, the key at position n
    ...     rows = torch.zeros(max(m, n) + 1, 2, 16)
    ...     rows[m, 0], rows[n, 1] = q[0], k[0]
    ...     r = rotate(rows.transpose(0, 1))  # (2, T, 16)
    ...     return float(r[0, m] @ r[1, n])
    >>> abs(score(1, 4) - score(7, 10)) < 1e-4, abs(score(1, 4) - score(1, 5)) > 1e-3
    (True, True)
    """
    cos, sin = rope_tables(t.shape[-2], t.shape[-1], t.device, t.dtype)  # (T, D) x 2
    a, b = t.chunk(2, dim=-1)
    return t * cos + torch.cat([-b, a], dim=-1) * sin


class SelfAttention(nn.Module):
    """Multi-head self-attention over the real tokens; ``causal``: each token sees the earlier ones.

    The reward model's encoder attends to every non-pad key (``keep``); the policy's causal
    language model to itself and the tokens before it. ``rotary``: queries and keys are rotated
    by their positions (:func:`rotate`), so that attention sees the offset between two tokens.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        dropout: float = 0.0,
        causal: bool = False,
        rotary: bool = False,
    ) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.dropout = dropout
        self.causal = causal
        self.rotary = rotary

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` (B, T, C), ``keep`` (B, T) bool, True on real tokens (None: all); -> (B, T, C)."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 x (B, T, C)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        if self.rotary:
            q, k = rotate(q), rotate(k)  # (B, H, T, C/H)
        mask = None if keep is None else keep[:, None, None, :]  # (B, 1, 1, T): real keys only
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0,
            is_causal=self.causal,
        )  # (B, H, T, C/H)  # fmt: skip
        return self.proj(y.transpose(1, 2).reshape(B, T, C))  # (B, T, C)


class SwiGLU(nn.Module):
    """The gated MLP of the Llama family: ``down(silu(gate(x)) * up(x))``, no biases.

    Three matrices of ``d_model x hidden`` where GELU's MLP has two: at equal parameters its
    hidden width is 2/3 of GELU's ``d_ff``.

    Examples
    --------
    >>> mlp = SwiGLU(32, 60)
    >>> mlp(torch.zeros(2, 5, 32)).shape, sum(p.numel() for p in mlp.parameters())
    (torch.Size([2, 5, 32]), 5760)
    """

    def __init__(self, d_model: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.gate = nn.Linear(d_model, hidden, bias=False)
        self.up = nn.Linear(d_model, hidden, bias=False)
        self.down = nn.Linear(hidden, d_model, bias=False)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., d_model) -> (..., d_model)."""
        return self.drop(self.down(F.silu(self.gate(x)) * self.up(x)))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x)) (nanoGPT's block).

    ``mlp``: ``"gelu"`` (nanoGPT's, hidden width ``d_ff``) or ``"swiglu"`` (:class:`SwiGLU`,
    hidden width ``d_ff``); ``rotary``: as in :class:`SelfAttention`.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        dropout: float = 0.0,
        causal: bool = False,
        mlp: str = "gelu",
        rotary: bool = False,
    ) -> None:
        super().__init__()
        if mlp not in MLPS:
            raise ValueError(f"mlp must be one of {MLPS}, got {mlp!r}")
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, n_heads, dropout, causal, rotary)
        self.ln2 = nn.LayerNorm(d_model)
        if mlp == "swiglu":
            self.mlp: nn.Module = SwiGLU(d_model, d_ff, dropout)
        else:
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


class Transformer(nn.Module):
    """Token + position embeddings, ``n_layers`` blocks and the final LayerNorm of a head.

    ``causal``: each token attends to itself and the tokens before it (a language model);
    otherwise to every real token (an encoder). ``norm_bias=False`` drops the final LayerNorm's
    bias, which a head that only ever compares two outputs cannot see. ``positions``:
    ``"learned"`` adds a learned vector per position to the token embeddings (GPT-2's);
    ``"rotary"`` adds none and rotates each block's queries and keys instead (:func:`rotate`).
    ``mlp``: as in :class:`Block`. A head builds it first and then calls :func:`init_weights`, so
    that the weights follow from the seed alone.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> sizes = SimpleNamespace(vocab_size=10, max_len=8, d_model=16, n_heads=2, n_layers=1,
    ...                         d_ff=32)
    >>> stack = Transformer(sizes, causal=True)
    >>> h = stack(torch.tensor([[4, 5, 2, 6]]))  # (B, T, C)
    >>> h.shape, stack.read_out(nn.Linear(16, 3), h).shape
    (torch.Size([1, 4, 16]), torch.Size([1, 4, 3]))
    """

    def __init__(
        self,
        sizes: TransformerSizes,
        dropout: float = 0.0,
        causal: bool = False,
        norm_bias: bool = True,
        positions: str = "learned",
        mlp: str = "gelu",
    ) -> None:
        super().__init__()
        if positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}, got {positions!r}")
        self.max_len = sizes.max_len
        self.tok_emb = nn.Embedding(sizes.vocab_size, sizes.d_model)
        learned = positions == "learned"
        self.pos_emb = nn.Embedding(sizes.max_len, sizes.d_model) if learned else None
        self.drop = nn.Dropout(dropout)
        rotary = positions == "rotary"
        self.blocks = nn.ModuleList(
            Block(sizes.d_model, sizes.n_heads, sizes.d_ff, dropout, causal, mlp, rotary)
            for _ in range(sizes.n_layers)
        )
        self.ln_f = nn.LayerNorm(sizes.d_model, bias=norm_bias)

    def forward(self, input_ids: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """``input_ids`` (B, T) -> hidden states (B, T, C) before the final LayerNorm.

        ``keep`` (B, T) bool: the keys each token may attend to (None: all; see
        :class:`SelfAttention`).
        """
        T = input_ids.shape[1]
        if T > self.max_len:
            raise ValueError(f"rows of {T} tokens exceed max_len={self.max_len}")
        x = self.tok_emb(input_ids)  # (B, T, C)
        if self.pos_emb is not None:
            x = x + self.pos_emb(torch.arange(T, device=input_ids.device))  # + (T, C)
        x = self.drop(x)
        for block in self.blocks:
            x = block(x, keep)  # (B, T, C)
        return x

    def read_out(self, head: nn.Module, h: torch.Tensor) -> torch.Tensor:
        """``head(ln_f(h))``: (..., C) -> (..., out), in float32 under autocast too
        (:func:`in_float32`)."""
        return in_float32(lambda t: head(self.ln_f(t)), h)


def init_weights(
    model: nn.Module, d_model: int, head: nn.Linear, head_std: float | None = 0.02
) -> None:
    """N(0, 1/d_model) weights and zero biases in ``model``'s linear layers and embeddings, then
    N(0, head_std^2) weights in its output ``head`` (the reward model's and the policy's; None:
    1/d_model, as every other weight).

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
    nn.init.normal_(head.weight, mean=0.0, std=d_model**-0.5 if head_std is None else head_std)
