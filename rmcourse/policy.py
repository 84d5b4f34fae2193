"""A tiny causal language model over the colour world's vocabulary: the policy of lesson 07.

Rows are ``prompt <sep> response <eos>``, right-padded. The model predicts each next token from
the tokens before it (a causal mask), so padding after a row can never change what it says about
the row. A response's log-probability given its prompt is the sum of the log-probs of its tokens
(its words and ``<eos>``), the quantity DPO compares between the policy and the reference::

    log pi(y | x) = sum_t log pi(y_t | x, y_<t)

:mod:`rmcourse.policy_train` fits it: supervised fine-tuning (SFT) on the world's answers, then DPO.

References
----------
A. Karpathy, nanoGPT (the block); R. Rafailov et al., "Direct Preference Optimization", NeurIPS
2023 (sequence log-probabilities of a policy and a reference).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from rmcourse.data import Tokenizer
from rmcourse.data.tokenizer import padded
from rmcourse.transformer import Transformer, check_sizes, in_float32, init_weights
from rmcourse.validate import positive_int


@dataclass
class PolicyConfig:
    """Size of the causal language model (defaults: ~20 k parameters, fast on a CPU)."""

    vocab_size: int
    pad_id: int = 0
    eos_id: int = 3
    max_len: int = 32  # the longest row of the colour world is 25 tokens
    d_model: int = 32
    n_heads: int = 2
    n_layers: int = 2
    d_ff: int = 64

    def __post_init__(self) -> None:
        check_sizes(self)

    def to_dict(self) -> dict:
        """The config as a JSON-able dict."""
        return asdict(self)


class CausalLM(nn.Module):
    """The causal transformer (:class:`rmcourse.transformer.Transformer`) and next-token logits.

    ``<pad>`` is never predicted.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> lm = CausalLM(PolicyConfig(vocab_size=10, pad_id=0)).eval()
    >>> ids = torch.tensor([[4, 5, 2, 6, 3, 0, 0]])
    >>> logits = lm(ids)  # (B, T, V)
    >>> logits.shape, bool((logits[..., 0] == float("-inf")).all())  # <pad> is never predicted
    (torch.Size([1, 7, 10]), True)
    >>> bool(torch.allclose(lm(ids[:, :5]), logits[:, :5], atol=1e-6))  # later tokens never matter
    True
    """

    def __init__(self, config: PolicyConfig) -> None:
        super().__init__()
        self.config = config
        self.transformer = Transformer(config, causal=True)
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        init_weights(self, config.d_model, self.head)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """``input_ids`` (B, T) -> logits (B, T, V) of the token after each position."""
        x = self.transformer(input_ids)  # (B, T, C)
        logits = self.transformer.read_out(self.head, x)  # (B, T, V) float32
        return logits.masked_fill(_one_hot(self.config.pad_id, logits), float("-inf"))


def _one_hot(index: int, like: torch.Tensor) -> torch.Tensor:
    """A bool mask over the last axis of ``like``, True at ``index`` only: shape (V,)."""
    return torch.arange(like.shape[-1], device=like.device) == index


def new_policy(tokenizer: Tokenizer, **sizes: int) -> CausalLM:
    """A fresh causal LM for ``tokenizer``'s vocabulary; ``sizes`` override the defaults.

    Examples
    --------
    >>> from rmcourse.data import PreferenceWorld
    >>> new_policy(PreferenceWorld().tokenizer()).config.vocab_size
    48
    """
    config = PolicyConfig(
        vocab_size=len(tokenizer), pad_id=tokenizer.pad_id, eos_id=tokenizer.eos_id, **sizes
    )
    return CausalLM(config)


# --------------------------------------------------------------------------- encoding


def _encode_rows(
    tokenizer: Tokenizer, texts: Sequence[str], end_id: int, what: str
) -> torch.Tensor:
    """``text <end_id>`` rows, right-padded: (N, L) int64; ``what`` names the texts in errors."""
    if len(texts) == 0:
        raise ValueError(f"no {what} to encode")
    encoded: dict[str, list[int]] = {}  # texts repeat (k answers per prompt): split each once
    for text in texts:
        if text not in encoded:
            encoded[text] = [*tokenizer.encode(text), end_id]
    return torch.from_numpy(padded([encoded[text] for text in texts], tokenizer.pad_id))  # (N, L)


def encode_prompts(tokenizer: Tokenizer, prompts: Sequence[str]) -> torch.Tensor:
    """``prompt <sep>`` rows, right-padded: (N, P) int64.

    Examples
    --------
    >>> tok = Tokenizer(["q", "a"])
    >>> encode_prompts(tok, ["q", "q q"])
    tensor([[4, 2, 0],
            [4, 4, 2]])
    """
    return _encode_rows(tokenizer, prompts, tokenizer.sep_id, "prompts")


def encode_responses(tokenizer: Tokenizer, responses: Sequence[str]) -> torch.Tensor:
    """``response <eos>`` rows, right-padded: (N, R) int64.

    Examples
    --------
    >>> encode_responses(Tokenizer(["a", "b"]), ["a b", "b"])
    tensor([[4, 5, 3],
            [5, 3, 0]])
    """
    return _encode_rows(tokenizer, responses, tokenizer.eos_id, "responses")


def decode_responses(tokenizer: Tokenizer, response_ids: torch.Tensor) -> list[str]:
    """The words of each response row up to (not including) ``<eos>``.

    Examples
    --------
    >>> decode_responses(Tokenizer(["a", "b"]), torch.tensor([[4, 5, 3], [5, 3, 0]]))
    ['a b', 'b']
    """
    texts = []
    for row in response_ids.tolist():
        end = row.index(tokenizer.eos_id) if tokenizer.eos_id in row else len(row)
        texts.append(tokenizer.decode(row[:end]))
    return texts


def join_rows(
    prompt_ids: torch.Tensor, response_ids: torch.Tensor, pad_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Join right-padded prompts and responses into right-padded rows ``prompt response``.

    Returns the rows (B, T) and a bool mask (B, T), True where a row holds a response token.

    Examples
    --------
    >>> prompts, responses = torch.tensor([[7, 2], [2, 0]]), torch.tensor([[5, 3], [3, 0]])
    >>> rows, is_response = join_rows(prompts, responses, pad_id=0)
    >>> rows
    tensor([[7, 2, 5, 3],
            [2, 3, 0, 0]])
    >>> is_response.int()
    tensor([[0, 0, 1, 1],
            [0, 1, 0, 0]], dtype=torch.int32)
    """
    if prompt_ids.ndim != 2 or response_ids.ndim != 2 or len(prompt_ids) != len(response_ids):
        raise ValueError(
            f"prompt_ids {tuple(prompt_ids.shape)} and response_ids {tuple(response_ids.shape)} "
            "must be (B, P) and (B, R) with one B"
        )
    n_prompt = (prompt_ids != pad_id).sum(dim=1, keepdim=True)  # (B, 1)
    n_response = (response_ids != pad_id).sum(dim=1, keepdim=True)  # (B, 1)
    if not bool((n_prompt > 0).all() and (n_response > 0).all()):
        raise ValueError("every prompt and every response needs at least one non-pad token")
    width = int((n_prompt + n_response).max())
    j = torch.arange(width, device=prompt_ids.device)[None, :]  # (1, T)
    jp = j.clamp(max=prompt_ids.shape[1] - 1).expand(len(prompt_ids), -1)  # (B, T)
    from_prompt = prompt_ids.gather(1, jp)  # (B, T)
    k = (j - n_prompt).clamp(0, response_ids.shape[1] - 1)  # (B, T) index into the response
    from_response = response_ids.gather(1, k)  # (B, T)
    is_response = (j >= n_prompt) & (j < n_prompt + n_response)  # (B, T)
    rows = torch.where(j < n_prompt, from_prompt, torch.where(is_response, from_response, pad_id))
    return rows, is_response


# --------------------------------------------------------------------------- log-probs, sampling


def token_logprobs(model: CausalLM, rows: torch.Tensor) -> torch.Tensor:
    """log pi(rows[:, t] | rows[:, :t]) for t >= 1: (B, T - 1), float32, under autocast too."""
    logits = model(rows[:, :-1])  # (B, T-1, V) float32: position t predicts token t+1
    logprobs = in_float32(lambda t: F.log_softmax(t, dim=-1), logits)  # (B, T-1, V)
    return torch.gather(logprobs, 2, rows[:, 1:, None]).squeeze(2)


def sequence_logprobs(
    model: CausalLM, prompt_ids: torch.Tensor, response_ids: torch.Tensor
) -> torch.Tensor:
    """``log pi(y | x)``: the summed log-probs of each response's tokens given its prompt.

    Parameters
    ----------
    model : CausalLM
    prompt_ids : torch.Tensor, (B, P) int64
        ``prompt <sep>`` rows, right-padded (:func:`encode_prompts`).
    response_ids : torch.Tensor, (B, R) int64
        ``response <eos>`` rows, right-padded (:func:`encode_responses`); the ``<eos>`` counts.

    Returns
    -------
    torch.Tensor, (B,) float32, differentiable with respect to the model's weights.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> lm = CausalLM(PolicyConfig(vocab_size=6)).eval()
    >>> x, y = torch.tensor([[4, 2]]), torch.tensor([[5, 3]])
    >>> logp = torch.log_softmax(lm(torch.tensor([[4, 2, 5]])), dim=-1)  # (1, 3, V)
    >>> by_hand = logp[0, 1, 5] + logp[0, 2, 3]  # log pi(5 | 4 2) + log pi(<eos> | 4 2 5)
    >>> bool(torch.allclose(sequence_logprobs(lm, x, y), by_hand))
    True
    """
    device = next(model.parameters()).device
    rows, is_response = join_rows(prompt_ids.to(device), response_ids.to(device),
                                  model.config.pad_id)  # (B, T) x 2  # fmt: skip
    per_token = token_logprobs(model, rows)  # (B, T-1)
    # where, not a product: a padded target has log-prob -inf, and -inf * 0 is nan
    return torch.where(is_response[:, 1:], per_token, 0.0).sum(dim=1)  # (B,)


@torch.no_grad()
def sample(
    model: CausalLM,
    prompt_ids: torch.Tensor,
    temperature: float = 1.0,
    seed: int = 0,
    max_new_tokens: int = 16,
) -> torch.Tensor:
    """Draw one response to each prompt, token by token from softmax(logits / temperature).

    Returns ``response <eos>`` rows, right-padded, (B, R) int64 on the CPU; a row that has not
    drawn ``<eos>`` after ``max_new_tokens`` tokens (or at ``max_len``) ends without one.
    Seeded: the same seed on the same device draws the same responses.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> lm = CausalLM(PolicyConfig(vocab_size=6)).eval()
    >>> prompts = torch.tensor([[4, 2], [5, 2]])
    >>> torch.equal(sample(lm, prompts, seed=1), sample(lm, prompts, seed=1))
    True
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    positive_int(max_new_tokens, "max_new_tokens")
    device = next(model.parameters()).device
    pad, eos = model.config.pad_id, model.config.eos_id
    prompt_ids = prompt_ids.to(device)
    B = prompt_ids.shape[0]
    position = (prompt_ids != pad).sum(dim=1)  # (B,) where each row's next token goes
    width = min(model.config.max_len, int(position.max()) + max_new_tokens)
    rows = torch.full((B, width), pad, dtype=torch.long, device=device)  # (B, T)
    rows[:, : prompt_ids.shape[1]] = prompt_ids[:, :width]
    out = torch.full((B, max_new_tokens), pad, dtype=torch.long, device=device)  # (B, R)
    done = torch.zeros(B, dtype=torch.bool, device=device)  # (B,)
    generator = torch.Generator(device=device).manual_seed(seed)
    uniform = torch.full((B, model.config.vocab_size), 1.0 / model.config.vocab_size,
                         device=device)  # (B, V)  # fmt: skip
    for t in range(max_new_tokens):
        done |= position >= width  # rows at max_len stop
        if bool(done.all()):
            break
        live = (~done).nonzero().squeeze(1)  # (L,) the rows still writing: only they run
        pos = position[live]  # (L,)
        logits = model(rows[live, : int(position.max().clamp(max=width))])  # (L, T', V)
        last = logits[torch.arange(len(live), device=device), pos - 1].float() / temperature
        probs = uniform.clone()  # (B, V); a finished row draws too (the same random numbers
        probs[live] = F.softmax(last, dim=-1)  # are used whoever is done), then writes <pad>
        token = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        token = torch.where(done, pad, token)  # (B,)
        out[:, t] = token
        rows[live, pos] = token[live]
        position = position + (~done).long()
        done |= token == eos
    return out.cpu()
