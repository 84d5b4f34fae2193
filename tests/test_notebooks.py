"""Running lessons: refresh in place, build the course's HTML, report a failing lesson."""

import sys

import nbformat

from rmcourse.notebooks import build_course, refresh


def _write(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nbformat.write(nb, path)
    return path


def test_refresh_executes_in_order_from_the_notebooks_folder(tmp_path):
    (tmp_path / "data.txt").write_text("forty-two")
    path = _write(tmp_path / "01_a.ipynb", "x = 6 * 7", "print(x, open('data.txt').read())")
    refresh([path])
    nb = nbformat.read(path, as_version=4)
    assert [cell.execution_count for cell in nb.cells] == [1, 2]
    assert nb.cells[1].outputs[0].text == "42 forty-two\n"
    assert nb.metadata.kernelspec.name == "python3"


def test_build_course_writes_every_lesson_and_reports_the_failing_one(tmp_path, capsys):
    lessons = tmp_path / "notebooks"
    lessons.mkdir()
    lesson = _write(lessons / "01_good.ipynb", "print('lesson one ran')")
    nb = nbformat.read(lesson, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("$L = -\\log \\sigma(\\Delta)$"))
    nbformat.write(nb, lesson)
    _write(lessons / "02_broken.ipynb", "raise RuntimeError('boom')")
    _write(lessons / "03_good.ipynb", "print('lesson three ran')")
    _write(lessons / "notes.ipynb", "print('not a lesson')")
    out = tmp_path / "build"

    assert build_course(lessons, out, timeout=60) == 1

    pages = ["01_good.html", "03_good.html", "index.html"]
    assert sorted(p.name for p in out.iterdir()) == pages + ["mathjax"]
    page = (out / "01_good.html").read_text()
    assert "lesson one ran" in page
    # formulas are typeset by the MathJax copied beside the pages: the course reads offline
    assert 'src="mathjax/MathJax.js?config=' in page and "libs/mathjax" not in page
    assert (out / "mathjax" / "MathJax.js").is_file()
    assert "03_good.html" in (out / "index.html").read_text()
    captured = capsys.readouterr()
    assert "02_broken.ipynb" in captured.err and "boom" in captured.err
    # how to open the lessons, with the Jupyter of the interpreter that built them
    assert f"{sys.executable} -m jupyter lab {lessons}" in captured.out


def test_build_course_without_lessons_fails_with_a_message(tmp_path, capsys):
    assert build_course(tmp_path, tmp_path / "build") == 1
    assert "no lessons" in capsys.readouterr().err
