"""The your-turn tasks: every checker accepts the right answer, rejects a wrong one with a hint
that does not give the answer away, and says "not answered yet" to an untouched cell; an answer of
the wrong form gets one line saying what is expected; a hint names a mistake only when the answer
makes it; every lesson 01-04 (and 08) has at least three such tasks, each with its answer behind a
<details> reveal, and no number task's answer is printed above the task."""

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rmcourse import tasks
from rmcourse.torch_loss import bt_loss

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("0[1-4]_*.ipynb")) + sorted(NOTEBOOKS.glob("08_*.ipynb"))
CHECK_CALL = re.compile(r"tasks\.check\(\s*\"([0-9a-z-]+)\"")
TASKS = tasks.load_tasks()

# (task id, a right answer, a wrong answer, a word the hint for that wrong answer must contain)
CASES = [
    ("01-1", np.log1p(np.e), np.log1p(np.exp(-1.0)), "sign"),
    ("01-1", np.log1p(np.e), 2.0, "margin"),
    ("01-2", np.log(3), 0.75, "probability"),
    ("01-2", np.log(3), -np.log(3), "positive"),
    ("01-3", "b", "a", "agree"),
    ("01-4", 1.0444, 11.0444, "margin"),
    ("01-4", 1.0444, 3.1333, "sum of the three"),
    ("01-4", 1.0444, 0.7111, "sign"),
    (
        "02-1",
        lambda x: -np.logaddexp(0.0, -x),
        lambda x: np.log(1 / (1 + np.exp(-x))),
        "overflows",
    ),
    (
        "02-1",
        lambda x: np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))),
        lambda x: np.where(x < 0, x - np.log(1 + np.exp(x)), -np.log(1 + np.exp(-x))),
        "log1p",
    ),
    (
        "02-1",
        lambda x: -np.logaddexp(0.0, -x),
        lambda x: -np.log1p(np.exp(-x)) if x >= 0 else x - np.log1p(np.exp(x)),
        "element-wise",
    ),
    ("02-2", -0.5 / (1 + np.exp(-2.0)), 0.5 / (1 + np.exp(-2.0)), "sign"),
    ("02-2", -0.5 / (1 + np.exp(-2.0)), -1 / (1 + np.exp(-2.0)), "number of pairs"),
    (
        "02-3",
        np.mean(np.log1p(np.exp(-np.array([2.0, 3.0, 4.0, 1.0, 2.0, 1.0])))),
        np.sum(np.log1p(np.exp(-np.array([2.0, 3.0, 4.0, 1.0, 2.0, 1.0])))),
        "not a sum",
    ),
    (  # divided by K, not by the C(K, 2) pairs: K = 4 tells the two apart (K = 3 would not)
        "02-3",
        np.mean(np.log1p(np.exp(-np.array([2.0, 3.0, 4.0, 1.0, 2.0, 1.0])))),
        np.sum(np.log1p(np.exp(-np.array([2.0, 3.0, 4.0, 1.0, 2.0, 1.0])))) / 4,
        "divided by K",
    ),
    (
        "02-3",
        np.mean(np.log1p(np.exp(-np.array([2.0, 3.0, 4.0, 1.0, 2.0, 1.0])))),
        -np.mean(np.log1p(np.exp(-np.array([2.0, 3.0, 4.0, 1.0, 2.0, 1.0])))),
        "positive",
    ),
    (
        "03-1",
        lambda c, r: -F.logsigmoid(c - r).mean(),
        lambda c, r: -torch.log(torch.sigmoid(c - r)).mean(),
        "finite",
    ),
    (
        "03-1",
        lambda c, r: -F.logsigmoid(c - r).mean(),
        lambda c, r: -F.logsigmoid(r - c).mean(),
        "other way round",
    ),
    (
        "03-1",
        lambda c, r: -F.logsigmoid((c - r).float()).mean(),
        lambda c, r: -F.logsigmoid(c - r).sum(),
        "sum of the pair losses",
    ),
    (
        "03-1",
        lambda c, r: F.softplus(r - c).mean(),
        lambda c, r: torch.log1p(torch.exp(r - c)).mean(),
        "exp(1000) overflows",
    ),
    (
        "03-1",
        lambda c, r: -F.logsigmoid(c - r).mean(),
        lambda c, r: F.logsigmoid(c - r).mean(),
        "its negative",
    ),
    (
        "03-1",
        lambda c, r: -F.logsigmoid(c - r).mean(),
        lambda c, r: F.binary_cross_entropy(torch.sigmoid(c - r), torch.ones_like(c)),
        "clamps",
    ),
    ("03-2", np.log1p(np.exp(1.5)), np.log(2), "shifts"),
    ("03-2", np.log1p(np.exp(1.5)), np.log1p(np.exp(-1.5)), "negative"),
    ("03-3", 0.25, 0.5, "not the sum"),
    ("03-3", 0.25, 1.25, "difference"),
    ("03-3", 0.25, 0.15, "before averaging"),
    ("03-3", 0.25, 0.75, "not each reward"),
    ("03-4", "c", "d", "float32"),
    ("03-4", "c", "b", "significant bits"),
    ("04-1", 0.5 * 0.5 + 0.5 / (1 + np.exp(-2.0)), 1 / (1 + np.exp(-2.0)), "ties"),
    ("04-2", 0.5 * 0.5 + 0.5 / (1 + np.exp(2.0)), 0.0, "counts a tie as 0"),
    (
        "04-2",
        0.5 * 0.5 + 0.5 / (1 + np.exp(2.0)),
        0.5 / (1 + np.exp(2.0)),
        "half of the time",
    ),
    (
        "04-2",
        0.5 * 0.5 + 0.5 / (1 + np.exp(2.0)),
        0.5 * 0.5 + 0.5 / (1 + np.exp(-2.0)),
        "Bayes accuracy",
    ),
    (
        "04-1",
        0.5 * 0.5 + 0.5 / (1 + np.exp(-2.0)),
        1 / (1 + np.exp(-1.0)),
        "mean margin",
    ),
    (
        "04-1",
        0.5 * 0.5 + 0.5 / (1 + np.exp(-2.0)),
        0.5 / (1 + np.exp(-2.0)),
        "either order",
    ),
    ("01-2", np.log(3), 3.0, "not the odds"),
    ("04-3", "c", "a", "r*"),
    ("04-3", "c", "b", "never saw"),
    ("04-3", "c", "d", "exact mean"),
    ("07-1", 0.0, 10.0, "Z(x)"),
    ("07-2", np.log(2), 0.5, "probability"),
    ("07-3", "a", "c", "expensive"),
    ("07-4", "a", "b", "seen more often"),
    ("07-5", 2.5, 5.0, "p = 1"),
    ("07-5", 2.5, 10 * np.log(3), "DPO"),
    (
        "08-1",
        lambda r_c, r_r, m, c: bt_loss(r_c, r_r, margin=m, center_coef=c or 0.0),
        lambda r_c, r_r, m, c: bt_loss(
            r_c, r_r, margin=None if m is None else -m, center_coef=c or 0.0
        ),
        "subtracted",
    ),
    (
        "08-1",
        lambda r_c, r_r, m, c: bt_loss(r_c, r_r, margin=m, center_coef=c or 0.0),
        lambda r_c, r_r, m, c: bt_loss(r_c, r_r, margin=m) + (c or 0.0) * ((r_c - r_r) ** 2).mean(),
        "not its difference",
    ),
    ("08-2", 17, 18, "final <eos>"),
    ("08-3", 0.0, -0.5, "chain rule"),
    ("08-3", 0.0, np.log(2), "loss of a tie"),
    ("08-4", 256, 64, "one process"),
    ("09-1", 10 / 3, 2.5, "own baseline"),
    ("09-1", 10 / 3, 4.0, "k − 1"),
    ("09-1", 10 / 3, 1.0502, "GRPO"),
    ("09-2", "b", "a", "proxy alone likes"),
    ("09-2", "b", "c", "prices"),
    ("01-2", np.log(3), np.log10(3), "natural logarithm"),
    ("01-2", np.log(3), 1 / 3, "solve it for Δ"),
    ("02-2", -0.5 / (1 + np.exp(-2.0)), 0.0596, "Two signs are flipped"),
    ("02-2", -0.5 / (1 + np.exp(-2.0)), -0.2202, "not over its 4 rewards"),
    (
        "08-1",
        lambda r_c, r_r, m, c: bt_loss(r_c, r_r, margin=m, center_coef=c or 0.0),
        lambda r_c, r_r, m, c: bt_loss(r_c, r_r, margin=m, center_coef=c or 0.0, reduction="sum"),
        "not their sum",
    ),
    (
        "08-1",
        lambda r_c, r_r, m, c: bt_loss(r_c, r_r, margin=m, center_coef=c or 0.0),
        lambda r_c, r_r, m, c: bt_loss(r_c, r_r, center_coef=c or 0.0),
        "with and without margins",
    ),
]


def test_the_overflow_hint_does_not_name_the_function_that_answers_it():
    verdict = tasks.check("02-1", lambda x: np.log(1 / (1 + np.exp(-x))))
    assert "overflows" in verdict.message
    assert "logaddexp" not in verdict.message and "log1p" not in verdict.message


@pytest.mark.parametrize(("task_id", "right", "wrong", "hint_word"), CASES)
def test_a_checker_accepts_the_right_answer_and_hints_at_a_wrong_one(
    task_id, right, wrong, hint_word
):
    assert tasks.check(task_id, right).status == "right"
    verdict = tasks.check(task_id, wrong)
    assert verdict.status == "wrong"
    assert hint_word in verdict.message
    task = tasks.task_by_id(task_id)
    if isinstance(task, tasks.NumberTask):  # the hint must not state the number asked for
        for digits in (2, 3, 4):
            assert f"{task.answer:.{digits}f}" not in verdict.message


def test_every_task_is_exercised_by_a_case():  # lesson 06's: in test_lesson06.py
    assert {case[0] for case in CASES} == {t for t in TASKS if not t.startswith("06-")}


@pytest.mark.parametrize("task_id", sorted(TASKS))
def test_an_untouched_answer_is_not_answered_yet(task_id):
    def stub(*args): ...  # an untouched code cell

    for untouched in (..., None, stub):
        if untouched is stub and not isinstance(TASKS[task_id], tasks.CodeTask):
            continue
        verdict = tasks.check(task_id, untouched)
        assert verdict.status == "unanswered" and "not answered yet" in str(verdict)


def test_an_unknown_task_id_is_an_error_naming_it():
    with pytest.raises(ValueError, match="no task with id 'nope'"):
        tasks.check("nope", 1.0)


def _stub_with_a_comment(r_chosen, r_rejected): ...  # your code


def _no_return(r_chosen, r_rejected):
    loss = -F.logsigmoid(r_chosen - r_rejected).mean()  # noqa: F841 - the missing return


# (task id, an answer of the wrong form, the status, words the one-line message must contain)
FORMS = [
    ("01-1", torch.tensor(1.3133), "right", "right"),  # a 0-d tensor
    ("01-1", torch.tensor([1.3133], dtype=torch.float32), "right", "right"),
    ("01-1", np.float32(1.3133), "right", "right"),
    ("01-1", np.array([1.3133]), "right", "right"),  # a size-1 array
    ("01-1", np.array([1.3133, 0.5]), "invalid", "expects one number, got 2 numbers"),
    ("01-1", torch.tensor([1.0, 2.0]), "invalid", "expects one number"),
    ("01-1", "1.31", "invalid", "without quotes"),
    ("01-1", "b", "invalid", "asks for a number"),
    ("01-1", True, "invalid", "expects a number"),
    ("01-1", float("nan"), "invalid", "finite"),
    ("01-1", np.log, "invalid", "expects a number"),
    ("01-3", 2, "invalid", "expects the letter of one option"),
    ("01-3", 0.5, "invalid", "in quotes"),
    ("01-3", "z", "invalid", "has no option 'z'"),
    ("01-3", " (B) ", "right", "right"),
    ("02-1", 0.5, "invalid", "expects a function"),
    ("03-1", _no_return, "wrong", "returned None"),
    ("03-1", _stub_with_a_comment, "unanswered", "not answered yet"),
    ("03-1", lambda c, r: "loss", "wrong", "it should return one number"),
    ("03-1", lambda c, r: -F.logsigmoid(c - r), "wrong", "array of shape (2,)"),
    (
        "08-1",
        lambda r_c, r_r, m, c: -F.logsigmoid(r_c - r_r - m).mean(),
        "wrong",
        "can be None",
    ),
]


@pytest.mark.parametrize(
    ("task_id", "answer", "status", "words"),
    FORMS,
    ids=[f"{t}-{i}" for i, (t, *_) in enumerate(FORMS)],
)
def test_every_plausible_answer_form_gets_one_line_and_no_traceback(task_id, answer, status, words):
    verdict = tasks.check(task_id, answer)
    assert verdict.status == status, verdict
    assert words in verdict.message
    assert "\n" not in str(verdict) and "Traceback" not in str(verdict)


def test_a_rounded_answer_is_told_it_is_right_to_its_digits():
    rounded = tasks.check("01-1", 1.3)  # 1.3133 to one decimal
    assert rounded.status == "wrong"
    assert "right to the 1 decimal you gave; give 2 decimals" in rounded.message
    assert "margin" not in rounded.message  # no hint about a mistake the answer does not make
    assert tasks.check("01-1", 1.31).correct  # two decimals: within the tolerance
    far = tasks.check("01-1", 1.2)
    assert far.status == "wrong" and "right to" not in far.message
    assert "within ±0.005" in far.message  # a wrong answer is told the tolerance


def test_a_rounding_that_also_fits_a_known_mistake_asks_for_more_decimals():
    # 0.3133 is the loss of the pair the other way round; 1.3133 rounds to 1.3 and 0.3133 to 0.3
    task = tasks.NumberTask("t", answer=0.52, hint="h", mistakes=[(0.48, "m")], tolerance=1e-3)
    verdict = tasks.judge({"t": task}, "t", 0.5)
    assert verdict.status == "wrong" and "too few decimals" in verdict.message


def test_a_listed_mistake_written_with_fewer_decimals_gets_its_hint():
    # 08-3's answer is 0 within 1e-6; ln 2 (the loss of a tie, not its gradient) is a mistake
    for written in (0.693, 0.69, 0.7, 0.6931, 0.69315):
        verdict = tasks.check("08-3", written)
        assert verdict.status == "wrong" and "That is the loss of a tie" in verdict.message, written
    assert "loss of a tie" not in tasks.check("08-3", 0.8).message  # rounds no mistake


def test_a_short_value_near_several_mistakes_or_half_a_unit_away_gets_no_mistakes_hint():
    # 01-2 lists P = 0.75 itself: 0.7 and 0.8 are half a unit away, a rounding of neither
    for written in (0.7, 0.8):
        assert "probability P itself" not in tasks.check("01-2", written).message, written
    # 04-2 lists 0.0596 and 0.1192: 0.1 could be the rounding of both
    both = tasks.check("04-2", 0.1)
    assert both.status == "wrong" and "too few decimals to tell what was computed" in both.message


LESSON_03_RIGHT_ANSWERS = [
    lambda c, r: -F.logsigmoid(c - r).mean(),
    lambda c, r: -F.logsigmoid((c - r).float()).mean(),  # the cast lesson 03 recommends
    lambda c, r: -F.logsigmoid(c.float() - r.float()).mean().item(),
    lambda c, r: F.softplus(r - c).mean(),
    lambda c, r: torch.nn.BCEWithLogitsLoss()(c - r, torch.ones_like(c)),
    lambda c, r: -torch.nn.functional.logsigmoid(c - r).sum() / len(c),
]


@pytest.mark.parametrize("answer", LESSON_03_RIGHT_ANSWERS)
def test_the_torch_loss_checker_accepts_every_right_answer_lesson_03_teaches(answer):
    assert tasks.check("03-1", answer).status == "right"


@pytest.mark.parametrize(
    ("answer", "named", "not_named"),
    [
        (lambda c, r: 1.1 * -F.logsigmoid(c - r).mean(), [], ["other way round", "sum", "finite"]),
        (lambda c, r: -F.logsigmoid(r - c).mean(), ["other way round"], ["sum of the pair"]),
        (lambda c, r: -F.logsigmoid(c - r).sum(), ["sum of the pair"], ["other way round"]),
        (
            lambda c, r: -torch.log(torch.sigmoid(c - r)).mean(),
            ["finite"],
            ["other way round", "sum"],
        ),
        (lambda c, r: F.logsigmoid(c - r).mean(), ["its negative"], ["other way round", "clamps"]),
        (
            lambda c, r: F.binary_cross_entropy(torch.sigmoid(c - r), torch.ones_like(c)),
            ["clamps"],
            ["other way round", "its negative", "finite"],
        ),
    ],
)
def test_a_code_hint_names_only_the_mistake_the_answer_makes(answer, named, not_named):
    verdict = tasks.check("03-1", answer)
    assert verdict.status == "wrong"
    assert "the right value is" in verdict.message  # what it returned, and what is right
    for words in named:
        assert words in verdict.message
    for words in not_named:
        assert words not in verdict.message


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_each_lesson_has_three_tasks_with_a_reveal_and_runs_them_unanswered(path):
    nb = nbformat.read(path, as_version=4)
    lesson = path.name[:2]
    cells = nb.cells
    task_cells = [
        i
        for i, c in enumerate(cells)
        if "your-turn" in c.metadata.get("tags", []) and c.cell_type == "code"
    ]
    assert len(task_cells) >= 3, f"{path.name}: {len(task_cells)} your-turn code cells"
    for i in task_cells:
        ids = CHECK_CALL.findall(cells[i].source)
        assert len(ids) == 1 and ids[0].startswith(lesson + "-"), cells[i].source
        assert ids[0] in TASKS
        outputs = "".join(
            o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cells[i].outputs
        )
        assert f"{ids[0]}: not answered yet" in outputs, f"{ids[0]} is committed answered"
        reveal = next((c for c in cells[i + 1 :] if c.cell_type == "markdown"), None)
        assert reveal is not None and "<details>" in reveal.source and "</details>" in reveal.source


def _states(text: str, value: float) -> bool:
    """True when a number in ``text`` is ``value`` to the digits it is written with."""
    for match in re.finditer(r"[-−]?\d+(?:\.(\d+))?", text):
        written = float(match.group(0).replace("−", "-"))
        decimals = len(match.group(1) or "")
        if abs(written - value) <= 0.5 * 10.0**-decimals + 1e-12:
            return True
    return False


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_each_reveal_states_the_answer_its_checker_accepts(path):
    cells = nbformat.read(path, as_version=4).cells
    for i, cell in enumerate(cells):
        if "your-turn" not in cell.metadata.get("tags", []) or cell.cell_type != "code":
            continue
        task = tasks.task_by_id(CHECK_CALL.findall(cell.source)[0])
        reveal = next(c for c in cells[i + 1 :] if c.cell_type == "markdown").source
        reveal = reveal[reveal.index("<details>") : reveal.index("</details>")]
        if isinstance(task, tasks.NumberTask):
            assert _states(reveal, task.answer), (task.id, reveal)
        elif isinstance(task, tasks.ChoiceTask):
            assert f"({task.answer})" in reveal, (task.id, reveal)


# ---- no number task's answer is printed above the task ----------------------------------------

ALL_TASKS = TASKS
OUTPUT_NUMBER = re.compile(r"[-+]?(?:\d+\.\d+|\.\d+)(?:e[-+]?\d+)?", re.I)  # with a decimal point


def _number_tasks_asked() -> list[tuple[Path, str]]:
    found = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and "your-turn" in cell.metadata.get("tags", []):
                for task_id in CHECK_CALL.findall(cell.source):
                    task = ALL_TASKS.get(task_id)
                    # an integer answer (a position, a count, 0) is not told apart from the
                    # labels and counts every output prints
                    if isinstance(task, tasks.NumberTask) and task.answer != round(task.answer):
                        found.append((path, task_id))
    return found


def _printed_above(path: Path, task_id: str) -> list[str]:
    """Numbers in the outputs of the cells above the task's cell that agree with its answer."""
    task = ALL_TASKS[task_id]
    hits = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        if task_id in CHECK_CALL.findall(cell.source):
            return hits
        for out in cell.get("outputs", []):
            text = out.get("text", "") or out.get("data", {}).get("text/plain", "")
            hits += [
                v
                for v in OUTPUT_NUMBER.findall(text)
                if abs(abs(float(v)) - abs(task.answer)) <= task.tolerance
            ]
    raise AssertionError(f"{task_id} is not asked in {path.name}")


@pytest.mark.parametrize(
    ("path", "task_id"),
    _number_tasks_asked(),
    ids=lambda value: value if isinstance(value, str) else value.stem,
)
def test_no_number_task_has_its_answer_printed_above_it(path, task_id):
    assert _printed_above(path, task_id) == [], (
        f"{path.name}: the answer of {task_id} is printed above the task"
    )


def test_the_answer_above_check_finds_a_printed_answer(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "print(x)", outputs=[nbformat.v4.new_output("stream", text="loss 1.3133 and 0.5\n")]
        ),
        nbformat.v4.new_code_cell('tasks.check("01-1", my_loss)'),
    ]
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    assert _printed_above(path, "01-1") == ["1.3133"]
    nb.cells.reverse()  # printed below the task: fine
    nbformat.write(nb, path)
    assert _printed_above(path, "01-1") == []
