"""The bridge from the course to Hugging Face ``transformers`` and TRL (lesson 08; extra ``[hf]``).

- :mod:`rmcourse.hf.data` — the colour world as a ``datasets.Dataset`` in TRL's preference format
- :mod:`rmcourse.hf.tokenizer` — the course's word-level vocabulary as a ``PreTrainedTokenizerFast``
- :mod:`rmcourse.hf.model` — tiny Llama-style models built from a config (nothing downloaded)
- :mod:`rmcourse.hf.trainers` — TRL's ``RewardTrainer`` / ``DPOTrainer`` set up for a CPU, and
  the course's evaluation of what they trained
- :mod:`rmcourse.hf.command` — ``rmcourse hf-train``, also under ``torchrun`` and
  ``accelerate launch``

Nothing below this package imports it. Importing it switches the Hugging Face libraries to
offline mode (no hub access, no telemetry) unless the caller has set those variables already.
"""

from __future__ import annotations

import os

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
for _name, _value in OFFLINE_ENV.items():
    os.environ.setdefault(_name, _value)
