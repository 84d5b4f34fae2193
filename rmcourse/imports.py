"""jsonschema without its IRI grammar: it starts in 0.1 s, not 3.5 s.

nbformat (every notebook the grader reads, every lesson the CLI runs) and the quiz's question
check import ``jsonschema``. Where JupyterLab is installed, so is jsonschema's optional
``format-nongpl`` extra, and with it ``rfc3987_syntax``, whose import builds an Earley parser for
each term of the IRI grammar: 3.4 s of CPU on the course's 2-core reference machine, paid again
by every grading worker and every pytest process. jsonschema only uses it to check strings
declared ``"format": "iri"``, which neither the notebook schema nor the quiz's schema declares.

Importing this module (or ``rmcourse``) changes nothing. Two explicit calls do:

- :func:`skip_iri_grammar`, for a process's entry point (the ``rmcourse`` command, a grading
  worker, pytest through :func:`pytest_addhooks`): before anything imports jsonschema, it puts on
  ``sys.meta_path`` a finder that answers the one import of ``rfc3987_syntax`` that jsonschema
  makes while it is first imported with ``ImportError`` -- the state of a machine without the
  extra, which jsonschema handles by not registering the ``iri`` checker -- and then removes
  itself. ``rfc3987_syntax`` stays importable by anyone else.
- :func:`import_jsonschema`, for library code that needs jsonschema (the quiz's check of its
  questions): the same, for the length of that one import.

``tests/test_imports.py`` checks all of it in fresh interpreters.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

GRAMMAR = "rfc3987_syntax"
IMPORTER = "jsonschema._format"


class SkipIriGrammar(MetaPathFinder):
    """Refuses ``rfc3987_syntax`` to jsonschema's format module, once; see the module text."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != GRAMMAR:
            return None
        importer = sys.modules.get(IMPORTER)
        if not getattr(getattr(importer, "__spec__", None), "_initializing", False):
            return None  # someone else asks for it: theirs to have
        self.remove()
        raise ImportError(f"{GRAMMAR} is not loaded for jsonschema (see rmcourse.imports)")

    def remove(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)


def skip_iri_grammar() -> SkipIriGrammar | None:
    """Put :class:`SkipIriGrammar` first on ``sys.meta_path``, where it stays until jsonschema's
    first import; returns it, or None where jsonschema or the grammar is already imported (or
    the finder is already there)."""
    if "jsonschema" in sys.modules or GRAMMAR in sys.modules:
        return None
    if any(isinstance(finder, SkipIriGrammar) for finder in sys.meta_path):
        return None
    finder = SkipIriGrammar()
    sys.meta_path.insert(0, finder)
    return finder


def import_jsonschema() -> ModuleType:
    """``import jsonschema``, without the IRI grammar if this is jsonschema's first import;
    leaves ``sys.meta_path`` as it found it."""
    finder = skip_iri_grammar()
    try:
        import jsonschema
    finally:
        if finder is not None:
            finder.remove()
    return jsonschema


def pytest_addhooks(pluginmanager: object) -> None:
    """pytest calls it when it registers this module as a plugin (``-p rmcourse.imports`` in
    pyproject.toml's ``addopts``), before it loads the installed plugins (nbval imports nbformat)
    and the conftest files: every pytest process, xdist's workers too, skips the grammar."""
    skip_iri_grammar()
