"""rmcourse: a course on the pair-wise ranking (Bradley-Terry) loss of RLHF reward models.

The package is built up by the lessons in ``notebooks/`` and then imported by them. Its layers,
lowest first; a module imports only from its own layer or lower ones, no two modules import each
other, not even for type hints (``tests/test_layers.py`` checks both), and the modules of lessons
01-02 never import torch:

1. NumPy only: :mod:`rmcourse.np_loss` -- the loss, its gradient and the K-wise loss;
   :mod:`rmcourse.metrics` -- a reward model against the truth; small helpers:
   :mod:`rmcourse.validate`, :mod:`rmcourse.fileio`, :mod:`rmcourse.imports` -- number checks,
   atomic file writes, jsonschema without its IRI grammar;
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
   :mod:`rmcourse.optimum` -- the optimum π*_β of the KL-regularised objective, computed;
   :mod:`rmcourse.rl` -- RL of it against a reward model (RLOO, GRPO, KL estimators);
5. content as data: :mod:`rmcourse.quiz` -- quiz content, static pages, figures, widgets;
   :mod:`rmcourse.tasks` -- the lessons' your-turn tasks and their one ``check``;
6. :mod:`rmcourse.grading` -- exercises and the autograder; :mod:`rmcourse.notebooks` -- running
   lessons; :mod:`rmcourse.takehome` -- the lessons and exercises written out (``rmcourse init``);
7. :mod:`rmcourse.hf` -- the optional bridge to TRL and more than one process;
8. :mod:`rmcourse.site` -- the course as a static site; :mod:`rmcourse.cli` -- the ``rmcourse``
   command; :mod:`rmcourse.doctor` -- the install report.

Within :mod:`rmcourse.grading`, :mod:`rmcourse.quiz` and :mod:`rmcourse.tasks` the same rule holds
between their modules, by the tiers of :data:`SUBLAYERS` (a package's ``__init__`` sits above
them all).
Library code imports rmcourse modules by name, in ``import`` statements, never by a string
(``importlib.import_module``, ``__import__``), so that the layer test sees every import.

Importing ``rmcourse``, or any of its modules, changes nothing global: no import hook, no
environment variable. The entry points that want it call :func:`rmcourse.imports.skip_iri_grammar`
(jsonschema without its 3.4 s IRI grammar) and :func:`rmcourse.hf.go_offline` themselves.
"""

__version__ = "0.1.0"

LAYERS: dict[str, int] = {
    "np_loss": 1, "metrics": 1, "validate": 1, "fileio": 1, "imports": 1,
    "torch_loss": 2, "tensor_checks": 2, "bt_fit": 2, "device": 2,
    "data": 3, "transformer": 3, "model": 3, "policy": 3,
    "loop": 4, "scoring": 4, "train": 4, "checkpoint": 4, "bon": 4, "plots": 4, "policy_train": 4,
    "optimum": 4,
    "rl": 4,
    "quiz": 5, "tasks": 5,
    "grading": 6, "notebooks": 6, "takehome": 6,
    "hf": 7,
    "site": 8, "cli": 8, "__main__": 8, "doctor": 8,
}  # fmt: skip
"""The layer of each top-level module or package of rmcourse (see above)."""

TORCH_FREE: tuple[str, ...] = ("validate", "fileio", "np_loss", "metrics", "bt_fit", "tasks")
"""The modules lessons 01-02 use: they work without torch installed."""

SUBLAYERS: dict[str, dict[str, int]] = {
    "grading": {
        # the kernel's box and its manager, the trusted references, reading Python and
        # notebooks, result records
        "box": 1, "origin": 1, "pycode": 1, "references": 1, "results": 1, "source": 1,
        "worker": 1, "kernel": 1,
        "checks": 2,  # the _grader namespace, over the references
        # running cells, the kernel's guard, a student's work, the gradebook
        "execute": 2, "guard": 2, "submission": 2, "gradebook": 2,
        # from a submission to its score
        "feedback": 3, "anticopy": 3, "plan": 3, "verdict": 3,
        "grade": 4, "generate": 4,  # one submission graded; exercises made
        "command": 5,  # ``rmcourse grade``: a folder, in worker processes
    },
    "quiz": {
        "content": 1, "numbers": 1,  # questions as data, their numbers
        "answers": 2, "figures": 2, "static": 2,  # no ipywidgets
        "widgets": 3, "loss_explorer": 3,  # the live widgets (ipywidgets)
    },
    "tasks": {
        "formulas": 1, "kinds": 1,  # the judges
        "functions": 2,  # the functions a code task probes
        "content": 3,  # the lessons' task files, checked against their schema
    },
}  # fmt: skip
"""The tier of each module inside a package of :data:`LAYERS`: a module imports only modules of
its own tier or lower ones of its package (``tests/test_layers.py`` checks it)."""
