"""The data: a tokenizer, the dataset type, the preference world and JSONL files, a module each.

- :mod:`rmcourse.data.tokenizer` — word-level tokenizer (``Tokenizer``, ``split_words``)
- :mod:`rmcourse.data.dataset` — preference triples with hidden true rewards (``PreferenceDataset``,
  ``split_pairs``)
- :mod:`rmcourse.data.world` — the colour world with its true reward r* (``PreferenceWorld``)
- :mod:`rmcourse.data.jsonl` — ``{"prompt", "chosen", "rejected"}`` files (``save_jsonl``,
  ``load_jsonl``)
- :mod:`rmcourse.data.measured` — benchmark results that ship with the course (``load_measured``)

The names below are the package's public API; import them from ``rmcourse.data``.
"""

from rmcourse.data.dataset import PreferenceDataset, split_pairs
from rmcourse.data.jsonl import load_jsonl, save_jsonl
from rmcourse.data.measured import load_measured
from rmcourse.data.tokenizer import EOS, PAD, SEP, SPECIAL_TOKENS, UNK, Tokenizer, split_words
from rmcourse.data.world import (
    COLORS,
    FILLERS,
    HEDGES,
    OBJECTS,
    POLITE_CLOSING,
    POLITE_OPENERS,
    PROMPT_TEMPLATES,
    RUDE_OPENERS,
    Features,
    PreferenceWorld,
    WorldConfig,
)

__all__ = [
    "COLORS", "EOS", "FILLERS", "HEDGES", "OBJECTS", "PAD", "POLITE_CLOSING", "POLITE_OPENERS",
    "PROMPT_TEMPLATES", "RUDE_OPENERS", "SEP", "SPECIAL_TOKENS", "UNK", "Features",
    "PreferenceDataset", "PreferenceWorld", "Tokenizer", "WorldConfig", "load_jsonl",
    "load_measured", "save_jsonl",
    "split_pairs", "split_words",
]  # fmt: skip
