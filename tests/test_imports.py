"""``import rmcourse`` spares jsonschema the IRI grammar it does not need (rmcourse/imports.py),
and takes nothing else away: checked in fresh interpreters, since imports happen once."""

import importlib.util
import subprocess
import sys

import pytest


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_jsonschema_after_rmcourse_skips_the_grammar_and_the_finder_leaves():
    out = _run(
        "import sys, rmcourse, nbformat, jsonschema\n"
        "from rmcourse.imports import SkipIriGrammar\n"
        "print('rfc3987_syntax' in sys.modules,"
        " any(isinstance(f, SkipIriGrammar) for f in sys.meta_path))"
    )
    assert out == "False False"


def test_notebooks_and_the_quiz_schema_still_validate():
    out = _run(
        "import rmcourse, nbformat, jsonschema\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
        "nbformat.validate(nb)\n"
        "del nb.cells[0]['source']\n"
        "try:\n    nbformat.validate(nb)\nexcept nbformat.ValidationError:\n    print('caught')\n"
        "from rmcourse.quiz.content import load_questions\n"
        "print(len(load_questions()) > 0)"
    )
    assert out.splitlines() == ["caught", "True"]


needs_grammar = pytest.mark.skipif(
    importlib.util.find_spec("rfc3987_syntax") is None,
    reason="rfc3987_syntax (jsonschema's format-nongpl extra) is not installed",
)
# The two tests below import the grammar on purpose: 3.4 s of CPU each.


@needs_grammar
@pytest.mark.slow
def test_a_grammar_imported_first_is_left_alone():
    out = _run(
        "import rfc3987_syntax, sys, rmcourse, jsonschema\n"
        "from rmcourse.imports import SkipIriGrammar\n"
        "print(any(isinstance(f, SkipIriGrammar) for f in sys.meta_path),"
        " 'iri' in jsonschema.FormatChecker.checkers)"
    )
    assert out == "False True"


@needs_grammar
@pytest.mark.slow
def test_the_grammar_stays_importable_by_others():
    out = _run(
        "import rmcourse, jsonschema\n"
        "print('iri' in jsonschema.FormatChecker.checkers)\n"
        "from rfc3987_syntax import is_valid_syntax\n"
        "print(is_valid_syntax('iri', 'https://example.org/ä'))"
    )
    assert out.splitlines() == ["False", "True"]
