"""The bridge from the course to Hugging Face ``transformers`` and TRL (lesson 08; extra ``[hf]``).

- :mod:`rmcourse.hf.data` — the colour world as a ``datasets.Dataset`` in TRL's preference format
- :mod:`rmcourse.hf.tokenizer` — the course's word-level vocabulary as a ``PreTrainedTokenizerFast``
- :mod:`rmcourse.hf.model` — tiny Llama-style models built from a config (nothing downloaded)
- :mod:`rmcourse.hf.trainers` — TRL's ``RewardTrainer`` / ``DPOTrainer`` set up for a CPU, and
  the course's evaluation of what they trained
- :mod:`rmcourse.hf.command` — ``rmcourse hf-train``, also under ``torchrun`` and
  ``accelerate launch``

Nothing below this package imports it, and importing it changes nothing global. Call
:func:`go_offline` before the Hugging Face libraries are imported (lesson 08's first cell and
``rmcourse hf-train`` do): it switches them to offline mode (no hub access, no telemetry).
"""

from __future__ import annotations

import os
import sys

OFFLINE_ENV: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",  # huggingface_hub: never reach the hub
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DISABLE_TELEMETRY": "1",
    "WANDB_DISABLED": "true",  # and report_to="none" in every config we build
    "TOKENIZERS_PARALLELISM": "false",  # no fork warnings from the Rust tokenizer
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",  # a few seconds of mapping: no bars in the lesson
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}

# They read most of the variables once, when they are imported.
HF_LIBRARIES = ("huggingface_hub", "transformers", "datasets", "trl", "accelerate")


def go_offline() -> dict[str, str]:
    """Set the variables of :data:`OFFLINE_ENV` in ``os.environ``, each unless the caller has set
    it already; returns those it set (child processes inherit them).

    Raises
    ------
    RuntimeError
        A variable is still to be set but a Hugging Face library is already imported: it has read
        the variables, and would go on as if online. Call this first.
    """
    missing = {name: value for name, value in OFFLINE_ENV.items() if name not in os.environ}
    loaded = [name for name in HF_LIBRARIES if name in sys.modules]
    if missing and loaded:
        raise RuntimeError(
            f"rmcourse.hf.go_offline() came after {', '.join(loaded)} was imported, which read the"
            f" environment without {', '.join(missing)}: call it before importing them"
        )
    os.environ.update(missing)
    return missing
