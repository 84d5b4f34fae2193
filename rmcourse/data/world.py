"""A synthetic preference world with a hidden true reward r*(x, y) and Bradley-Terry labels.

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
Annotators may carry a known verbosity bias b: they prefer y1 with probability
σ(Δ* + b·(len(y1) − len(y2))), the length counted in words (lesson 06).

The answer sampler is the reference policy π_ref of best-of-n (lesson 06):
:meth:`PreferenceWorld.sample_responses` draws n answers per prompt from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rmcourse.data.dataset import PreferenceDataset
from rmcourse.data.tokenizer import Tokenizer, split_words
from rmcourse.np_loss import sigmoid
from rmcourse.validate import finite_number, positive_int

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


_WRONG_COLORS = {right: [col for col in COLORS if col != right] for right in COLORS}


def stated_colours(prompts: Sequence[str]) -> list[str]:
    """The colour each prompt states (a right answer repeats it); a clear error for a prompt that
    states none or several, or for a single string given as the list.

    >>> stated_colours(["my car is red . what color is it ?", "hat : blue . color ?"])
    ['red', 'blue']
    """
    if isinstance(prompts, str) or len(prompts) == 0:
        raise ValueError(f"prompts must be a non-empty list of prompts, got {prompts!r}")
    rights = []
    for prompt in prompts:
        stated = [w for w in split_words(prompt) if w in COLORS]
        if len(stated) != 1:
            raise ValueError(f"prompt must state exactly one colour, got {prompt!r}")
        rights.append(stated[0])
    return rights


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
            wrong = _WRONG_COLORS[right]
            color = wrong[rng.integers(len(wrong))]
        n_fillers = int(rng.integers(c.max_fillers + 1))
        # one draw per filler: the numbers ``integers(5, size=n_fillers)`` draws, at less cost
        fillers = [FILLERS[rng.integers(len(FILLERS))] for _ in range(n_fillers)]
        parts.append(" ".join(["it is", *fillers, color, "."]))
        if rng.random() < c.p_closing:
            parts.append(POLITE_CLOSING)
            polite += 1
        features = Features(color == right, polite, bool(rude), bool(hedge), int(n_fillers))
        return " ".join(parts), features

    def sample(self, n_pairs: int, seed: int = 0, length_bias: float = 0.0) -> PreferenceDataset:
        """Draw ``n_pairs`` prompts, two different answers each, and a Bradley-Terry label.

        The first answer y1 is chosen with probability σ(r*(x, y1) − r*(x, y2) + b·(len(y1) −
        len(y2))), ``b = length_bias`` and len in words (:meth:`response_length`): annotators
        with b > 0 prefer longer answers beyond what r* says (Singhal et al. 2023 measured such a
        length preference in real preference data). ``true_chosen`` / ``true_rejected`` stay
        r*. With ``length_bias=0`` the samples are those of the unbiased world, bit for bit.
        """
        positive_int(n_pairs, "n_pairs")
        finite_number(length_bias, "length_bias")
        rng = np.random.default_rng([self.seed, seed])
        prompts, chosen, rejected, r_chosen, r_rejected = [], [], [], [], []
        p_first: dict[float, float] = {}  # σ(logit) of each logit met: few distinct values
        for _ in range(n_pairs):
            right, prompt = self._prompt(rng)
            y1, f1 = self._response(right, rng)
            y2, f2 = self._response(right, rng)
            while y2 == y1:  # a pair of identical answers teaches nothing
                y2, f2 = self._response(right, rng)
            r1, r2 = self.reward_of(f1), self.reward_of(f2)
            logit = r1 - r2
            if length_bias:
                logit += length_bias * (self.response_length(y1) - self.response_length(y2))
            if logit not in p_first:
                p_first[logit] = sigmoid(np.float64(logit))
            if rng.random() < p_first[logit]:
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

    def sample_responses(self, prompts: Sequence[str], n: int, seed: int = 0) -> list[list[str]]:
        """``n`` answers to each prompt from the reference policy π_ref, the world's sampler.

        Answers are drawn independently (repeats allowed), seeded by ``(world seed, seed)``.

        Examples
        --------
        >>> world = PreferenceWorld(seed=0)
        >>> answers = world.sample_responses(["my car is red . what color is it ?"], 3, seed=0)
        >>> len(answers), len(answers[0])
        (1, 3)
        """
        positive_int(n, "n")
        rights = stated_colours(prompts)
        rng = np.random.default_rng([self.seed, seed])
        return [self._responses(right, n, rng) for right in rights]

    def _responses(self, right: str, n: int, rng: np.random.Generator) -> list[str]:
        """``n`` answers drawn as :meth:`_response` draws one, all parts at once (fast pools)."""
        c = self.config

        def pick(words: Sequence[str], keep: np.ndarray) -> np.ndarray:  # a word, or "" (not kept)
            return np.where(keep, np.array(words)[rng.integers(len(words), size=n)], "")

        u = rng.random(n)
        polite = pick(POLITE_OPENERS, u < c.p_polite_opener)
        rude = pick(RUDE_OPENERS, u < c.p_polite_opener + c.p_rude_opener)
        openers = np.where(polite != "", polite, rude)
        hedges = pick(HEDGES, rng.random(n) < c.p_hedge)
        wrong = pick([col for col in COLORS if col != right], rng.random(n) >= c.p_correct)
        colors = np.where(wrong != "", wrong, right)
        n_fillers = rng.integers(c.max_fillers + 1, size=n)
        fillers = np.array(FILLERS)[rng.integers(len(FILLERS), size=(n, c.max_fillers))]
        closings = np.where(rng.random(n) < c.p_closing, POLITE_CLOSING, "")
        parts = zip(openers.tolist(), hedges.tolist(), colors.tolist(), fillers.tolist(),
                    n_fillers.tolist(), closings.tolist(), strict=True)  # fmt: skip
        return [" ".join(filter(None, (o, h, " ".join(["it is", *f[:k], col, "."]), cl)))
                for o, h, col, f, k, cl in parts]  # fmt: skip

    def true_rewards(
        self, prompts: Sequence[str], candidates: Sequence[Sequence[str]]
    ) -> np.ndarray:
        """r* of every answer in ``candidates[p]`` to ``prompts[p]``, float64 (P, N).

        Examples
        --------
        >>> world = PreferenceWorld()
        >>> world.true_rewards(["car : red . color ?"], [["it is red .", "it is blue ."]])
        array([[2.5, 0. ]])
        """
        if len(prompts) != len(candidates) or any(len(r) != len(candidates[0]) for r in candidates):
            raise ValueError("need one row of candidates per prompt, all rows of one length")
        memo: dict[tuple[str, str], float] = {}  # pools repeat answers; parse each once
        for x, row in zip(prompts, candidates, strict=True):
            for y in row:
                if (x, y) not in memo:
                    memo[x, y] = self.true_reward(x, y)
        rows = zip(prompts, candidates, strict=True)
        return np.array([[memo[x, y] for y in row] for x, row in rows])

    @staticmethod
    def response_length(response: str) -> int:
        """Length of ``response`` in words, punctuation marks included (what the tokenizer sees).

        Examples
        --------
        >>> PreferenceWorld.response_length("thanks , it is red . have fun !")
        9
        """
        return len(split_words(response))

    def splits(
        self, n_train: int, n_val: int, n_test: int, seed: int = 0
    ) -> tuple[PreferenceDataset, PreferenceDataset, PreferenceDataset]:
        """Train, validation and test sets drawn from three disjoint random streams."""
        return (
            self.sample(n_train, seed=3 * seed),
            self.sample(n_val, seed=3 * seed + 1),
            self.sample(n_test, seed=3 * seed + 2),
        )
