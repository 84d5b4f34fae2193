"""A synthetic preference world with a hidden true reward, a word tokenizer and JSONL I/O.

The world states a fact and asks about it ("my car is red . what color is it ?") and writes
assistant answers ("thanks , maybe it is really red . have fun !") built from a few independent
parts. Each answer has a hidden true reward r*(x, y), a weighted sum of five features:

=========== ========================================================= ===================
feature     what it is                                                 reads the prompt?
=========== ========================================================= ===================
correct     the answer names the colour the prompt states              yes
polite      number of polite phrases (opener, closing)                 no
rude        a rude opener                                              no
hedge       a hedge ("maybe", "perhaps", "probably")                   no
filler      number of filler words ("really", "very", ...)             no
=========== ========================================================= ===================

Preference labels come from the Bradley-Terry model itself: of two answers y1, y2 to the same
prompt, y1 is preferred with probability σ(r*(x, y1) − r*(x, y2)). So even a perfect reward model
cannot predict every label; the best possible (Bayes) accuracy is the mean of σ(|Δ*|) over pairs.

JSONL files use the preference format of TRL's reward trainer: one object per line with string
fields ``"prompt"``, ``"chosen"`` and ``"rejected"``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rmcourse.np_loss import sigmoid

# The prompt states an object's colour; a right answer repeats that colour. Every colour is equally
# often right and wrong, so a colour word alone says nothing about correctness.
COLORS: tuple[str, ...] = ("red", "yellow", "blue", "green", "white", "black", "orange", "purple")
OBJECTS: tuple[str, ...] = ("car", "hat", "bike", "cup", "door", "lamp", "shirt", "ball")
PROMPT_TEMPLATES: tuple[str, ...] = (
    "my {obj} is {color} . what color is it ?",
    "i have a {color} {obj} . its color ?",
    "{obj} : {color} . color ?",
)
POLITE_OPENERS: tuple[str, ...] = ("thanks ,", "sure ,", "gladly ,")
RUDE_OPENERS: tuple[str, ...] = ("ugh ,", "duh ,")
HEDGES: tuple[str, ...] = ("maybe", "perhaps", "probably")
FILLERS: tuple[str, ...] = ("really", "very", "quite", "truly", "totally")
POLITE_CLOSING = "have fun !"

PAD, UNK, SEP, EOS = "<pad>", "<unk>", "<sep>", "<eos>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, UNK, SEP, EOS)
_WORD_RE = re.compile(r"[\w']+|[^\w\s]")


# --------------------------------------------------------------------------- tokenizer


def split_words(text: str) -> list[str]:
    """Lower-case ``text`` and split it into words and punctuation marks.

    Examples
    --------
    >>> split_words("What color is a Banana?")
    ['what', 'color', 'is', 'a', 'banana', '?']
    """
    return _WORD_RE.findall(text.lower())


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
        rows = []
        for prompt, response in zip(prompts, responses, strict=True):
            tail = [self.sep_id, *self.encode(response), self.eos_id]
            if len(tail) > max_len:
                raise ValueError(
                    f"response of {len(tail) - 2} words does not fit max_len={max_len}: "
                    f"{response[:60]!r}"
                )
            head = self.encode(prompt)
            rows.append(head[max(0, len(head) + len(tail) - max_len) :] + tail)
        out = np.full((len(rows), max(len(r) for r in rows)), self.pad_id, dtype=np.int64)
        for i, row in enumerate(rows):
            out[i, : len(row)] = row
        return out

    def to_json(self) -> str:
        """The vocabulary as JSON (``Tokenizer.from_json`` reads it back)."""
        return json.dumps({"words": self.words}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Tokenizer:
        """Inverse of ``to_json``."""
        return cls(json.loads(text)["words"])


# --------------------------------------------------------------------------- datasets


@dataclass
class PreferenceDataset:
    """Preference triples (prompt, chosen, rejected), with hidden true rewards when known.

    ``true_chosen`` and ``true_rejected`` are r* of each response (``None`` for a user's file).
    """

    prompts: list[str]
    chosen: list[str]
    rejected: list[str]
    true_chosen: np.ndarray | None = None
    true_rejected: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.prompts)
        if len(self.chosen) != n or len(self.rejected) != n:
            raise ValueError(
                f"prompts, chosen, rejected have lengths {n}, {len(self.chosen)}, "
                f"{len(self.rejected)}; they must be equal"
            )
        if (self.true_chosen is None) != (self.true_rejected is None):
            raise ValueError("give both true_chosen and true_rejected, or neither")
        for name in ("true_chosen", "true_rejected"):
            value = getattr(self, name)
            if value is not None and np.shape(value) != (n,):
                raise ValueError(f"{name} has shape {np.shape(value)}, expected ({n},)")

    def __len__(self) -> int:
        return len(self.prompts)

    @property
    def has_true_rewards(self) -> bool:
        """Whether the hidden true rewards are known (data from a ``PreferenceWorld``)."""
        return self.true_chosen is not None

    def subset(self, indices: Sequence[int] | np.ndarray) -> PreferenceDataset:
        """The pairs at ``indices``, in that order.

        Examples
        --------
        >>> ds = PreferenceDataset(["p", "q"], ["a", "b"], ["c", "d"])
        >>> ds.subset([1]).chosen
        ['b']
        """
        idx = np.asarray(indices, dtype=np.int64)
        pick = [int(i) for i in idx]
        return PreferenceDataset(
            [self.prompts[i] for i in pick],
            [self.chosen[i] for i in pick],
            [self.rejected[i] for i in pick],
            None if self.true_chosen is None else self.true_chosen[idx],
            None if self.true_rejected is None else self.true_rejected[idx],
        )


# --------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class WorldConfig:
    """Weights of the true reward and how often each part of an answer appears."""

    # The prompt-dependent feature weighs most: knowing the answer matters most. The scale of
    # the weights sets the label noise; these give a Bayes accuracy of about 0.8.
    w_correct: float = 2.5
    w_polite: float = 0.8  # per polite phrase (opener, closing)
    w_rude: float = -2.0
    w_hedge: float = -0.6
    w_filler: float = -0.4  # per filler word: a verbosity penalty
    p_correct: float = 0.5  # 0.5 makes every colour word equally often right and wrong
    p_polite_opener: float = 0.3
    p_rude_opener: float = 0.2
    p_hedge: float = 0.3
    p_closing: float = 0.3
    max_fillers: int = 3

    def __post_init__(self) -> None:
        for name in ("p_correct", "p_polite_opener", "p_rude_opener", "p_hedge", "p_closing"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
        if self.p_polite_opener + self.p_rude_opener > 1.0:
            raise ValueError(
                "p_polite_opener + p_rude_opener must be at most 1, got "
                f"{self.p_polite_opener + self.p_rude_opener}"
            )
        if self.max_fillers < 0:
            raise ValueError(f"max_fillers must be >= 0, got {self.max_fillers}")


@dataclass(frozen=True)
class Features:
    """The parts of an answer that the true reward weighs."""

    correct: bool
    polite: int
    rude: bool
    hedge: bool
    filler: int


@dataclass
class PreferenceWorld:
    """Colour questions, answers and a hidden true reward r*(x, y); labels drawn by Bradley-Terry.

    Parameters
    ----------
    seed : int
        Seed of the world; every sample is drawn from ``(seed, sample seed)``.
    config : WorldConfig
        Reward weights and answer-part frequencies.

    Examples
    --------
    >>> world = PreferenceWorld(seed=0)
    >>> world.true_reward("my car is red . what color is it ?", "it is red .")
    2.5
    >>> world.true_reward("my car is red . what color is it ?", "ugh , it is really blue .")
    -2.4
    >>> ds = world.sample(3, seed=1)
    >>> len(ds), ds.true_chosen.shape
    (3, (3,))
    """

    seed: int = 0
    config: WorldConfig = field(default_factory=WorldConfig)

    @staticmethod
    def vocabulary() -> list[str]:
        """Every word the world can write, in a fixed order."""
        texts = [
            *PROMPT_TEMPLATES, *POLITE_OPENERS, *RUDE_OPENERS, *HEDGES, POLITE_CLOSING, "it is .",
        ]  # fmt: skip
        words = {w for t in texts for w in split_words(t.format(obj="", color=""))}
        return sorted(words) + list(OBJECTS) + list(COLORS) + list(FILLERS)

    def tokenizer(self) -> Tokenizer:
        """A tokenizer for the world's vocabulary."""
        return Tokenizer(self.vocabulary())

    # ----- reading answers

    @staticmethod
    def features(prompt: str, response: str) -> Features:
        """Parse the reward features of ``response`` to ``prompt``.

        Raises ``ValueError`` when the prompt does not state exactly one colour.
        """
        stated = [w for w in split_words(prompt) if w in COLORS]
        if len(stated) != 1:
            raise ValueError(f"prompt must state exactly one colour, got {prompt!r}")
        words = split_words(response)
        text = " ".join(words)
        return Features(
            correct=[w for w in words if w in COLORS] == stated,
            polite=sum(text.startswith(o) for o in POLITE_OPENERS) + text.endswith(POLITE_CLOSING),
            rude=any(text.startswith(o) for o in RUDE_OPENERS),
            hedge=any(h in words for h in HEDGES),
            filler=sum(w in FILLERS for w in words),
        )

    def reward_of(self, f: Features) -> float:
        """r* from parsed features: the weighted sum of the table above."""
        c = self.config
        r = (
            c.w_correct * f.correct
            + c.w_polite * f.polite
            + c.w_rude * f.rude
            + c.w_hedge * f.hedge
            + c.w_filler * f.filler
        )
        return round(float(r), 10)  # exact sums of the weights; no 1e-16 noise in printed tables

    def true_reward(self, prompt: str, response: str) -> float:
        """The hidden true reward r*(x, y) of ``response`` to ``prompt``."""
        return self.reward_of(self.features(prompt, response))

    def response_only_reward(self, response: str) -> float:
        """The true reward expected from the response alone, E[r* | response].

        Every colour is stated equally often and named by an answer equally often, so whatever
        colour the response names, P(correct | response) = ``p_correct``.
        """
        f = self.features(f"it is {COLORS[0]} .", response)
        expected = Features(False, f.polite, f.rude, f.hedge, f.filler)
        return self.reward_of(expected) + self.config.w_correct * self.config.p_correct

    # ----- writing answers

    def _prompt(self, rng: np.random.Generator) -> tuple[str, str]:
        obj = OBJECTS[rng.integers(len(OBJECTS))]
        color = COLORS[rng.integers(len(COLORS))]
        template = PROMPT_TEMPLATES[rng.integers(len(PROMPT_TEMPLATES))]
        return color, template.format(obj=obj, color=color)

    def _response(self, right: str, rng: np.random.Generator) -> tuple[str, Features]:
        c = self.config
        parts = []
        u = rng.random()
        polite, rude = int(u < c.p_polite_opener), u >= c.p_polite_opener
        if polite:
            parts.append(POLITE_OPENERS[rng.integers(len(POLITE_OPENERS))])
        elif u < c.p_polite_opener + c.p_rude_opener:
            parts.append(RUDE_OPENERS[rng.integers(len(RUDE_OPENERS))])
        else:
            rude = False
        hedge = rng.random() < c.p_hedge
        if hedge:
            parts.append(HEDGES[rng.integers(len(HEDGES))])
        if rng.random() < c.p_correct:
            color = right
        else:
            wrong = [col for col in COLORS if col != right]
            color = wrong[rng.integers(len(wrong))]
        n_fillers = rng.integers(c.max_fillers + 1)
        fillers = [FILLERS[i] for i in rng.integers(len(FILLERS), size=n_fillers)]
        parts.append(" ".join(["it is", *fillers, color, "."]))
        if rng.random() < c.p_closing:
            parts.append(POLITE_CLOSING)
            polite += 1
        features = Features(color == right, polite, bool(rude), bool(hedge), int(n_fillers))
        return " ".join(parts), features

    def sample(self, n_pairs: int, seed: int = 0) -> PreferenceDataset:
        """Draw ``n_pairs`` prompts, two different answers each, and a Bradley-Terry label.

        The first answer y1 is chosen with probability σ(r*(x, y1) − r*(x, y2)).
        """
        if not isinstance(n_pairs, (int, np.integer)) or n_pairs < 1:
            raise ValueError(f"n_pairs must be a positive integer, got {n_pairs!r}")
        rng = np.random.default_rng([self.seed, seed])
        prompts, chosen, rejected, r_chosen, r_rejected = [], [], [], [], []
        for _ in range(n_pairs):
            right, prompt = self._prompt(rng)
            y1, f1 = self._response(right, rng)
            y2, f2 = self._response(right, rng)
            while y2 == y1:  # a pair of identical answers teaches nothing
                y2, f2 = self._response(right, rng)
            r1, r2 = self.reward_of(f1), self.reward_of(f2)
            if rng.random() < sigmoid(np.float64(r1 - r2)):
                c, r, rc, rr = y1, y2, r1, r2
            else:
                c, r, rc, rr = y2, y1, r2, r1
            prompts.append(prompt)
            chosen.append(c)
            rejected.append(r)
            r_chosen.append(rc)
            r_rejected.append(rr)
        return PreferenceDataset(
            prompts, chosen, rejected, np.array(r_chosen), np.array(r_rejected)
        )

    def splits(
        self, n_train: int, n_val: int, n_test: int, seed: int = 0
    ) -> tuple[PreferenceDataset, PreferenceDataset, PreferenceDataset]:
        """Train, validation and test sets drawn from three disjoint random streams."""
        return (
            self.sample(n_train, seed=3 * seed),
            self.sample(n_val, seed=3 * seed + 1),
            self.sample(n_test, seed=3 * seed + 2),
        )

    @staticmethod
    def bayes_accuracy(dataset: PreferenceDataset) -> float:
        """The best expected label accuracy of any reward model: mean σ(|Δ*|) over pairs.

        Ordering each pair by r* is right with probability σ(|Δ*|) under Bradley-Terry labels.
        """
        if not dataset.has_true_rewards:
            raise ValueError("dataset has no true rewards (loaded from a file?)")
        delta = dataset.true_chosen - dataset.true_rejected
        return float(np.mean(sigmoid(np.abs(delta))))


# --------------------------------------------------------------------------- JSONL


def save_jsonl(dataset: PreferenceDataset, path: str | os.PathLike) -> None:
    """Write ``{"prompt", "chosen", "rejected"}`` lines atomically (temporary file, then rename).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> ds = PreferenceDataset(["what color is a sky ?"], ["it is blue ."], ["it is red ."])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "prefs.jsonl"
    >>> save_jsonl(ds, path)
    >>> load_jsonl(path).chosen
    ['it is blue .']
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for p, c, r in zip(dataset.prompts, dataset.chosen, dataset.rejected, strict=True):
                f.write(json.dumps({"prompt": p, "chosen": c, "rejected": r}) + "\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load_jsonl(path: str | os.PathLike) -> PreferenceDataset:
    """Read a preference file; every line must be a valid object (blank lines are allowed).

    Raises
    ------
    ValueError
        Naming the file, the line number and the problem: bad JSON, not an object, a missing
        or non-string field, an empty prompt or response, or no pairs at all.
    """
    path = Path(path)
    prompts, chosen, rejected = [], [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}, line {lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{where}: expected a JSON object, got {type(obj).__name__}")
            for key in ("prompt", "chosen", "rejected"):
                if key not in obj:
                    raise ValueError(f"{where}: missing field {key!r}")
                if not isinstance(obj[key], str):
                    raise ValueError(
                        f"{where}: field {key!r} must be a string, got {type(obj[key]).__name__}"
                    )
                if not obj[key].strip():
                    raise ValueError(f"{where}: field {key!r} is empty")
            prompts.append(obj["prompt"])
            chosen.append(obj["chosen"])
            rejected.append(obj["rejected"])
    if not prompts:
        raise ValueError(f"{path}: no preference pairs in the file")
    return PreferenceDataset(prompts, chosen, rejected)
