"""The quiz of lesson 05: questions as data (JSON + schema), answered with ipywidgets.

Load and check questions with :func:`load_questions` and :func:`check`; display them with
:func:`show` (the whole quiz, one scenario or one question) and explore the loss of one pair
with :func:`explorer`. One module a job:

- :mod:`~rmcourse.quiz.content` -- load, validate and select questions (``questions.json``);
- :mod:`~rmcourse.quiz.numbers` -- a question's numbers: computed, filled in, checked;
- :mod:`~rmcourse.quiz.answers` -- check an answer;
- :mod:`~rmcourse.quiz.static` -- HTML and text forms, without a kernel (no ipywidgets);
- :mod:`~rmcourse.quiz.figures` -- the figures, as PNG;
- :mod:`~rmcourse.quiz.widgets` -- the live widgets, the score and :func:`show`;
- :mod:`~rmcourse.quiz.loss_explorer` -- the loss explorer.

The lessons' "your turn" tasks are content as data too, in their own package, :mod:`rmcourse.tasks`.

Examples
--------
>>> from rmcourse import quiz
>>> feedback = quiz.check("q01", "a")
>>> feedback.correct
True
"""

from typing import Any

from rmcourse.quiz.answers import check
from rmcourse.quiz.content import SCENARIOS, Feedback, Option, Question, load_questions


def __getattr__(name: str) -> Any:
    """The widget names import ipywidgets on first use, so the static forms work without it."""
    if name in ("Explorer", "explorer"):
        from rmcourse.quiz import loss_explorer

        return getattr(loss_explorer, name)
    if name in ("QuizView", "Score", "show"):
        from rmcourse.quiz import widgets

        return getattr(widgets, name)
    raise AttributeError(f"module 'rmcourse.quiz' has no attribute {name!r}")


__all__ = [
    "SCENARIOS",
    "Explorer",
    "Feedback",
    "Option",
    "Question",
    "QuizView",
    "Score",
    "check",
    "explorer",
    "load_questions",
    "show",
]
