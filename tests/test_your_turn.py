"""The your-turn tasks: every checker accepts the right answer, rejects a wrong one with a hint
that does not give the answer away, and says "not answered yet" to an untouched cell; every lesson
01-04 has at least three such tasks, each with its answer behind a <details> reveal."""

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rmcourse.quiz import tasks

LESSONS = sorted(Path(__file__).resolve().parents[1].glob("notebooks/0[1-4]_*.ipynb"))
CHECK_CALL = re.compile(r"tasks\.check\(\s*\"([0-9a-z-]+)\"")

# (task id, a right answer, a wrong answer, a word the hint for that wrong answer must contain)
CASES = [
    ("01-pair-loss", np.log1p(np.e), np.log1p(np.exp(-1.0)), "sign"),
    ("01-pair-loss", np.log1p(np.e), 2.0, "margin"),
    ("01-three-to-one", np.log(3), 0.75, "probability"),
    ("01-three-to-one", np.log(3), -np.log(3), "positive"),
    ("01-what-sigma-means", "b", "a", "agree"),
    ("01-shifted-loss", 0.8357, 10.8357, "depend"),
    ("02-stable-log-sigmoid", lambda x: -np.logaddexp(0.0, -x),
     lambda x: np.log(1 / (1 + np.exp(-x))), "overflows"),
    ("02-stable-log-sigmoid", lambda x: np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))),
     lambda x: np.where(x < 0, x - np.log(1 + np.exp(x)), -np.log(1 + np.exp(-x))), "log1p"),
    ("02-stable-log-sigmoid", lambda x: -np.logaddexp(0.0, -x),
     lambda x: -np.log1p(np.exp(-x)) if x >= 0 else x - np.log1p(np.exp(x)), "element-wise"),
    ("02-grad-single-pair", -1 / (1 + np.exp(-2.0)), 1 / (1 + np.exp(-2.0)), "sign"),
    ("02-ranking-loss", np.mean(np.log1p(np.exp(-np.array([2.0, 3.0, 1.0])))),
     np.sum(np.log1p(np.exp(-np.array([2.0, 3.0, 1.0])))), "mean"),
    ("03-torch-loss", lambda c, r: -F.logsigmoid(c - r).mean(),
     lambda c, r: -torch.log(torch.sigmoid(c - r)).mean(), "finite"),
    ("03-torch-loss", lambda c, r: -F.logsigmoid(c - r).mean(),
     lambda c, r: -F.logsigmoid(r - c).mean(), "sign"),
    ("03-margin-equal-rewards", np.log1p(np.exp(1.5)), np.log(2), "shifts"),
    ("03-margin-equal-rewards", np.log1p(np.exp(1.5)), np.log1p(np.exp(-1.5)), "negative"),
    ("03-centering-penalty", 0.25, 0.5, "not the sum"),
    ("03-centering-penalty", 0.25, 1.25, "difference"),
    ("03-centering-penalty", 0.25, 0.15, "before averaging"),
    ("03-centering-penalty", 0.25, 0.75, "not each reward"),
    ("03-bfloat16-rewards", "c", "d", "float32"),
    ("03-bfloat16-rewards", "c", "b", "significant bits"),
    ("04-bayes-of-margins", 0.5 * 0.5 + 0.5 / (1 + np.exp(-2.0)), 1 / (1 + np.exp(-2.0)), "ties"),
    ("04-constant-model", 0.0, 0.5, "rewards are equal"),
    ("04-bayes-of-margins", 0.5 * 0.5 + 0.5 / (1 + np.exp(-2.0)), 0.5 / (1 + np.exp(-2.0)),
     "either order"),
    ("01-three-to-one", np.log(3), 3.0, "not the odds"),
    ("04-above-the-ceiling", "c", "a", "r*"),
    ("07-shifted-reward", 0.0, 10.0, "Z(x)"),
    ("07-first-dpo-loss", np.log(2), 0.5, "probability"),
    ("07-largest-kl", "a", "c", "expensive"),
]


@pytest.mark.parametrize(("task_id", "right", "wrong", "hint_word"), CASES)
def test_a_checker_accepts_the_right_answer_and_hints_at_a_wrong_one(task_id, right, wrong,
                                                                    hint_word):
    assert tasks.check(task_id, right).status == "right"
    verdict = tasks.check(task_id, wrong)
    assert verdict.status == "wrong"
    assert hint_word in verdict.message
    task = tasks.task_by_id(task_id)
    if isinstance(task, tasks.NumberTask):  # the hint must not state the number asked for
        for digits in (2, 3, 4):
            assert f"{task.answer:.{digits}f}" not in verdict.message


def test_every_task_is_exercised_by_a_case():
    assert {case[0] for case in CASES} == set(tasks.TASKS)


@pytest.mark.parametrize("task_id", sorted(tasks.TASKS))
def test_an_untouched_answer_is_not_answered_yet(task_id):
    def stub(*args):
        ...  # an untouched code cell

    for untouched in (..., None, stub):
        if untouched is stub and not isinstance(tasks.TASKS[task_id], tasks.CodeTask):
            continue
        verdict = tasks.check(task_id, untouched)
        assert verdict.status == "unanswered" and "not answered yet" in str(verdict)


def test_bad_task_ids_and_answers_name_the_problem():
    with pytest.raises(ValueError, match="no task with id 'nope'"):
        tasks.check("nope", 1.0)
    with pytest.raises(ValueError, match="has no option 'z'"):
        tasks.check("01-what-sigma-means", "z")
    with pytest.raises(TypeError, match="takes a number"):
        tasks.check("01-pair-loss", "1.31")
    with pytest.raises(TypeError, match="takes a function"):
        tasks.check("02-stable-log-sigmoid", 0.5)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_each_lesson_has_three_tasks_with_a_reveal_and_runs_them_unanswered(path):
    nb = nbformat.read(path, as_version=4)
    lesson = path.name[:2]
    cells = nb.cells
    task_cells = [i for i, c in enumerate(cells) if "your-turn" in c.metadata.get("tags", [])
                  and c.cell_type == "code"]
    assert len(task_cells) >= 3, f"{path.name}: {len(task_cells)} your-turn code cells"
    for i in task_cells:
        ids = CHECK_CALL.findall(cells[i].source)
        assert len(ids) == 1 and ids[0].startswith(lesson + "-"), cells[i].source
        assert ids[0] in tasks.TASKS
        outputs = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                          for o in cells[i].outputs)
        assert f"{ids[0]}: not answered yet" in outputs, f"{ids[0]} is committed answered"
        reveal = next((c for c in cells[i + 1:] if c.cell_type == "markdown"), None)
        assert reveal is not None and "<details>" in reveal.source and "</details>" in reveal.source


def _states(text: str, value: float) -> bool:
    """True when a number in ``text`` is ``value`` to the digits it is written with."""
    for match in re.finditer(r"[-−]?\d+(?:\.(\d+))?", text):
        written = float(match.group(0).replace("−", "-"))
        decimals = len(match.group(1) or "")
        if abs(written - value) <= 0.5 * 10.0 ** -decimals + 1e-12:
            return True
    return False


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_each_reveal_states_the_answer_its_checker_accepts(path):
    cells = nbformat.read(path, as_version=4).cells
    for i, cell in enumerate(cells):
        if "your-turn" not in cell.metadata.get("tags", []) or cell.cell_type != "code":
            continue
        task = tasks.task_by_id(CHECK_CALL.findall(cell.source)[0])
        reveal = next(c for c in cells[i + 1:] if c.cell_type == "markdown").source
        reveal = reveal[reveal.index("<details>"):reveal.index("</details>")]
        if isinstance(task, tasks.NumberTask):
            assert _states(reveal, task.answer), (task.id, reveal)
        elif isinstance(task, tasks.ChoiceTask):
            assert f"({task.answer})" in reveal, (task.id, reveal)
