"""A small Sphinx extension for the course site: lesson boxes, lesson questions, the quiz script.

- every lesson page (``lessons/NN_name``) gets a "Run it yourself" box under its title;
- questions whose ``lesson`` field names a lesson and that its notebook does not show already are
  appended to that lesson's page, in the quiz's static form (the script makes them playable);
- every page loads the exported questions, the quiz script and the site's reading aids.

Configured by :mod:`rmcourse.site.build` through ``rmcourse_lesson_questions`` (lesson number ->
the ids of its questions).
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

from rmcourse.site.pages import run_yourself_text
from rmcourse.site.quiz_export import QUIZ_DIR

QUESTION_ID = re.compile(r"data-question-id=['\"]([^'\"]+)['\"]")
LESSON_DOC = re.compile(r"^lessons/(\d\d)_\w+$")
SCRIPTS = (f"{QUIZ_DIR}/questions.js", "rmcourse-quiz.js", "rmcourse-site.js")
STYLES = ("rmcourse-quiz.css", "rmcourse-site.css")


def _inline(text: str) -> list[nodes.Node]:
    """``text`` with its Markdown `code` spans as literal nodes."""
    parts = text.split("`")
    return [nodes.literal(p, p) if i % 2 else nodes.Text(p) for i, p in enumerate(parts) if p]


def _run_yourself(lesson: str) -> nodes.admonition:
    box = nodes.admonition(classes=["tip", "rmcourse-run-yourself"])
    box += nodes.title("Run it yourself", "Run it yourself")
    box += nodes.paragraph("", "", *_inline(run_yourself_text(lesson)))
    return box


def _shown_questions(doctree: nodes.document) -> set[str]:
    return {
        qid
        for raw in doctree.findall(nodes.raw)
        if "html" in raw.get("format", "").split()
        for qid in QUESTION_ID.findall(raw.astext())
    }


def _lesson_page(app: Sphinx, doctree: nodes.document) -> None:
    docname = app.env.docname
    match = LESSON_DOC.match(docname)
    if not match:
        return
    section = next(doctree.findall(nodes.section), None)
    if section is None:
        return
    title = next(section.findall(nodes.title))
    title.parent.insert(title.parent.index(title) + 1, _run_yourself(docname.split("/")[-1]))
    wanted = app.config.rmcourse_lesson_questions.get(match.group(1), [])
    shown = _shown_questions(doctree)
    missing = [qid for qid in wanted if qid not in shown]
    if missing:
        quiz = nodes.section(ids=["rmcourse-lesson-quiz"], names=["check yourself: quiz"])
        quiz += nodes.title("Check yourself: quiz", "Check yourself: quiz")
        quiz += nodes.raw("", _static_quiz(missing), format="html")
        section += quiz


def _static_quiz(question_ids: list[str]) -> str:
    """The quiz's static form of these questions (what a notebook shows without a kernel)."""
    from rmcourse.quiz.content import question_by_id
    from rmcourse.quiz.static import STATIC_CLASS, question_html

    forms = "\n".join(question_html(question_by_id(qid)) for qid in question_ids)
    return f"<div class='{STATIC_CLASS}'><div class='rmcourse-quiz-static'>{forms}</div></div>"


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the extension with Sphinx."""
    app.add_config_value("rmcourse_lesson_questions", {}, "env", types=frozenset({dict}))
    app.connect("doctree-read", _lesson_page)
    for style in STYLES:
        app.add_css_file(style)
    for script in SCRIPTS:
        app.add_js_file(script, defer="defer")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
