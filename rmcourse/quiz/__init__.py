"""The quiz of lesson 05: questions as data (JSON + schema), answered with ipywidgets.

Load and check questions with :func:`load_questions` and :func:`check`; display them with
:func:`show` (the whole quiz, one scenario or one question) and explore the loss of one pair
with :func:`explorer`.

Examples
--------
>>> from rmcourse import quiz
>>> feedback = quiz.check("least-loss-seed", "a")
>>> feedback.correct
True
"""

from rmcourse.quiz.content import (
    SCENARIOS,
    Feedback,
    Option,
    Question,
    check,
    load_questions,
)
from rmcourse.quiz.render import Explorer, QuizView, Score, explorer, show

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
