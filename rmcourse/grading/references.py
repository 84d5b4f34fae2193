"""The grading layer's one door to the ML code: the trusted rmcourse modules a test cell reaches
as ``_grader.reference.NAME``, and torch as ``_grader.torch`` (:mod:`rmcourse.grading.checks`).

Each is imported by an ``import`` statement of its own, which the layer test sees, and on every
access: through ``sys.modules``, so a module the guard made the kernel forget
(:mod:`rmcourse.grading.guard`) is imported afresh, unpatched.
"""

from __future__ import annotations

import types

REFERENCE_MODULES = ("np_loss", "torch_loss", "bt_fit", "data", "model", "scoring", "train")
"""The rmcourse modules a test cell may use as trusted references, by attribute name."""


def reference_module(name: str) -> types.ModuleType:
    """``rmcourse.NAME`` for a name of :data:`REFERENCE_MODULES`.

    Examples
    --------
    >>> reference_module("np_loss").__name__
    'rmcourse.np_loss'
    """
    if name == "np_loss":
        import rmcourse.np_loss as module
    elif name == "torch_loss":
        import rmcourse.torch_loss as module
    elif name == "bt_fit":
        import rmcourse.bt_fit as module
    elif name == "data":
        import rmcourse.data as module
    elif name == "model":
        import rmcourse.model as module
    elif name == "scoring":
        import rmcourse.scoring as module
    elif name == "train":
        import rmcourse.train as module
    else:
        raise ValueError(f"no reference module {name!r}; available: {REFERENCE_MODULES}")
    return module


def import_torch() -> types.ModuleType:
    """The torch module (``ModuleNotFoundError`` when it is not installed)."""
    import torch

    return torch
