"""The your-turn tasks as content: every lesson's file follows the schema, and bad content is a
ValueError naming the file, the task and the field; formulas compute only what they may; the
tasks of lessons 01-02 are judged without torch."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

import rmcourse
from rmcourse import tasks
from rmcourse.tasks.formulas import evaluate
from rmcourse.tasks.functions import FUNCTIONS

PACKAGE = Path(rmcourse.__file__).parent / "tasks"
FILES = sorted((PACKAGE / "data").glob("*.json"))
SCHEMA = json.loads((PACKAGE / "tasks.schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_lesson_file_follows_the_schema(path):
    content = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(content)
    assert content["lesson"] == path.stem
    assert set(tasks.parse_lesson(content, path.name)) == {t["id"] for t in content["tasks"]}


def test_every_task_is_loaded_once_and_every_named_function_is_used():
    loaded = tasks.load_tasks()
    in_files = [t["id"] for p in FILES for t in json.loads(p.read_text())["tasks"]]
    assert sorted(in_files) == sorted(loaded) and len(loaded) == 29
    named = {
        name
        for p in FILES
        for t in json.loads(p.read_text())["tasks"]
        for name in [t.get("reference")] + [m.get("function") for m in t.get("mistakes", [])]
    }
    assert named - {None} == set(FUNCTIONS)


LESSON = {
    "lesson": "99",
    "tasks": [
        {
            "id": "99-number",
            "kind": "number",
            "answer": "log(2)",
            "hint": "h",
            "mistakes": [{"value": 0.5, "hint": "m"}],
        },
        {"id": "99-choice", "kind": "choice", "answer": "a", "hints": {"b": "h"}},
        {
            "id": "99-function",
            "kind": "function",
            "reference": "mean_loss",
            "probes": [[[1.0], [0.0]]],
            "mistakes": [{"function": "summed_loss", "hint": "m"}],
        },
    ],
}


def _edit(path: str, value):
    content = copy.deepcopy(LESSON)
    *keys, last = path.split("/")
    target = content
    for key in keys:
        target = target[int(key) if key.isdigit() else key]
    if value is KeyError:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return content


# (what is changed, the value, words the error message must contain)
BAD = [
    ("tasks/0/hint", KeyError, "task '99-number': (top level): 'hint' is a required property"),
    ("tasks/0/mistakes/0/hint", 3, "task '99-number': mistakes/0/hint: 3 is not of type"),
    ("tasks/0/tolerance", -1, "task '99-number': tolerance: -1 is less than or equal"),
    ("tasks/0/answer", "logg(2)", "task '99-number': answer: 'logg(2)': logg is not one of"),
    ("tasks/0/answer", "log(0)", "task '99-number': answer: 'log(0)' is -inf"),
    (
        "tasks/0/mistakes/0/value",
        "log(2) + 0.001",
        "task '99-number': mistakes/0/value: 0.694147 is within the tolerance",
    ),
    ("tasks/0/kind", "essay", "task '99-number': kind: 'essay' is not one of"),
    ("tasks/0/id", "98-number", "task '98-number': id: does not start with the lesson '99'"),
    ("tasks/1/id", "99-number", "task '99-number': id: used twice"),
    ("tasks/1/hints/a", "h", "task '99-choice': hints/a: the answer's option has a hint"),
    ("tasks/1/answer", "ab", "task '99-choice': answer: 'ab' does not match"),
    ("tasks/1/shown", True, "task '99-choice': (top level): Additional properties"),
    ("tasks/2/reference", "bt_loss", "task '99-function': reference: no function 'bt_loss'"),
    ("tasks/2/probes/0", [[1.0]], "task '99-function': probes/0: the function does not take 1"),
    ("tasks/2/probes/0/0", ["a"], "task '99-function': probes/0/0/0: 'a' is not valid"),
    ("tasks/2/inputs", "jax", "task '99-function': inputs: 'jax' is not one of"),
    (
        "tasks/2/mistakes/0/options",
        {"scale": 2},
        "task '99-function': mistakes/0/options: the function does not take",
    ),
    ("lesson", 99, "99.json: lesson: 99 is not of type 'string'"),
]


@pytest.mark.parametrize(("path", "value", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_content_is_an_error_naming_file_task_and_field(path, value, words):
    tasks.parse_lesson(copy.deepcopy(LESSON), "99.json")  # the unchanged lesson is fine
    with pytest.raises(ValueError) as raised:
        tasks.parse_lesson(_edit(path, value), "99.json")
    assert str(raised.value).startswith("99.json: ") and words in str(raised.value)


def test_content_that_is_not_a_mapping_is_a_type_error():
    with pytest.raises(TypeError, match="99.json: task content must be a mapping, got list"):
        tasks.parse_lesson([], "99.json")


@pytest.mark.parametrize(
    "formula",
    [
        "__import__('os')",
        "np.log(2)",
        "log(x=2)",
        "(1).real",
        "[1, 2][0:1]",
        "lambda: 1",
        "'a' * 3",
        "True + 1",
    ],
)
def test_a_formula_computes_only_numbers_from_the_allowed_functions(formula):
    with pytest.raises(ValueError, match="not allowed|not one of the functions|not one finite"):
        evaluate(formula)


def test_formulas_compute_what_the_library_computes():
    from rmcourse.np_loss import bt_loss, bt_loss_grad

    assert evaluate("bt_loss([0.2], [1.2])") == bt_loss([0.2], [1.2])
    assert (
        evaluate("bt_loss_grad([1.0, 2.0], [3.0, 2.0])[0][0]")
        == bt_loss_grad([1.0, 2.0], [3.0, 2.0])[0][0]
    )
    assert evaluate("-2 ** 2 + 3 / 4") == -(2**2) + 3 / 4


def test_the_tasks_of_lessons_01_02_are_judged_without_torch():
    code = (
        "import sys, numpy as np; from rmcourse import tasks; "
        "print(tasks.check('01-1', 1.3133).status, "
        "tasks.check('02-1', lambda x: -np.logaddexp(0, -x)).status, "
        "sorted(m for m in sys.modules if m.startswith('torch')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["right", "right", "[]"]
