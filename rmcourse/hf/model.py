"""Tiny Llama-style ``transformers`` models, built from a config: nothing is downloaded.

``reward_model`` is an ``AutoModelForSequenceClassification`` with one output (the reward);
``policy_model`` an ``AutoModelForCausalLM`` (the DPO policy). Both are causal decoders: token t
sees tokens 0..t only, so only the last token of ``prompt response <eos>`` has seen the whole
response, and that is where a sequence-classification head reads the reward (lesson 04's encoder
also reads at ``<eos>``, but as a convention: its tokens all see each other).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    LlamaConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from rmcourse.validate import positive_int


@dataclass
class TinyLlamaConfig:
    """Size of the tiny model: about 22 k parameters with the colour world's 48 words."""

    hidden_size: int = 32  # the width of lesson 04's transformer
    n_layers: int = 2
    n_heads: int = 2
    intermediate_size: int = 64
    max_positions: int = 64  # the longest colour-world row is 25 tokens
    # std 1/sqrt(hidden_size), not Llama's 0.02: lesson 04's model needed the wider init to get
    # off its plateau quickly at this width (see rmcourse.transformer.init_weights), and so does
    # this one.
    init_std: float = 32**-0.5

    def __post_init__(self) -> None:
        for name in ("hidden_size", "n_layers", "n_heads", "intermediate_size", "max_positions"):
            positive_int(getattr(self, name), name)
        if self.hidden_size % self.n_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} must be divisible by n_heads={self.n_heads}"
            )


def llama_config(
    tokenizer: PreTrainedTokenizerBase, size: TinyLlamaConfig | None = None, num_labels: int = 1
) -> LlamaConfig:
    """A ``LlamaConfig`` for ``tokenizer``'s vocabulary, padding and end-of-sequence tokens."""
    size = TinyLlamaConfig() if size is None else size
    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=size.hidden_size,
        intermediate_size=size.intermediate_size,
        num_hidden_layers=size.n_layers,
        num_attention_heads=size.n_heads,
        num_key_value_heads=size.n_heads,
        max_position_embeddings=size.max_positions,
        initializer_range=size.init_std,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=False,
        num_labels=num_labels,
    )


def _seeded(
    auto_class: type, tokenizer: PreTrainedTokenizerBase, size: TinyLlamaConfig | None, seed: int
) -> PreTrainedModel:
    """``auto_class.from_config`` of :func:`llama_config`, its weights drawn after
    ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    return auto_class.from_config(llama_config(tokenizer, size))


def reward_model(
    tokenizer: PreTrainedTokenizerBase, size: TinyLlamaConfig | None = None, seed: int = 0
) -> PreTrainedModel:
    """A fresh ``LlamaForSequenceClassification`` with one output, the reward, read at the last
    non-pad token of each row (:func:`read_positions` measures where).

    Examples
    --------
    >>> from rmcourse.hf.tokenizer import course_tokenizer
    >>> model = reward_model(course_tokenizer())
    >>> type(model).__name__, model.config.num_labels, model.num_parameters()
    ('LlamaForSequenceClassification', 1, 22208)
    """
    return _seeded(AutoModelForSequenceClassification, tokenizer, size, seed)


def policy_model(
    tokenizer: PreTrainedTokenizerBase, size: TinyLlamaConfig | None = None, seed: int = 0
) -> PreTrainedModel:
    """A fresh ``LlamaForCausalLM``: the policy (and reference) of DPO.

    Examples
    --------
    >>> from rmcourse.hf.tokenizer import course_tokenizer
    >>> type(policy_model(course_tokenizer())).__name__
    'LlamaForCausalLM'
    """
    return _seeded(AutoModelForCausalLM, tokenizer, size, seed)


@torch.no_grad()
def read_positions(model: PreTrainedModel, input_ids: torch.Tensor) -> torch.Tensor:
    """The token position whose hidden state the sequence-classification head turned into the
    reward, per row, found by measurement rather than by re-implementing the rule.

    The head is linear, so the reward of every position is ``score(hidden_states[:, t])``; the
    position read is the one whose value equals the model's output.

    Parameters
    ----------
    model : a ``*ForSequenceClassification`` with ``num_labels=1`` and a ``score`` head
    input_ids : torch.Tensor, shape (B, T)

    Returns
    -------
    torch.Tensor of int64, shape (B,)
    """
    was_training = model.training
    model.eval()
    out = model(input_ids=input_ids, output_hidden_states=True)
    per_position = model.score(out.hidden_states[-1]).squeeze(-1)  # (B, T)
    model.train(was_training)
    gap = (per_position - out.logits.reshape(-1, 1)).abs()  # (B, T)
    closest, position = gap.min(dim=1)  # (B,), (B,)
    if bool((closest > 1e-5 * (1.0 + out.logits.abs().reshape(-1))).any()):
        raise RuntimeError("no position's score equals the model's output: is the head linear?")
    return position
