"""rmcourse: a course on the pair-wise ranking (Bradley-Terry) loss of RLHF reward models.

The package is built up by the lessons in ``notebooks/`` and then imported by them. Its layers,
lowest first; a module imports only from its own layer or lower ones, no two modules import each
other, not even for type hints (``tests/test_layers.py`` checks both), and the modules of lessons
01-02 never import torch:

0. :mod:`rmcourse.validate`, :mod:`rmcourse.fileio` -- number checks, atomic file writes;
1. :mod:`rmcourse.np_loss` -- the loss, its gradient and the K-wise loss in NumPy;
   :mod:`rmcourse.metrics` -- a reward model against the truth (NumPy);
2. :mod:`rmcourse.torch_loss` -- the same loss in PyTorch, and DPO's; :mod:`rmcourse.tensor_checks`
   -- the checks of its arguments; :mod:`rmcourse.bt_fit` -- tabular Bradley-Terry fit;
   :mod:`rmcourse.device` -- where tensors live;
3. :mod:`rmcourse.data` -- the preference world, tokenizer, dataset, JSONL files;
   :mod:`rmcourse.transformer` -- the transformer stack under both heads:
   :mod:`rmcourse.model` -- reward models, and :mod:`rmcourse.policy` -- a tiny language model;
4. :mod:`rmcourse.loop` -- the one training loop, for every objective;
   :mod:`rmcourse.scoring`, :mod:`rmcourse.train`, :mod:`rmcourse.checkpoint` -- scoring, the
   reward model's objective and evaluation, checkpoints;
   :mod:`rmcourse.bon` -- best-of-n; :mod:`rmcourse.plots` -- figures;
   :mod:`rmcourse.policy_train` -- SFT and DPO of the tiny language model;
5. content as data: :mod:`rmcourse.quiz` -- quiz content, static pages, figures, widgets;
   :mod:`rmcourse.tasks` -- the lessons' your-turn tasks and their one ``check``;
6. :mod:`rmcourse.grading` -- exercises and the autograder; :mod:`rmcourse.notebooks` -- running
   lessons;
7. :mod:`rmcourse.hf` -- the optional bridge to TRL and more than one process;
   :mod:`rmcourse.site` -- the course as a static site;
8. :mod:`rmcourse.cli` -- the ``rmcourse`` command; :mod:`rmcourse.doctor` -- the install report.

Importing ``rmcourse`` itself imports nothing heavy; it puts on ``sys.meta_path`` the finder of
:mod:`rmcourse.imports` (layer 0), which spares jsonschema's first import 3.4 s.
"""

from rmcourse import imports as _imports

_imports.install()

__version__ = "0.1.0"

LAYERS: dict[str, int] = {
    "validate": 0, "fileio": 0, "imports": 0,
    "np_loss": 1, "metrics": 1,
    "torch_loss": 2, "tensor_checks": 2, "bt_fit": 2, "device": 2,
    "data": 3, "transformer": 3, "model": 3, "policy": 3,
    "loop": 4, "scoring": 4, "train": 4, "checkpoint": 4, "bon": 4, "plots": 4, "policy_train": 4,
    "quiz": 5, "tasks": 5,
    "grading": 6, "notebooks": 6,
    "hf": 7, "site": 7,
    "cli": 8, "__main__": 8, "doctor": 8,
}  # fmt: skip
"""The layer of each top-level module or package of rmcourse (see above)."""

TORCH_FREE: tuple[str, ...] = ("validate", "fileio", "np_loss", "metrics", "bt_fit", "tasks")
"""The modules lessons 01-02 use: they work without torch installed."""
