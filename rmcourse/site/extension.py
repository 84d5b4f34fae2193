"""A small Sphinx extension for the course site: lesson boxes, lesson questions, the quiz script.

- every lesson page (``lessons/NN_name``) gets a "Run it yourself" box under its title: the course
  wheel and the commands, the exercise that practises the lesson, the way from a checkout;
- questions whose ``lesson`` field names a lesson and that its notebook does not show already are
  appended to that lesson's page, in the quiz's static form (the script makes them playable);
- the output of every ``your-turn`` cell that calls ``tasks.check("NN-k", ...)`` becomes the
  task's static form (``data-task-id``), which the tasks script makes playable;
- every page loads the exported questions and tasks, their scripts and the site's reading aids.

Configured by :mod:`rmcourse.site.build` through ``rmcourse_lesson_questions`` (lesson number ->
the ids of its questions), ``rmcourse_downloads`` (``{"wheel": name, "zip": name}`` under
``download/``) and ``rmcourse_exercises`` (the stems of the exercise notebooks).
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

from rmcourse.site.pages import (
    COURSE_DIR,
    DOWNLOAD_DIR,
    HF_PYTHON,
    TORCH_CPU,
    hf_install_command,
    run_yourself_text,
    uses_hf,
)
from rmcourse.site.quiz_export import QUIZ_DIR
from rmcourse.site.task_export import TASKS_DIR

QUESTION_ID = re.compile(r"data-question-id=['\"]([^'\"]+)['\"]")
LESSON_DOC = re.compile(r"^lessons/(\d\d)_\w+$")
TASK_CALL = re.compile(r"tasks\.check\(\s*[\"'](\d\d-\d+)[\"']")
SCRIPTS = (
    "rmcourse-common.js",  # before the quiz and the tasks scripts, which use it
    f"{QUIZ_DIR}/questions.js",
    "rmcourse-quiz.js",
    f"{TASKS_DIR}/tasks.js",
    "rmcourse-tasks.js",
    "rmcourse-site.js",
)
STYLES = ("rmcourse-quiz.css", "rmcourse-tasks.css", "rmcourse-site.css")
_SPAN = re.compile(r"`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)")


def _inline(text: str) -> list[nodes.Node]:
    """``text`` with its Markdown `code` spans as literal nodes and [links](url) as references.

    Examples
    --------
    >>> [type(n).__name__ for n in _inline("run `a`, see [b](c.html).")]
    ['Text', 'literal', 'Text', 'reference', 'Text']
    """
    found: list[nodes.Node] = []
    at = 0
    for match in _SPAN.finditer(text):
        if match.start() > at:
            found.append(nodes.Text(text[at : match.start()]))
        if match.group(1) is not None:
            found.append(nodes.literal(match.group(1), match.group(1)))
        else:
            found.append(nodes.reference(match.group(2), match.group(2), refuri=match.group(3)))
        at = match.end()
    if at < len(text):
        found.append(nodes.Text(text[at:]))
    return found


def _run_yourself(
    lesson: str, downloads: dict[str, str], exercises: list[str], hf: bool = False
) -> nodes.admonition:
    """The box under a lesson's title (``hf``: the lesson needs the wheel's ``hf`` extra)."""
    box = nodes.admonition(classes=["tip", "rmcourse-run-yourself"])
    box += nodes.title("Run it yourself", "Run it yourself")
    if "wheel" in downloads:
        wheel = downloads["wheel"]
        text = (
            f"Download the course package [{wheel}](../{DOWNLOAD_DIR}/{wheel}), then "
            f"`pip install {wheel}`, `rmcourse init {COURSE_DIR}` and `jupyter lab {COURSE_DIR}` "
            "(in full on [the landing page](../index.html); on Linux, "
            f"`pip install {TORCH_CPU}` before the wheel skips PyPI's CUDA build): this lesson is "
            f"`{COURSE_DIR}/notebooks/{lesson}.ipynb`. The notebook of the download button needs "
            "the package too (it does `import rmcourse`): install the wheel first."
        )
        box += nodes.paragraph("", "", *_inline(text))
        if hf:
            text = (
                f"This lesson needs Python ≥ {HF_PYTHON} and the Hugging Face packages: "
                f"`{hf_install_command(wheel, 'pip')}`."
            )
            box += nodes.paragraph("", "", *_inline(text))
    exercise = next((name for name in exercises if name[:2] == lesson[:2]), None)
    if exercise is not None:
        text = (
            f"Practise it: [exercise {exercise}](../exercises.html#exercise-{exercise[:2]}), "
            f"`{COURSE_DIR}/exercises/{exercise}.ipynb`."
        )
        box += nodes.paragraph("", "", *_inline(text))
    box += nodes.paragraph("", "", *_inline(run_yourself_text(lesson)))
    return box


def _task_forms(doctree: nodes.document) -> None:
    """Put each your-turn cell's task form where the checker's output ("not answered yet") was;
    any other output of the cell stays."""
    for cell in list(doctree.findall(nodes.container)):
        if "cell" not in cell["classes"] or "tag_your-turn" not in cell["classes"]:
            continue
        code = "".join(block.astext() for block in cell.findall(nodes.literal_block))
        match = TASK_CALL.search(code)
        if match is None:
            continue
        for output in [c for c in cell.children if "cell_output" in c.get("classes", [])]:
            if output.astext().strip().startswith(f"{match.group(1)}: "):  # the checker's line
                cell.remove(output)
        form = nodes.container(classes=["cell_output", "rmcourse-task-output"])
        form += nodes.raw("", _static_task(match.group(1)), format="html")
        cell += form


def _static_task(task_id: str) -> str:
    """A task's form without the script: where to answer it, nothing of the answer."""
    return (
        f"<div class='rmcourse-task-static' data-task-id='{task_id}'>"
        f"<p>Your turn [{task_id}]: write your answer in this cell of the notebook and run "
        "it; the checker judges it there.</p></div>"
    )


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
    code = "\n".join(block.astext() for block in doctree.findall(nodes.literal_block))
    box = _run_yourself(
        docname.split("/")[-1],
        app.config.rmcourse_downloads,
        app.config.rmcourse_exercises,
        hf=uses_hf(code),
    )
    title.parent.insert(title.parent.index(title) + 1, box)
    _task_forms(doctree)
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
    app.add_config_value("rmcourse_downloads", {}, "env", types=frozenset({dict}))
    app.add_config_value("rmcourse_exercises", [], "env", types=frozenset({list}))
    app.connect("doctree-read", _lesson_page)
    for style in STYLES:
        app.add_css_file(style)
    for script in SCRIPTS:
        app.add_js_file(script, defer="defer")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
