"""Lesson 07 (DPO): five your-turn tasks, each committed unanswered with its answer behind a
reveal and every cell that prints an answer committed without outputs; the quiz cell shows the DPO
questions as they are now; the sections are numbered in order; the key cells keep their checked
outputs; no wall-clock figure is committed; the claim about implicit rewards at the exact optimum
holds in the lesson's own toy example; the exact optimum the lesson prints is rmcourse.optimum's."""

import html
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from rmcourse import optimum, quiz, tasks
from rmcourse.data import PreferenceWorld
from rmcourse.np_loss import sigmoid

LESSON = Path(__file__).resolve().parents[1] / "notebooks" / "07_dpo.ipynb"
CHECK_CALL = re.compile(r"tasks\.check\(\s*\"([0-9a-z-]+)\"")

# the toy example of section 1
PI_REF = np.array([[0.4, 0.3, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25]])
R = np.array([[1.0, 0.0, 2.0, -1.0], [0.5, 1.5, -0.5, 0.0]])


@pytest.fixture(scope="module")
def cells():
    return nbformat.read(LESSON, as_version=4).cells


def _text(cell) -> str:
    return "".join(
        o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs
    )


def test_five_your_turn_tasks_committed_unanswered_with_a_reveal(cells):
    found = []
    for i, cell in enumerate(cells):
        if cell.cell_type != "code" or "your-turn" not in cell.metadata.get("tags", []):
            continue
        (task_id,) = CHECK_CALL.findall(cell.source)
        assert task_id.startswith("07-") and task_id in tasks.load_tasks()
        assert f"{task_id}: not answered yet" in _text(cell)
        reveal = next(c for c in cells[i + 1 :] if c.cell_type == "markdown").source
        assert "<details>" in reveal and "</details>" in reveal
        task = tasks.task_by_id(task_id)
        if isinstance(task, tasks.ChoiceTask):
            assert f"({task.answer})" in reveal
        found.append(task_id)
    assert found == ["07-1", "07-2", "07-3", "07-4", "07-5"]


@pytest.mark.parametrize(
    "marker",
    [
        "pi_shifted",  # 07-1: the change of log pi*
        "first loss",  # 07-2: the first logged loss
        "sample_with_log_ratios(",  # 07-3: the KL of every run
        "j_dpo",  # 07-3: the objective, from the runs' KL
        'ax.errorbar(m["kl"]',  # 07-3: the runs on the KL axis
        "few_pairs = ",  # 07-4: the runs on fewer pairs
        "pair_loss(h",  # 07-5: IPO's loss against the margin, averaged over labels
    ],
)
def test_cells_that_print_an_answer_are_tagged_and_committed_without_outputs(cells, marker):
    (cell,) = [c for c in cells if c.cell_type == "code" and marker in c.source]
    assert "answer-reveal" in cell.metadata.get("tags", [])
    assert "nbval-check-output" not in cell.metadata.get("tags", [])
    assert cell.outputs == []


def test_the_answers_sit_below_their_tasks(cells):
    order = [c.source for c in cells if c.cell_type == "code"]
    task = {
        t: next(i for i, s in enumerate(order) if f'"{t}"' in s)
        for t in ("07-1", "07-2", "07-3", "07-4", "07-5")
    }
    assert task["07-1"] < next(i for i, s in enumerate(order) if "pi_shifted" in s)
    assert task["07-2"] < next(i for i, s in enumerate(order) if "first loss" in s)
    assert task["07-3"] < next(i for i, s in enumerate(order) if "sample_with_log_ratios(" in s)
    assert task["07-4"] < next(i for i, s in enumerate(order) if "few_pairs = " in s)
    assert task["07-5"] < next(i for i, s in enumerate(order) if "pair_loss(h" in s)


def test_the_lesson_shows_the_dpo_quiz_and_has_objectives_and_a_summary(cells):
    assert any('quiz.show("dpo")' in c.source for c in cells if c.cell_type == "code")
    assert "Learning objectives" in cells[0].source
    assert any(c.source.startswith("## Summary") for c in cells if c.cell_type == "markdown")


def test_every_code_cell_ran_without_error_and_key_cells_are_checked(cells):
    code = [c for c in cells if c.cell_type == "code"]
    ran = [c for c in code if "answer-reveal" not in c.metadata.get("tags", [])]
    assert all(c.get("execution_count") for c in ran), "commit the lesson executed"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    checked = [c for c in code if "nbval-check-output" in c.metadata.get("tags", [])]
    assert len(checked) >= 6 and all(c.outputs for c in checked)


def test_no_wall_clock_figure_in_the_outputs_or_the_code(cells):
    code = [c for c in cells if c.cell_type == "code"]
    for cell in code:
        assert not re.search(r"\d\s*s\b|seconds|run time", _text(cell)), _text(cell)
        assert "perf_counter" not in cell.source and "train_seconds" not in cell.source


def _optimum_implicit_rewards(beta: float, drop_identical: bool):
    """Expected implicit reward of chosen and rejected answers at pi*, per prompt, for pairs of
    two independent draws from pi_ref labelled by Bradley-Terry on R."""
    pi_star = PI_REF * np.exp(R / beta)
    pi_star /= pi_star.sum(1, keepdims=True)
    implicit = beta * np.log(pi_star / PI_REF)  # (2, 4)
    pair = PI_REF[:, :, None] * PI_REF[:, None, :]  # (2, 4, 4)
    if drop_identical:
        pair = pair * (1 - np.eye(4))
        pair /= pair.sum(axis=(1, 2), keepdims=True)
    wins = sigmoid(R[:, :, None] - R[:, None, :])  # P(y1 chosen)
    chosen = (pair * (wins * implicit[:, :, None] + (1 - wins) * implicit[:, None, :])).sum((1, 2))
    both = (pair * (implicit[:, :, None] + implicit[:, None, :])).sum((1, 2))
    kl_ref = (PI_REF * np.log(PI_REF / pi_star)).sum(1)
    return chosen, both - chosen, kl_ref


@pytest.mark.parametrize("beta", [0.1, 0.5, 1.0, 2.0, 5.0])
def test_at_the_optimum_only_the_mean_of_chosen_and_rejected_is_bounded(beta):
    chosen, rejected, kl_ref = _optimum_implicit_rewards(beta, drop_identical=False)
    np.testing.assert_allclose((chosen + rejected) / 2, -beta * kl_ref, rtol=1e-12)
    assert np.all(rejected < 0)
    chosen_distinct, _, _ = _optimum_implicit_rewards(beta, drop_identical=True)
    # as the lesson states: positive for every prompt from beta = 1 on (pairs as the lesson builds
    # them), from beta = 2 on when identical answers are kept; negative for small beta
    assert np.all(chosen_distinct > 0) == (beta >= 1.0)
    assert np.all(chosen > 0) == (beta >= 2.0)
    assert np.all(chosen < 0) == (beta <= 1.0)


def test_the_lesson_prints_the_same_toy_table(cells):
    (cell,) = [c for c in cells if c.cell_type == "code" and "chosen_distinct" in c.source]
    rows = {
        float(line.split()[0]): [float(v) for v in line.split()[1:]]
        for line in _text(cell).splitlines()
        if re.match(r"\s*\d\.\d\s", line)
    }
    assert sorted(rows) == [0.1, 0.5, 1.0, 2.0]
    for beta, (chosen, rejected, mean, minus_kl, chosen_distinct) in rows.items():
        c, r, kl = _optimum_implicit_rewards(beta, drop_identical=False)
        cd, _, _ = _optimum_implicit_rewards(beta, drop_identical=True)
        want = [c.mean(), r.mean(), (c + r).mean() / 2, -(beta * kl).mean(), cd.mean()]
        np.testing.assert_allclose(
            [chosen, rejected, mean, minus_kl, chosen_distinct], want, atol=6e-4
        )


def test_the_sections_are_numbered_one_to_eight_in_order(cells):
    numbers = [
        int(n)
        for c in cells
        if c.cell_type == "markdown"
        for n in re.findall(r"^## (\d+)\.", c.source, flags=re.M)
    ]
    assert numbers == list(range(1, 9))


def test_the_committed_quiz_output_shows_the_current_questions(cells):
    (cell,) = [c for c in cells if c.cell_type == "code" and 'quiz.show("dpo")' in c.source]
    shown = _text(cell)  # the plain-text form: questions and options, no answers
    page = "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs)
    questions = [q for q in quiz.load_questions() if q.scenario == "dpo"]
    assert len(questions) >= 4
    for q in questions:
        assert q.prompt in shown and q.explanation not in shown, q.id
        assert html.escape(q.explanation, quote=False) in page, q.id  # behind the toggle
        assert all(o.text in shown for o in q.options), q.id


def test_the_printed_optimum_is_rmcourse_optimums_for_the_world_sampler_too(cells):
    """The table of pi*_beta (pi_ref: the SFT policy) sits near pi*_beta of the world's own
    sampler, which the SFT policy imitates; every prompt is the same kind of question."""

    (cell,) = [c for c in cells if c.cell_type == "code" and "policy_candidates(" in c.source]
    rows = {
        float(line.split()[0]): [float(v) for v in line.split()[1:]]
        for line in _text(cell).splitlines()
        if re.match(r"\s*\d\.\d\s", line)
    }
    assert sorted(rows) == [0.1, 1.0]
    world = PreferenceWorld(seed=0)
    exact = optimum.world_candidates(world, ["car : red . color ?"])
    for beta, (kl0, kl1, gold0, gold1, j0, j1) in rows.items():
        opt = optimum.solve(exact, beta)
        assert abs(kl0 - opt.kl[0]) < 0.25 and abs(kl1 - opt.kl[0]) < 0.25
        assert abs(gold0 - opt.gold[0]) < 0.1 and abs(gold1 - opt.gold[0]) < 0.1
        for kl, gold, j in ((kl0, gold0, j0), (kl1, gold1, j1)):
            assert j == pytest.approx(gold - beta * kl, abs=0.01)  # J = gold - beta KL
