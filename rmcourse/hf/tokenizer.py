"""The course's word-level vocabulary as a Hugging Face tokenizer (tokenizers + transformers).

Same words, same ids as :class:`rmcourse.data.Tokenizer` (``<pad>`` 0, ``<unk>`` 1, ``<sep>`` 2,
``<eos>`` 3, then the words), the same splitting (lower case; words and single punctuation marks,
the regular expression of :func:`rmcourse.data.split_words`), so a row means the same thing to the
course's models and to ``transformers`` ones. Nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Regex, models, normalizers, pre_tokenizers
from tokenizers import Tokenizer as RustTokenizer
from transformers import PreTrainedTokenizerFast

from rmcourse.data import EOS, PAD, SEP, UNK, PreferenceWorld, Tokenizer

WORD_PATTERN = r"[\w']+|[^\w\s]"  # rmcourse.data.tokenizer's split_words, word for word


def course_tokenizer(
    words: Iterable[str] | None = None, pad_token: str = PAD
) -> PreTrainedTokenizerFast:
    """A ``PreTrainedTokenizerFast`` over the course's vocabulary (the colour world's by default).

    Parameters
    ----------
    words : iterable of str, optional
        The vocabulary; special tokens come first, as in :class:`rmcourse.data.Tokenizer`.
        Default: :meth:`PreferenceWorld.vocabulary`.
    pad_token : str, default ``"<pad>"``
        The padding token. ``"<eos>"`` reproduces the common set-up where padding *is* the
        end-of-sequence token (lesson 08 shows what that does to the reward read-out).

    Examples
    --------
    >>> tok = course_tokenizer()
    >>> tok("my car is red . what color is it ?it is red .<eos>")["input_ids"][-6:]
    [8, 17, 16, 35, 6, 3]
    >>> tok.pad_token_id, tok.eos_token_id, len(tok)
    (0, 3, 48)
    >>> course_tokenizer(pad_token="<eos>").pad_token_id
    3
    """
    course = Tokenizer(PreferenceWorld.vocabulary() if words is None else words)
    if pad_token not in (PAD, EOS):
        raise ValueError(f"pad_token must be {PAD!r} or {EOS!r}, got {pad_token!r}")
    rust = RustTokenizer(
        models.WordLevel({w: i for i, w in enumerate(course.words)}, unk_token=UNK)
    )
    rust.normalizer = normalizers.Lowercase()
    rust.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Split(Regex(WORD_PATTERN), behavior="isolated"),
    ])  # fmt: skip
    return PreTrainedTokenizerFast(
        tokenizer_object=rust,
        pad_token=pad_token,
        unk_token=UNK,
        eos_token=EOS,
        sep_token=SEP,
        model_max_length=64,
    )
