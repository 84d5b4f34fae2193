"""The solution notebooks (solutions/*.ipynb): nbgrader layout, and solutions that are right.

Each solution notebook is the single source of an exercise notebook and of its grading, so this
checks the conventions the generator and the grader rely on, read straight from the JSON:

- every cell carries nbgrader schema-3 metadata with the right keys and types;
- grade_ids are unique; a locked ``setup`` cell comes first and binds ``_grader``;
- ``### BEGIN/END SOLUTION`` sit only in solution cells, inside function bodies, with a ``# HINT:``;
  ``### BEGIN/END HIDDEN TESTS`` only in test cells; both balanced;
- every exercise has visible tests, hidden tests and points, and the points stated in the
  notebook's headings are the points of its test cells;
- test cells reach numpy, torch and rmcourse only through ``_grader``; the functions a student
  writes do not shadow a name the locked cells bind;
- with the solutions replaced by stubs, every test cell fails (no test that cannot fail);
- each solution function agrees with the rmcourse reference on inputs beyond those in the notebook.

Executing the notebooks themselves (solutions pass their own visible and hidden tests) is nbval's
job in ``make test``.
"""

from __future__ import annotations

import ast
import copy
import math
import re

import nbformat
import numpy as np
import pytest
import torch
from helpers import ROOT

from rmcourse import bt_fit, np_loss, torch_loss
from rmcourse import train as rm_train
from rmcourse.data import PreferenceWorld
from rmcourse.model import new_model
from rmcourse.scoring import encode_dataset

SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = (
    "01_bradley_terry",
    "02_numpy_loss",
    "03_pytorch_loss",
    "04_train_reward_model",
    "06_best_of_n",
    "07_dpo",
    "09_rl",
)

NBGRADER_KEYS = {"schema_version", "grade", "solution", "locked", "task", "grade_id"}
GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
SOLUTION_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[ \t]*$", re.M | re.S
)
HIDDEN_BLOCK = re.compile(
    r"^[ \t]*### BEGIN HIDDEN TESTS\n.*?^[ \t]*### END HIDDEN TESTS", re.M | re.S
)
HEADING_POINTS = re.compile(r"^## Exercise \d+ .*\((\d+) points?\)\s*$", re.M)
TOTAL_POINTS = re.compile(r"(\d+) in all")


def load(name: str) -> nbformat.NotebookNode:
    return nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)


def meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def role(cell) -> str:
    m = meta(cell)
    if m.get("solution"):
        return "solution"
    if m.get("grade"):
        return "test"
    return "locked"


def exercises(nb) -> list[tuple[object, list]]:
    """(solution cell, its test cells) in order: tests run up to the next solution cell."""
    groups: list[tuple[object, list]] = []
    for cell in nb.cells:
        if role(cell) == "solution":
            groups.append((cell, []))
        elif role(cell) == "test":
            assert groups, f"test cell {meta(cell)['grade_id']} comes before any solution cell"
            groups[-1][1].append(cell)
    return groups


def stub(source: str) -> str:
    """The exercise version of a solution cell: each solution block becomes a raise."""
    return SOLUTION_BLOCK.sub(
        lambda m: f"{m['indent']}# YOUR CODE HERE\n{m['indent']}raise NotImplementedError()", source
    )


def locked_code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and role(c) == "locked"]


def bound_names(source: str) -> set[str]:
    """Names a cell binds at top level: imports, assignments, defs."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def run_cells(sources: list[str]) -> dict:
    namespace: dict = {}
    for source in sources:
        exec(compile(source, "<cell>", "exec"), namespace)
    return namespace


def solved(name: str) -> dict:
    """The namespace after the notebook's locked code cells and solution cells ran (no tests)."""
    nb = load(name)
    return run_cells([c.source for c in nb.cells if c.cell_type == "code" and role(c) != "test"])


# --------------------------------------------------------------------------- layout


def test_every_solution_notebook_is_listed():
    assert sorted(p.stem for p in SOLUTIONS.glob("*.ipynb")) == sorted(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_cell_has_nbgrader_schema_3_metadata(name):
    for index, cell in enumerate(load(name).cells):
        m = meta(cell)
        where = f"{name} cell {index} ({m.get('grade_id', '?')})"
        expected = NBGRADER_KEYS | ({"points"} if m.get("grade") else set())
        assert set(m) == expected, f"{where}: keys {sorted(m)}, expected {sorted(expected)}"
        assert m["schema_version"] == 3, where
        for key in ("grade", "solution", "locked", "task"):
            assert isinstance(m[key], bool), f"{where}: {key} must be a bool, got {m[key]!r}"
        assert m["task"] is False, where
        assert GRADE_ID.match(m["grade_id"]), f"{where}: bad grade_id {m['grade_id']!r}"
        if m["solution"]:
            assert cell.cell_type == "code" and not m["grade"] and not m["locked"], where
        elif m["grade"]:
            assert cell.cell_type == "code" and m["locked"], where
            points = m["points"]
            assert isinstance(points, (int, float)) and points > 0, f"{where}: points {points!r}"
        else:
            assert m["locked"], f"{where}: a cell that is neither solution nor test must be locked"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_grade_ids_are_unique_and_tests_are_named_after_their_exercise(name):
    nb = load(name)
    ids = [meta(c)["grade_id"] for c in nb.cells]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicated, f"duplicated grade_ids: {duplicated}"
    for solution, tests in exercises(nb):
        for cell in tests:
            assert meta(cell)["grade_id"].startswith(meta(solution)["grade_id"] + "_")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_setup_cell_is_the_first_code_cell_and_binds_the_grader(name):
    nb = load(name)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert meta(first)["grade_id"] == "setup" and role(first) == "locked"
    assert "from rmcourse.grading.checks import checks as _grader" in first.source
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# Exercises")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_without_outputs(name):
    for cell in load(name).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, meta(cell)["grade_id"]


# --------------------------------------------------------------------------- markers


def marker_sequence(source: str, begin: str, end: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if line.strip() in (begin, end)]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solution_and_hidden_markers_are_balanced_and_in_their_cells(name):
    for cell in load(name).cells:
        gid = meta(cell)["grade_id"]
        solution = marker_sequence(cell.source, BEGIN_SOLUTION, END_SOLUTION)
        hidden = marker_sequence(cell.source, BEGIN_HIDDEN, END_HIDDEN)
        if role(cell) == "solution":
            assert solution and solution == [BEGIN_SOLUTION, END_SOLUTION] * (len(solution) // 2), (
                f"{gid}: solution markers {solution}"
            )
            assert not hidden, f"{gid}: hidden-test markers in a solution cell"
        elif role(cell) == "test":
            assert hidden == [BEGIN_HIDDEN, END_HIDDEN] * (len(hidden) // 2), f"{gid}: {hidden}"
            assert not solution, f"{gid}: solution markers in a test cell"
        else:
            assert not solution and not hidden, f"{gid}: markers in a locked cell"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solution_blocks_sit_in_function_bodies_and_open_with_a_hint(name):
    for solution, _ in exercises(load(name)):
        gid = meta(solution)["grade_id"]
        blocks = list(SOLUTION_BLOCK.finditer(solution.source))
        assert blocks, gid
        for block in blocks:
            assert block["indent"], f"{gid}: a solution block must be inside a function body"
            first = block.group(0).splitlines()[1].strip()
            assert first.startswith("# HINT:") and len(first) > 12, f"{gid}: no hint: {first!r}"
        tree = ast.parse(stub(solution.source))
        kinds = {type(node).__name__ for node in tree.body}
        assert kinds == {"FunctionDef"}, f"{gid}: the stub must only define functions, has {kinds}"


# --------------------------------------------------------------------------- points


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_exercise_has_visible_and_hidden_tests(name):
    groups = exercises(load(name))
    assert 3 <= len(groups) <= 5, f"{len(groups)} exercises"
    for solution, tests in groups:
        gid = meta(solution)["grade_id"]
        assert tests, f"exercise {gid} has no test cell"
        visible = "\n".join(HIDDEN_BLOCK.sub("", t.source) for t in tests)
        hidden = "\n".join(m.group(0) for t in tests for m in HIDDEN_BLOCK.finditer(t.source))
        for kind, code in (("visible", visible), ("hidden", hidden)):
            assert "_grader.close(" in code or "assert " in code, f"{gid}: no {kind} check"
        assert sum(meta(t)["points"] for t in tests) >= 2, gid


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_points_stated_in_the_notebook_are_the_points_of_its_tests(name):
    nb = load(name)
    stated = [int(p) for c in nb.cells if c.cell_type == "markdown"
              for p in HEADING_POINTS.findall(c.source)]  # fmt: skip
    actual = [sum(meta(t)["points"] for t in tests) for _, tests in exercises(nb)]
    assert stated == actual, f"headings say {stated}, the test cells give {actual}"
    assert TOTAL_POINTS.search(nb.cells[0].source)[1] == str(sum(actual))


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_student_functions_do_not_shadow_what_locked_cells_bind(name):
    nb = load(name)
    locked = set().union(*(bound_names(c.source) for c in locked_code_cells(nb)))
    defined: list[str] = []
    for solution, _ in exercises(nb):
        defined += [n.name for n in ast.parse(solution.source).body]
    assert len(defined) == len(set(defined)), f"a function is defined twice: {defined}"
    shadowed = locked & set(defined)
    assert not shadowed, f"student functions shadow names the locked cells bind: {shadowed}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_test_cells_reach_libraries_only_through_the_grader(name):
    nb = load(name)
    setup = next(c for c in nb.cells if meta(c)["grade_id"] == "setup")
    forbidden = bound_names(setup.source) - {"_grader"}
    for _, tests in exercises(nb):
        for cell in tests:
            tree = ast.parse(cell.source)
            used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
            assert not used & forbidden, f"{meta(cell)['grade_id']} uses {used & forbidden}"
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    modules = (
                        [node.module]
                        if isinstance(node, ast.ImportFrom)
                        else [a.name for a in node.names]
                    )
                    assert not any(
                        m.split(".")[0] in {"rmcourse", "numpy", "torch"} for m in modules
                    ), f"{meta(cell)['grade_id']} imports {modules}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_test_cell_fails_on_the_stubs(name):
    nb = load(name)
    namespace = run_cells(
        [
            stub(c.source) if role(c) == "solution" else c.source
            for c in nb.cells
            if c.cell_type == "code" and role(c) != "test"
        ]
    )
    for _, tests in exercises(nb):
        for cell in tests:
            try:
                exec(compile(cell.source, meta(cell)["grade_id"], "exec"), namespace)
            except (NotImplementedError, AssertionError):
                continue
            pytest.fail(f"test cell {meta(cell)['grade_id']} passes without a solution")


# --------------------------------------------------------------------------- correctness


def test_01_solutions_agree_with_the_reference():
    ns = solved("01_bradley_terry")
    rng = np.random.default_rng(10)
    a, b = rng.normal(0, 5, 200), rng.normal(0, 5, 200)
    np.testing.assert_allclose(
        ns["preference_probability"](a, b), np.exp(np_loss.log_sigmoid(a - b)), rtol=1e-12
    )
    for w, l in zip(a[:30], b[:30], strict=True):
        assert math.isclose(ns["pair_loss"](w, l), np_loss.bt_loss([w], [l]), rel_tol=1e-12)
    assert ns["pair_loss"](-700.0, 700.0) == 1400.0
    pairs = list(zip(a.tolist(), b.tolist(), strict=True))
    assert math.isclose(ns["dataset_loss"](pairs), np_loss.bt_loss(a, b), rel_tol=1e-12)
    hand = ns["hand_computed_losses"]()
    chosen, rejected = np.array([2.0, 0.5, 0.2, -1.5]), np.array([-1.0, 0.5, 0.4, 1.5])
    want = [np_loss.bt_loss(chosen[i : i + 1], rejected[i : i + 1]) for i in range(4)]
    np.testing.assert_allclose(hand, [*want, np_loss.bt_loss(chosen, rejected)], atol=5e-4)
    for wins_a, wins_b in ((13, 2), (1, 1), (3, 20)):
        winners = np.array([0] * wins_a + [1] * wins_b)
        scores = bt_fit.fit_bt_scores(winners, 1 - winners, 2)
        assert math.isclose(
            ns["two_item_score_gap"](wins_a, wins_b),
            scores[0] - scores[1],
            rel_tol=1e-6,
            abs_tol=1e-9,
        )
    with pytest.raises(ValueError, match="empty"):
        ns["dataset_loss"]([])


def test_02_solutions_agree_with_the_reference():
    ns = solved("02_numpy_loss")
    x = np.concatenate([np.linspace(-50, 50, 101), [-1e4, -745.0, 745.0, 1e4]])
    np.testing.assert_allclose(ns["log_sigmoid"](x), np_loss.log_sigmoid(x), rtol=1e-13)
    rng = np.random.default_rng(11)
    for n in (1, 7, 300):
        c, r = rng.normal(0, 4, n), rng.normal(0, 4, n)
        m, w = rng.uniform(-1, 2, n), rng.uniform(0, 3, n)
        options = ({}, {"margin": 1.5}, {"margin": m}, {"weights": w}, {"margin": m, "weights": w})
        for kwargs in options:
            assert math.isclose(
                ns["bt_loss"](c, r, **kwargs), np_loss.bt_loss(c, r, **kwargs), rel_tol=1e-12
            )
            for got, want in zip(
                ns["bt_loss_grad"](c, r, **kwargs),
                np_loss.bt_loss_grad(c, r, **kwargs),
                strict=True,
            ):
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
    for k in (2, 3, 6):
        rewards = rng.normal(0, 3, (9, k))
        want = np_loss.ranking_loss(rewards)
        assert math.isclose(ns["ranking_loss"](rewards), want, rel_tol=1e-12)
    for call in (lambda: ns["bt_loss"]([1.0, 2.0], [1.0]), lambda: ns["ranking_loss"]([[1.0]])):
        with pytest.raises(ValueError):
            call()


def test_03_solutions_agree_with_the_reference():
    ns = solved("03_pytorch_loss")
    gen = torch.Generator().manual_seed(12)
    c = torch.randn(64, generator=gen, dtype=torch.float64) * 4
    r = torch.randn(64, generator=gen, dtype=torch.float64) * 4
    m = torch.rand(64, generator=gen, dtype=torch.float64)
    for kwargs in (
        {},
        {"margin": 0.3},
        {"margin": m, "center_coef": 0.02},
        {"center_coef": 0.1, "reduction": "sum"},
        {"margin": m, "reduction": "none"},
    ):
        want = torch_loss.bt_loss(c, r, **kwargs)
        torch.testing.assert_close(ns["bt_loss"](c, r, **kwargs), want)
    for dtype in (torch.float32, torch.float64):
        assert ns["bt_loss"](c.to(dtype), r.to(dtype)).dtype == dtype
    c_ties = torch.tensor([1.0, 2.0, 3.0, 0.0])
    assert ns["accuracy"](c_ties, torch.tensor([1.0, 1.0, 4.0, 0.0])) == 0.25  # ties are wrong
    assert ns["accuracy"](c, r) == torch_loss.accuracy(c, r)
    for k in (2, 4, 7):
        rewards = torch.randn(5, k, generator=gen, dtype=torch.float64)
        torch.testing.assert_close(ns["ranking_loss"](rewards), torch_loss.ranking_loss(rewards))
    with pytest.raises(ValueError, match="reduction"):
        ns["bt_loss"](c, r, reduction="max")


def test_04_solutions_agree_with_the_reference():
    ns = solved("04_train_reward_model")
    world = PreferenceWorld(seed=0)
    tok = world.tokenizer()
    data = world.sample(40, seed=9)
    ids = ns["encode_batch"](tok, data, 32)
    assert torch.equal(ids, torch.cat(encode_dataset(tok, data, 32)))
    torch.manual_seed(13)
    model = new_model(tok, d_model=8, n_heads=2, n_layers=1, d_ff=16)
    want = rm_train.evaluate(model, tok, data)
    for batch_size in (256, 6):
        got = ns["evaluate"](model, ids, batch_size=batch_size)
        assert math.isclose(got["loss"], want.loss, rel_tol=1e-5)
        assert got["accuracy"] == want.accuracy
    before = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = ns["train_step"](model, ids, optimizer, grad_clip=1e-2)
    r_c, r_r = before(ids).chunk(2)
    expected = torch_loss.bt_loss(r_c, r_r)
    expected.backward()
    assert math.isclose(loss, expected.item(), rel_tol=1e-6)
    norm = torch.sqrt(sum((p.grad**2).sum() for p in before.parameters()))
    scale = min(1.0, 1e-2 / (float(norm) + 1e-6))  # clip_grad_norm_'s factor
    for p, q in zip(model.parameters(), before.parameters(), strict=True):
        torch.testing.assert_close(p, q - 0.1 * scale * q.grad, rtol=1e-5, atol=1e-7)


def test_09_solutions_agree_with_the_reference():
    from rmcourse import optimum, rl

    ns = solved("09_rl")
    rng = np.random.default_rng(11)
    ref = np.log(rng.dirichlet(np.ones(9), size=3))
    rewards = rng.normal(size=(3, 9)) * 4
    for beta in (1e-4, 0.05, 1.0, 50.0):
        np.testing.assert_allclose(ns["tilt"](ref, rewards, beta), optimum.tilt(ref, rewards, beta),
                                   rtol=1e-9, atol=1e-9)  # fmt: skip
    for k in (2, 5):
        r = rng.normal(size=(4, k))
        np.testing.assert_allclose(ns["rloo_advantages"](r), rl.rloo_advantages(r).numpy(),
                                   rtol=1e-12, atol=1e-12)  # fmt: skip
    logp, ref_logp = rng.normal(size=(2, 7)) - 3
    pairs = zip(ns["kl_estimates"](logp, ref_logp), rl.kl_estimates(logp, ref_logp), strict=True)
    for got, want in pairs:
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- pitfalls

# (notebook, the function, a naive version that falls into the exercise's central pitfall,
#  a phrase the failing VISIBLE test must say)
PITFALLS = [
    (
        "01_bradley_terry",
        "preference_probability",
        "def preference_probability(r_w, r_l):\n    return 1 / (1 + math.exp(-(r_w - r_l)))\n",
        "np.exp takes arrays",
    ),
    (
        "01_bradley_terry",
        "preference_probability",  # element-wise, but inf / inf at a gap of 2000
        "def preference_probability(r_w, r_l):\n"
        "    z = np.asarray(r_w, dtype=float) - np.asarray(r_l, dtype=float)\n"
        "    return np.exp(z) / (1 + np.exp(z))\n",
        "inf / inf is nan",
    ),
    (
        "01_bradley_terry",
        "pair_loss",
        "def pair_loss(r_w, r_l):\n    return math.log(1 + math.exp(-(r_w - r_l)))\n",
        "overflowed",
    ),
    (
        "01_bradley_terry",
        "pair_loss",  # overflow handled, but log(1 + tiny) rounds to 0
        "def pair_loss(r_w, r_l):\n    d = r_w - r_l\n"
        "    return -d + math.log(1 + math.exp(d)) if d < 0 else math.log(1 + math.exp(-d))\n",
        "log1p",
    ),
    (
        "01_bradley_terry",
        "dataset_loss",
        "def dataset_loss(pairs):\n"
        "    return sum(pair_loss(w, l) for w, l in pairs) / len(pairs)\n",
        "divided by zero",
    ),
    (
        "01_bradley_terry",
        "two_item_score_gap",
        "def two_item_score_gap(wins_a, wins_b):\n    return math.log(wins_a / wins_b)\n",
        "divided by zero",
    ),
    (
        "02_numpy_loss",
        "log_sigmoid",
        "def log_sigmoid(x):\n    return np.log(1 / (1 + np.exp(-np.asarray(x, dtype=float))))\n",
        "Use a stable form",
    ),
    (
        "02_numpy_loss",
        "bt_loss",
        "def bt_loss(r_chosen, r_rejected, margin=0.0, weights=None):\n"
        "    losses = -log_sigmoid(np.asarray(r_chosen) - np.asarray(r_rejected) - margin)\n"
        "    return float(np.sum(losses * (1 if weights is None else weights)) / losses.size)\n",
        "weighted MEAN",
    ),
    (
        "03_pytorch_loss",
        "accuracy",
        "def accuracy(r_chosen, r_rejected):\n"
        "    return (r_chosen >= r_rejected).float().mean().item()\n",
        "a tie counts as wrong",
    ),
    (
        "03_pytorch_loss",
        "bt_loss",
        "def bt_loss(r_chosen, r_rejected, margin=None, center_coef=0.0, reduction='mean'):\n"
        "    d = r_chosen - r_rejected - (0.0 if margin is None else margin)\n"
        "    losses = -torch.log(torch.sigmoid(d)) + center_coef * (r_chosen + r_rejected) ** 2\n"
        "    return {'mean': losses.mean(), 'sum': losses.sum(), 'none': losses}[reduction]\n",
        "use F.logsigmoid",
    ),
    (
        "03_pytorch_loss",
        "bt_loss",  # c times the square of the mean sum, not the mean square
        "def bt_loss(r_chosen, r_rejected, margin=None, center_coef=0.0, reduction='mean'):\n"
        "    d = r_chosen - r_rejected - (0.0 if margin is None else margin)\n"
        "    losses = -F.logsigmoid(d) + center_coef * (r_chosen + r_rejected).mean() ** 2\n"
        "    return {'mean': losses.mean(), 'sum': losses.sum(), 'none': losses}[reduction]\n",
        "not the square of their mean",
    ),
    (
        "04_train_reward_model",
        "reward_pairs",
        "def reward_pairs(model, batch):\n    half = batch.shape[0] // 2\n"
        "    return model(batch[:half]), model(batch[half:])\n",
        "run it ONCE",
    ),
    (
        "04_train_reward_model",
        "fit_reward_model",  # chosen and rejected drawn apart
        "def fit_reward_model(model, train_batch, steps, batch_size=64, lr=1e-2, seed=0):\n"
        "    chosen, rejected = train_batch.chunk(2)\n"
        "    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)\n"
        "    g = torch.Generator().manual_seed(seed)\n"
        "    losses = []\n"
        "    for _ in range(steps):\n"
        "        i = torch.randint(0, chosen.shape[0], (batch_size,), generator=g)\n"
        "        j = torch.randint(0, chosen.shape[0], (batch_size,), generator=g)\n"
        "        losses.append(train_step(model, torch.cat([chosen[i], rejected[j]]), optimizer))\n"
        "    return losses\n",
        "not the same pair",
    ),
    (
        "04_train_reward_model",
        "fit_reward_model",  # one batch drawn once, reused at every step
        "def fit_reward_model(model, train_batch, steps, batch_size=64, lr=1e-2, seed=0):\n"
        "    chosen, rejected = train_batch.chunk(2)\n"
        "    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)\n"
        "    g = torch.Generator().manual_seed(seed)\n"
        "    idx = torch.randint(0, chosen.shape[0], (batch_size,), generator=g)\n"
        "    batch = torch.cat([chosen[idx], rejected[idx]])\n"
        "    return [train_step(model, batch, optimizer) for _ in range(steps)]\n",
        "fresh batch",
    ),
    (
        "07_dpo",
        "dpo_step",  # no zero_grad: the second step adds the first step's gradient
        "def dpo_step(policy, optimizer, batch, ref_chosen_logps, ref_rejected_logps, beta):\n"
        "    ids = torch.cat([batch['chosen_ids'], batch['rejected_ids']])\n"
        "    mask = torch.cat([batch['chosen_mask'], batch['rejected_mask']])\n"
        "    chosen, rejected = sequence_logprobs(policy(ids), ids, mask).chunk(2)\n"
        "    loss = dpo_loss(chosen, rejected, ref_chosen_logps, ref_rejected_logps, beta)\n"
        "    loss.backward()\n    optimizer.step()\n    return loss.item()\n",
        "zero_grad",
    ),
    (
        "07_dpo",
        "dpo_step",  # no optimizer.step(): the first step already differs, not zero_grad's
        "def dpo_step(policy, optimizer, batch, ref_chosen_logps, ref_rejected_logps, beta):\n"
        "    ids = torch.cat([batch['chosen_ids'], batch['rejected_ids']])\n"
        "    mask = torch.cat([batch['chosen_mask'], batch['rejected_mask']])\n"
        "    chosen, rejected = sequence_logprobs(policy(ids), ids, mask).chunk(2)\n"
        "    loss = dpo_loss(chosen, rejected, ref_chosen_logps, ref_rejected_logps, beta)\n"
        "    optimizer.zero_grad()\n    loss.backward()\n    return loss.item()\n",
        "after step 1: one step should be",
    ),
    (
        "09_rl",
        "tilt",  # normalise in probability space: exp(r / beta) overflows at a tiny beta
        "def tilt(ref_logprobs, rewards, beta):\n"
        "    w = np.exp(ref_logprobs + rewards / beta)\n"
        "    return np.log(w / w.sum(axis=-1, keepdims=True))\n",
        "inf / inf is nan",
    ),
    (
        "09_rl",
        "rloo_advantages",  # the answer's own reward left in its baseline
        "def rloo_advantages(rewards):\n    return rewards - rewards.mean(axis=1, keepdims=True)\n",
        "leave the answer out of its own baseline",
    ),
    (
        "09_rl",
        "kl_estimates",  # rho the policy over the reference: the other direction's estimator
        "def kl_estimates(logprobs, ref_logprobs):\n"
        "    log_rho = logprobs - ref_logprobs\n"
        "    return logprobs - ref_logprobs, np.expm1(log_rho) - log_rho\n",
        "the reference over the policy",
    ),
]


@pytest.mark.parametrize(
    ("name", "function", "naive", "phrase"),
    PITFALLS,
    ids=[f"{p[0][:2]}-{p[1]}-{i}" for i, p in enumerate(PITFALLS)],
)
def test_a_visible_test_catches_the_central_pitfall_and_says_why(name, function, naive, phrase):
    nb = load(name)
    sources = []
    for cell in nb.cells:
        if cell.cell_type != "code" or role(cell) == "test":
            continue
        sources.append(
            naive if role(cell) == "solution" and f"def {function}(" in cell.source else cell.source
        )
    namespace = run_cells(sources)
    visible = [
        cell
        for solution, tests in exercises(nb)
        if f"def {function}(" in solution.source
        for cell in tests
        if BEGIN_HIDDEN not in cell.source
    ]
    assert visible, f"{function} has no visible test"
    with pytest.raises(AssertionError, match=re.escape(phrase)), np.errstate(all="ignore"):
        for cell in visible:
            exec(compile(cell.source, meta(cell)["grade_id"], "exec"), namespace)


def test_hints_do_not_hold_the_solution():
    """A NotImplementedError hint guides: it holds no line of code of its solution."""
    for name in NOTEBOOKS:
        for cell in load(name).cells:
            if role(cell) != "solution":
                continue
            for block in SOLUTION_BLOCK.finditer(cell.source):
                lines = [line.strip() for line in block.group(0).splitlines()[1:-1]]
                hints = " ".join(line for line in lines if line.startswith("# HINT:"))
                code = [line for line in lines if line and not line.startswith("#")]
                for line in code:
                    assert len(line) < 12 or line not in hints, (name, line)
