"""A word-level tokenizer: one id per word, special tokens first."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

import numpy as np

PAD, UNK, SEP, EOS = "<pad>", "<unk>", "<sep>", "<eos>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, UNK, SEP, EOS)
_WORD_RE = re.compile(r"[\w']+|[^\w\s]")


def split_words(text: str) -> list[str]:
    """Lower-case ``text`` and split it into words and punctuation marks.

    Examples
    --------
    >>> split_words("What color is a Banana?")
    ['what', 'color', 'is', 'a', 'banana', '?']
    """
    return _WORD_RE.findall(text.lower())


def padded(rows: Sequence[Sequence[int]], pad_id: int) -> np.ndarray:
    """``rows`` of ids, right-padded with ``pad_id`` to the longest: (N, L) int64.

    Examples
    --------
    >>> padded([[4, 5, 3], [6]], pad_id=0)
    array([[4, 5, 3],
           [6, 0, 0]])
    """
    width = max(len(r) for r in rows)
    return np.array([[*r, *[pad_id] * (width - len(r))] for r in rows], dtype=np.int64)


class Tokenizer:
    """Word-level tokenizer: one id per word, ids 0-3 for ``<pad> <unk> <sep> <eos>``.

    A prompt and a response are encoded together as ``prompt <sep> response <eos>``.

    Parameters
    ----------
    words : iterable of str
        The vocabulary (special tokens are added first; duplicates are ignored).

    Examples
    --------
    >>> tok = Tokenizer(["it", "is", "red", "."])
    >>> tok.encode("it is blue .")
    [4, 5, 1, 7]
    >>> tok.decode(tok.encode("it is red ."))
    'it is red .'
    >>> tok.pad_id, tok.unk_id, tok.sep_id, tok.eos_id, len(tok)
    (0, 1, 2, 3, 8)
    """

    def __init__(self, words: Iterable[str]) -> None:
        self.words: list[str] = list(dict.fromkeys([*SPECIAL_TOKENS, *words]))
        self._ids = {w: i for i, w in enumerate(self.words)}
        self.pad_id, self.unk_id = self._ids[PAD], self._ids[UNK]
        self.sep_id, self.eos_id = self._ids[SEP], self._ids[EOS]

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Tokenizer:
        """A tokenizer whose vocabulary is every word of ``texts``, sorted.

        Examples
        --------
        >>> Tokenizer.from_texts(["b a", "a c"]).words[4:]
        ['a', 'b', 'c']
        """
        return cls(sorted({w for t in texts for w in split_words(t)}))

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, text: str) -> list[int]:
        """Ids of the words of ``text``; unknown words get ``unk_id``."""
        return [self._ids.get(w, self.unk_id) for w in split_words(text)]

    def decode(self, ids: Iterable[int]) -> str:
        """The words of ``ids`` joined by spaces, padding left out."""
        return " ".join(self.words[i] for i in ids if i != self.pad_id)

    def encode_pairs(
        self, prompts: Sequence[str], responses: Sequence[str], max_len: int
    ) -> np.ndarray:
        """Encode ``prompt <sep> response <eos>`` rows, right-padded to the longest row.

        A row longer than ``max_len`` loses words from the start of its prompt, so the response
        is always kept whole.

        Returns
        -------
        numpy.ndarray of int64, shape (N, T) with T ≤ max_len

        Examples
        --------
        >>> tok = Tokenizer(["q", "a", "b"])
        >>> tok.encode_pairs(["q"], ["a b"], max_len=8)
        array([[4, 2, 5, 6, 3]])
        >>> tok.encode_pairs(["q q q"], ["a"], max_len=4)
        array([[4, 2, 5, 3]])
        """
        if len(prompts) != len(responses):
            raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
        encoded: dict[str, list[int]] = {}  # prompts (and answers) repeat: split each once
        rows = []
        for prompt, response in zip(prompts, responses, strict=True):
            if response not in encoded:
                encoded[response] = self.encode(response)
            tail = [self.sep_id, *encoded[response], self.eos_id]
            if len(tail) > max_len:
                raise ValueError(
                    f"response of {len(tail) - 2} words does not fit max_len={max_len}: "
                    f"{response[:60]!r}"
                )
            if prompt not in encoded:
                encoded[prompt] = self.encode(prompt)
            head = encoded[prompt]
            rows.append(head[max(0, len(head) + len(tail) - max_len) :] + tail)
        return padded(rows, self.pad_id)

    def to_json(self) -> str:
        """The vocabulary as JSON (``Tokenizer.from_json`` reads it back)."""
        return json.dumps({"words": self.words}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Tokenizer:
        """Inverse of ``to_json``."""
        return cls(json.loads(text)["words"])
