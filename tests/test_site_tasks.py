"""The your-turn tasks on the site: the export is the notebooks' checker, the page's judge of a
typed number agrees with it, and the pages link what a student takes home."""

import json
import shutil
import subprocess

import pytest

from rmcourse.site.build import STATIC
from rmcourse.site.pages import exercises_page, landing_page, take_home_commands
from rmcourse.site.task_export import export_tasks
from rmcourse.tasks import ChoiceTask, CodeTask, NumberTask, judge, load_tasks

NODE = shutil.which("node")


def test_the_export_holds_every_task_and_the_checkers_verdicts(tmp_path):
    table = load_tasks()
    data = export_tasks(table, tmp_path)
    assert json.loads((tmp_path / "tasks" / "tasks.json").read_text()) == data
    assert (tmp_path / "tasks" / "tasks.js").read_text().startswith("window.rmcourseTasks = {")
    exported = {t["id"]: t for t in data["tasks"]}
    assert set(exported) == set(table)
    for task_id, task in table.items():
        entry = exported[task_id]
        if isinstance(task, ChoiceTask):
            assert entry["keys"] == sorted([*task.hints, task.answer])
            for key, verdict in entry["responses"].items():
                result = judge(table, task_id, key)
                assert verdict == {"correct": result.correct, "message": result.message}
            assert sum(v["correct"] for v in entry["responses"].values()) == 1
        elif isinstance(task, NumberTask):
            assert (entry["answer"], entry["tolerance"]) == (task.answer, task.tolerance)
            assert entry["decimals"] == task.decimals_needed
        else:
            assert isinstance(task, CodeTask)
            assert entry == {"id": task_id, "kind": "function"}  # nothing of the answer


def _typed_values(task: NumberTask) -> list[str]:
    """What a student may type: the answer, its roundings, each mistake, its roundings and the
    values half a unit beside them (the rounding of no mistake), far-off values."""
    values = [task.answer, task.answer + 3 * task.tolerance, task.answer - 1.7, 1e-7, -250.0]
    values += [value for value, _ in task.mistakes]
    typed = [repr(float(v)) for v in values] + [str(round(task.answer))]
    for decimals in range(1, task.decimals_needed + 2):
        typed.append(f"{task.answer:.{decimals}f}")
        typed += [f"{value:.{decimals}f}" for value, _ in task.mistakes]
        typed += [f"{value + side * 0.5 * 10.0**-decimals:.{decimals}f}"
                  for value, _ in task.mistakes for side in (-1, 1)]  # fmt: skip
    return typed


def _node_judge(pairs: list) -> list:
    """The site script's judgeNumber on each (exported task, typed text), run by node."""
    script = (
        f"const judge = require({json.dumps(str(STATIC / 'rmcourse-tasks.js'))}).judgeNumber;\n"
        f"const cases = {json.dumps(pairs)};\n"
        "console.log(JSON.stringify(cases.map(([task, text]) => judge(task, text))));\n"
    )
    done = subprocess.run([NODE], input=script, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


@pytest.mark.skipif(NODE is None, reason="needs node to run the site's script")
def test_the_pages_judge_of_a_typed_number_says_what_the_notebooks_checker_says(tmp_path):
    table = load_tasks()
    cases = [
        (task_id, text)
        for task_id, task in sorted(table.items())
        if isinstance(task, NumberTask)
        for text in _typed_values(task)
    ]
    tasks = {t["id"]: t for t in export_tasks(table, tmp_path)["tasks"]}
    verdicts = _node_judge([[tasks[task_id], text] for task_id, text in cases])
    assert len(verdicts) == len(cases) > 100
    for (task_id, text), verdict in zip(cases, verdicts, strict=True):
        result = judge(table, task_id, float(text))
        assert verdict == {"correct": result.correct, "message": result.message}, (task_id, text)
    (rejected,) = _node_judge([[tasks["01-1"], "0.5a"]])
    assert rejected == {"error": "task 01-1 takes a number, '0.5a' is not one"}


def test_the_landing_page_links_the_downloads_and_gives_the_commands():
    downloads = {"wheel": "rmcourse-0.1.0-py3-none-any.whl", "zip": "rmcourse-course-0.1.0.zip"}
    page = landing_page("# Title\n", ["01_a"], ["exercises"], downloads)
    assert '<a href="download/rmcourse-0.1.0-py3-none-any.whl" download>' in page
    assert '<a href="download/rmcourse-course-0.1.0.zip" download>' in page
    assert "\n".join(take_home_commands(downloads["wheel"])) in page
    assert "import rmcourse" in page  # why a lone notebook needs the wheel
    assert "Take the course home" not in landing_page("# Title\n", ["01_a"], [])
    alone = landing_page("# Title\n", ["01_a"], [], downloads)  # no exercises page to link
    assert "Take the course home" in alone and "exercises.md" not in alone


def test_the_exercises_page_links_each_exercise_and_the_lesson_it_practises():
    page = exercises_page(
        [("02_numpy_loss", [("bt_loss", "bt_loss", 5.0)]), ("09_none", [("f", "f", 1.0)])],
        ["01_intro", "02_numpy_loss"],
        ["02_numpy_loss"],
    )
    section = page[page.index("(exercise-02)=") : page.index("(exercise-09)=")]
    assert "[lesson 02_numpy_loss](lessons/02_numpy_loss.ipynb)" in section
    assert '<a href="download/exercises/02_numpy_loss.ipynb" download>' in section
    last = page[page.index("(exercise-09)=") :]
    assert "lessons/" not in last and "download/" not in last  # nothing to link: no dead link
