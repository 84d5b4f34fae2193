"""What a process of ``rmcourse grade``'s pool does first, before it imports the grader.

The pool starts its workers by ``spawn``: each is a fresh interpreter that imports this module
to run :func:`start`, and only then the grader (nbformat, hence jsonschema) with the first
submission it is handed. So this module imports nothing of the grader's.
"""

from __future__ import annotations

import signal

from rmcourse.imports import skip_iri_grammar


def _quit_on_terminate(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # unwinds grading: its kernel is shut down


def start() -> None:
    """Import jsonschema without its IRI grammar (3.4 s, see :mod:`rmcourse.imports`); leave
    Ctrl-C to the parent, which ends the worker with SIGTERM."""
    skip_iri_grammar()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _quit_on_terminate)
