"""jsonschema without the IRI grammar it does not need (rmcourse/imports.py): only where a process
asks for it, and nothing else is taken away. Checked in fresh interpreters, since imports happen
once."""

import importlib.util
import subprocess
import sys

import pytest

needs_grammar = pytest.mark.skipif(
    importlib.util.find_spec("rfc3987_syntax") is None,
    reason="rfc3987_syntax (jsonschema's format-nongpl extra) is not installed",
)
# Where the grammar is not installed, it cannot be loaded: the tests that it is not are marked.


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_rmcourse_and_its_modules_leaves_the_import_system_alone():
    out = _run(
        "import sys\n"
        "before = list(sys.meta_path)\n"
        "import rmcourse, rmcourse.imports, rmcourse.cli, rmcourse.quiz, rmcourse.grading.worker\n"
        "print(sys.meta_path == before)"
    )
    assert out == "True"


@needs_grammar
def test_after_skip_iri_grammar_jsonschema_skips_the_grammar_and_the_finder_leaves():
    out = _run(
        "import sys\n"
        "from rmcourse.imports import SkipIriGrammar, skip_iri_grammar\n"
        "finder = skip_iri_grammar()\n"
        "print(isinstance(finder, SkipIriGrammar), sys.meta_path[0] is finder,"
        " skip_iri_grammar() is None)\n"
        "import nbformat, jsonschema\n"
        "print('rfc3987_syntax' in sys.modules,"
        " any(isinstance(f, SkipIriGrammar) for f in sys.meta_path))"
    )
    assert out.splitlines() == ["True True True", "False False"]


@needs_grammar
def test_this_pytest_process_skipped_the_grammar():
    """``-p rmcourse.imports`` (pyproject.toml) ran before nbval and the conftest files."""
    assert "jsonschema" in sys.modules  # tests/conftest.py (and nbval, where loaded): nbformat
    assert "rfc3987_syntax" not in sys.modules


@needs_grammar
def test_import_jsonschema_skips_the_grammar_and_its_finder_leaves():
    out = _run(
        "import sys\n"
        "from rmcourse.imports import SkipIriGrammar, import_jsonschema\n"
        "jsonschema = import_jsonschema()\n"
        "print(jsonschema.__name__, 'rfc3987_syntax' in sys.modules,"
        " any(isinstance(f, SkipIriGrammar) for f in sys.meta_path),"
        " import_jsonschema() is jsonschema)"
    )
    assert out == "jsonschema False False True"


@needs_grammar
def test_the_quiz_checks_its_questions_without_the_grammar():
    out = _run(
        "import sys\n"
        "from rmcourse.imports import SkipIriGrammar\n"
        "from rmcourse.quiz import load_questions\n"
        "print('jsonschema' in sys.modules)\n"
        "print(len(load_questions()) > 0, 'jsonschema' in sys.modules,"
        " 'rfc3987_syntax' in sys.modules,"
        " any(isinstance(f, SkipIriGrammar) for f in sys.meta_path))"
    )
    assert out.splitlines() == ["False", "True True False False"]


@needs_grammar
def test_the_tasks_check_their_files_without_the_grammar():
    out = _run(
        "import sys\n"
        "from rmcourse import tasks\n"
        "print('jsonschema' in sys.modules)\n"
        "print(len(tasks.load_tasks()) > 0, 'jsonschema' in sys.modules,"
        " 'rfc3987_syntax' in sys.modules)"
    )
    assert out.splitlines() == ["False", "True True False"]


def test_notebooks_and_the_quiz_schema_still_validate():
    out = _run(
        "from rmcourse.imports import skip_iri_grammar\n"
        "skip_iri_grammar()\n"
        "import nbformat\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
        "nbformat.validate(nb)\n"
        "del nb.cells[0]['source']\n"
        "try:\n    nbformat.validate(nb)\nexcept nbformat.ValidationError:\n    print('caught')\n"
        "from rmcourse.quiz.content import load_questions\n"
        "print(len(load_questions()) > 0)"
    )
    assert out.splitlines() == ["caught", "True"]


@needs_grammar
def test_the_rmcourse_command_skips_the_grammar():
    out = _run(
        "import sys\n"
        "from rmcourse.cli import main\n"
        "main(['demo'])\n"
        "import nbformat\n"
        "print('rfc3987_syntax' in sys.modules)"
    )
    assert out.splitlines()[-1] == "False"


@needs_grammar
def test_a_grading_worker_skips_the_grammar():
    """The pool's initializer runs before the worker imports the grader (nbformat)."""
    out = _run(
        "import multiprocessing\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from rmcourse.grading import command\n"
        "from rmcourse.grading.worker import start\n"
        "if __name__ == '__main__':\n"
        "    context = multiprocessing.get_context('spawn')\n"
        "    with ProcessPoolExecutor(1, mp_context=context, initializer=start) as pool:\n"
        "        pool.submit(command.cpu_count).result()  # the worker imports the grader\n"
        "        code = \"'rfc3987_syntax' in __import__('sys').modules\"\n"
        "        print(pool.submit(eval, code).result())"
    )
    assert out == "False"


# The two tests below import the grammar on purpose: 3.4 s of CPU each.


@needs_grammar
@pytest.mark.slow
def test_a_grammar_imported_first_is_left_alone():
    out = _run(
        "import rfc3987_syntax, sys\n"
        "from rmcourse.imports import SkipIriGrammar, skip_iri_grammar\n"
        "skip_iri_grammar()\n"
        "import jsonschema\n"
        "print(any(isinstance(f, SkipIriGrammar) for f in sys.meta_path),"
        " 'iri' in jsonschema.FormatChecker.checkers)"
    )
    assert out == "False True"


@needs_grammar
@pytest.mark.slow
def test_the_grammar_stays_importable_by_others():
    out = _run(
        "from rmcourse.imports import skip_iri_grammar\n"
        "skip_iri_grammar()\n"
        "import jsonschema\n"
        "print('iri' in jsonschema.FormatChecker.checkers)\n"
        "from rfc3987_syntax import is_valid_syntax\n"
        "print(is_valid_syntax('iri', 'https://example.org/ä'))"
    )
    assert out.splitlines() == ["False", "True"]
