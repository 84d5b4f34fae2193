"""The course site: pages from the README, the quiz export, the build (warnings are errors)."""

import itertools
import json
import re

import nbformat
import pytest

from rmcourse.notebooks import jupyter_lab_command
from rmcourse.quiz import check, load_questions
from rmcourse.site.build import SiteBuildError, SiteSources, build_site
from rmcourse.site.course import build_course
from rmcourse.site.pages import landing_page, local_links, readme_page
from rmcourse.site.quiz_export import export_quiz

README = """# course title

What the course is about.

## Quickstart

    make course

## Syllabus

| lesson | what you learn |
|---|---|
| `01_first` | the first thing |
| `02_second` | not written yet |

## For instructors

See [the threat model](docs/grading.md) and [the code](rmcourse/cli.py).

### Grading

    rmcourse grade
"""


def test_landing_page_links_the_lessons_that_exist_and_lists_them_in_order():
    page = landing_page(README, ["01_first"], ["instructors"])
    assert page.startswith("# course title\n\nWhat the course is about.")
    assert "[01_first](lessons/01_first.ipynb)" in page
    assert "| `02_second` |" in page  # no page yet: no link the build would reject
    assert "make course" in page and "Quickstart" not in page
    toc = page[page.index("```{toctree}") :]
    assert toc.index("lessons/01_first") < toc.index("instructors")


def test_readme_section_becomes_a_page_with_its_links_pointing_at_the_site():
    page = readme_page(README, "For instructors", {"docs/grading.md": "grading"})
    assert page.startswith("# For instructors\n")
    assert "[the threat model](grading.md)" in page
    assert "the code (`rmcourse/cli.py`)" in page  # not a page: its text, no broken link
    assert "\n## Grading\n" in page  # headings move up one level under the page title
    with pytest.raises(ValueError, match="no '## Teaching' section"):
        readme_page(README, "Teaching", {})


def test_local_links_keep_web_links_and_anchors():
    text = "[a](https://example.org/x) [b](#here) [c](./docs/grading.md#threats)"
    assert local_links(text, {"docs/grading.md": "grading"}) == (
        "[a](https://example.org/x) [b](#here) [c](grading.md#threats)"
    )


def test_exported_verdicts_are_the_quiz_check_of_every_answer(tmp_path):
    questions = load_questions()
    data = export_quiz(questions, tmp_path)
    written = json.loads((tmp_path / "quiz" / "questions.json").read_text())
    script = (tmp_path / "quiz" / "questions.js").read_text()
    assert written == data and script.startswith("window.rmcourseQuiz = {")
    assert [q["id"] for q in data["questions"]] == [q.id for q in questions]
    for q, exported in zip(questions, data["questions"], strict=True):
        keys = [o.key for o in q.options]
        if q.kind == "choice":
            assert set(exported["responses"]) == set(keys)
            for key in keys:
                feedback = check(q.id, key)
                assert exported["responses"][key] == {
                    "correct": feedback.correct,
                    "message": feedback.message,
                }
        elif q.kind == "multi_choice":
            assert len(exported["responses"]) == 2 ** len(keys)
            for n in range(len(keys) + 1):
                for chosen in itertools.combinations(keys, n):
                    feedback = check(q.id, list(chosen))
                    assert exported["responses"][",".join(chosen)]["correct"] == feedback.correct
                    assert exported["responses"][",".join(chosen)]["message"] == feedback.message
        else:
            assert exported["answer"] == q.answer and exported["tolerance"] == q.tolerance
            assert check(q.id, exported["answer"]).message.endswith(exported["right_feedback"])
            for mistake in exported["mistakes"]:
                assert check(q.id, mistake["value"]).message.endswith(mistake["feedback"])


def _lesson(path, markdown, code="print('ran')"):
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}
        }
    )
    nb.cells = [nbformat.v4.new_markdown_cell(markdown), nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, path)
    return path


@pytest.mark.kernel
def test_build_course_executes_the_lessons_then_builds_an_offline_site(tmp_path, capsys):
    lessons = tmp_path / "notebooks"
    lessons.mkdir()
    (tmp_path / "README.md").write_text(README.replace("01_first", "01_good"))
    _lesson(
        lessons / "01_good.ipynb",
        "# Lesson 01\n\nIts derivative: $$\\ell'(\\Delta) = -\\sigma(-\\Delta)$$ and $x$.",
        "print('lesson one ran')",
    )
    _lesson(lessons / "02_more.ipynb", "# Lesson 02\n\nMore.")
    _lesson(lessons / "notes.ipynb", "# not a lesson")
    out = tmp_path / "build"

    assert build_course(lessons, out, timeout=60) == 0

    site = out / "site"
    printed = capsys.readouterr().out
    assert f"The course is in {(site / 'index.html').resolve()}" in printed
    assert f"To work through it interactively: {jupyter_lab_command(lessons)}" in printed
    assert sorted(p.name for p in (out / "notebooks").iterdir()) == [
        "01_good.ipynb",
        "02_more.ipynb",
    ]
    assert sorted(p.name for p in out.iterdir()) == ["notebooks", "site"]  # no scratch left
    page = (site / "lessons" / "01_good.html").read_text()
    assert "lesson one ran" in page  # the output of the execution, not of a second one
    assert "\\ell'(\\Delta) = -\\sigma(-\\Delta)" in page and "$$" not in page
    assert "Run it yourself" in page and "01_good.ipynb" in page
    assert (site / "_sources" / "lessons" / "01_good.ipynb").is_file()  # the download button
    assert 'src="../_static/mathjax/tex-svg.js' in page
    assert (site / "_static" / "mathjax" / "tex-svg.js").is_file()
    assert (site / "_static" / "quiz" / "questions.js").is_file()
    index = (site / "index.html").read_text()
    assert index.index("lessons/01_good.html") < index.index("lessons/02_more.html")
    assert "notes" not in index and (site / "instructors.html").is_file()
    for html in site.rglob("*.html"):  # nothing is loaded from another host
        text = html.read_text()
        loaded = re.findall(r"<(?:script|link|img)\b[^>]*(?:src|href)=\"(https?:[^\"]+)\"", text)
        assert not loaded, (html, loaded)


@pytest.mark.kernel
def test_build_course_reports_a_failing_lesson_and_builds_no_site(tmp_path, capsys):
    lessons = tmp_path / "notebooks"
    lessons.mkdir()
    _lesson(lessons / "01_good.ipynb", "# One")
    _lesson(lessons / "02_broken.ipynb", "# Two", "raise RuntimeError('boom')")
    assert build_course(lessons, tmp_path / "build", timeout=60) == 1
    err = capsys.readouterr().err
    assert "02_broken.ipynb" in err and "boom" in err and "no site built" in err
    assert not (tmp_path / "build" / "site").exists()
    assert build_course(tmp_path / "empty", tmp_path / "build") == 1
    assert "no lessons" in capsys.readouterr().err


@pytest.mark.slow
def test_a_broken_link_fails_the_site_build(tmp_path):
    lesson = _lesson(tmp_path / "01_one.ipynb", "# One\n\nSee [the missing page](missing.md).")
    with pytest.raises(SiteBuildError, match="missing"):
        build_site(SiteSources(lessons=(lesson,)), tmp_path / "site")
    with pytest.raises(ValueError, match="not a lesson notebook"):
        build_site(SiteSources(lessons=(tmp_path / "one.ipynb",)), tmp_path / "site")


@pytest.mark.slow
def test_a_lessons_questions_appear_on_its_page_once(tmp_path):
    from rmcourse.quiz.content import question_by_id
    from rmcourse.quiz.static import question_html

    ids = [q.id for q in load_questions() if q.lesson == "06"]
    assert len(ids) >= 2
    lesson = _lesson(tmp_path / "06_best_of_n.ipynb", "# Lesson 06")
    nb = nbformat.read(lesson, as_version=4)
    shown = nbformat.v4.new_output(  # the notebook shows its first question itself
        "display_data",
        data={"text/html": question_html(question_by_id(ids[0])), "text/plain": ids[0]},
    )
    nb.cells[1].outputs = [shown]
    nbformat.write(nb, lesson)
    build_site(SiteSources(lessons=(lesson,)), tmp_path / "site")
    page = (tmp_path / "site" / "lessons" / "06_best_of_n.html").read_text()
    for qid in ids:
        assert page.count(f"data-question-id='{qid}'") == 1, qid
    appended = page[page.index("Check yourself: quiz") :]
    assert f"data-question-id='{ids[0]}'" not in appended
    assert all(f"data-question-id='{qid}'" in appended for qid in ids[1:])


def test_every_figure_of_the_lessons_has_a_caption_and_alt_text_and_no_entry_is_stale():
    from helpers import ROOT

    from rmcourse.site.course import lesson_paths
    from rmcourse.site.figures import describe_figures, figure_cells, load_figures

    figures = load_figures()
    lessons = {p.stem: nbformat.read(p, as_version=4) for p in lesson_paths(ROOT / "notebooks")}
    assert set(figures) <= set(lessons), set(figures) - set(lessons)
    for stem, nb in lessons.items():
        entries = figures.get(stem, {})
        sources = [cell.source for cell in nb.cells if cell.cell_type == "code"]
        for key in entries:  # each entry names one cell of its lesson
            assert sum(key in source for source in sources) == 1, (stem, key)
        n = len(figure_cells(nb))
        assert describe_figures(nb, entries) == [], stem  # every figure described
        for cell in figure_cells(nb):
            alt = cell.metadata["mystnb"]["image"]["alt"]
            assert ".png" not in alt and len(alt.split()) >= 8, (stem, alt)
        assert len(figure_cells(nb)) == n


def test_describe_figures_keeps_a_cells_own_caption_and_flags_an_ambiguous_key():
    from rmcourse.site.figures import Figure, describe_figures, parse_figures

    image = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})
    own = nbformat.v4.new_code_cell("plot('Loss')", outputs=[image])
    own.metadata["mystnb"] = {"figure": {"caption": "Mine."}, "image": {"alt": "My own."}}
    both = nbformat.v4.new_code_cell("plot('Loss', 'Gradient')", outputs=[image])
    nb = nbformat.v4.new_notebook(cells=[own, both])
    figures = {"Loss": Figure("The loss.", "A curve."), "Gradient": Figure("G.", "Another.")}
    assert describe_figures(nb, figures) == ["plot('Loss', 'Gradient')"]
    assert own.metadata["mystnb"]["figure"]["caption"] == "Mine."
    assert "mystnb" not in both.metadata
    with pytest.raises(ValueError, match=r"01_x / 'Loss' needs a non-empty caption and alt"):
        parse_figures({"01_x": {"Loss": {"caption": "The loss."}}})


def test_the_footer_licence_is_the_packages():
    from helpers import ROOT

    from rmcourse.site.build import LICENCE

    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^license = "(.+)"$', pyproject, re.M).group(1) == LICENCE


@pytest.mark.slow
def test_a_figure_gets_its_caption_alt_text_copy_buttons_and_the_footer(tmp_path):
    lesson = _lesson(
        tmp_path / "01_bradley_terry.ipynb",
        "# Lesson 01\n\n```python\nprint('a code block')\n```",
        "plot('Loss of one pair')",
    )
    nb = nbformat.read(lesson, as_version=4)
    png = (  # one pixel
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )
    nb.cells[1].outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
        nbformat.v4.new_output("stream", text="printed\n"),
    ]
    nbformat.write(nb, lesson)
    build_site(SiteSources(lessons=(lesson,)), tmp_path / "site")
    page = (tmp_path / "site" / "lessons" / "01_bradley_terry.html").read_text()
    assert re.search(r'<img alt="Two line plots against the margin Δ\.[^"]*" src=', page)
    caption = re.search(r"<figcaption>(.*?)</figcaption>", page, re.S).group(1)
    assert "Left: the loss of one pair" in caption and 'class="math' in caption
    assert 'src="../_static/copybutton.js' in page and 'src="../_static/rmcourse-site.js' in page
    assert page.count("primary-toggle") == 1  # the book theme's button, none hidden before it
    assert "By rmcourse authors" in page and "MIT licence" in page
    assert "Author name not set" not in page
