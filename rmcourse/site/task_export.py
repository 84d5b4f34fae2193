"""The lessons' your-turn tasks as data for the site, from the task data the notebooks check with.

As for the quiz (:mod:`rmcourse.site.quiz_export`), the site's script
(``static/rmcourse-tasks.js``) holds no answer logic of its own. A choice task carries the
verdict of every option, each from :func:`rmcourse.tasks.check`; a number task its answer,
tolerance, hints and typical mistakes, which the script compares a typed number with in the same
steps as :class:`rmcourse.tasks.NumberTask`. A function task cannot run in a browser: it carries
its id and kind only, and the page sends the student to the notebook.

Written under ``_static/tasks/``: ``tasks.json`` and ``tasks.js`` (the same data as a script, which
a ``file://`` page can load).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rmcourse.tasks import ChoiceTask, CodeTask, NumberTask, Task, judge

TASKS_DIR = "tasks"  # under the site's _static/
DATA_GLOBAL = "rmcourseTasks"  # tasks.js sets window.rmcourseTasks


def task_data(table: Mapping[str, Task], task_id: str) -> dict[str, Any]:
    """One task as the site's script reads it.

    Examples
    --------
    >>> from rmcourse.tasks import load_tasks
    >>> tasks = load_tasks()
    >>> data = task_data(tasks, "06-2")
    >>> data["kind"], data["keys"], data["responses"]["b"]["correct"]
    ('choice', ['a', 'b', 'c'], True)
    >>> number = task_data(tasks, "08-4")
    >>> number["answer"], number["tolerance"], number["decimals"]
    (256.0, 0.5, 0)
    >>> task_data(tasks, "08-1")
    {'id': '08-1', 'kind': 'function'}
    """
    task = table[task_id]
    if isinstance(task, NumberTask):
        return {
            "id": task.id,
            "kind": "number",
            "answer": task.answer,
            "tolerance": task.tolerance,
            "decimals": task.decimals_needed,
            "hint": task.hint,
            "mistakes": [{"value": value, "hint": hint} for value, hint in task.mistakes],
        }
    if isinstance(task, ChoiceTask):
        keys = sorted([*task.hints, task.answer])
        responses = {}
        for key in keys:
            result = judge(table, task_id, key)
            responses[key] = {"correct": result.correct, "message": result.message}
        return {"id": task.id, "kind": "choice", "keys": keys, "responses": responses}
    if isinstance(task, CodeTask):
        return {"id": task.id, "kind": "function"}
    raise TypeError(f"task {task_id!r} is a {type(task).__name__}, which the site cannot show")


def export_tasks(table: Mapping[str, Task], static_dir: Path) -> dict[str, Any]:
    """Write every task under ``static_dir/tasks``; return the data of ``tasks.json``."""
    out = Path(static_dir) / TASKS_DIR
    out.mkdir(parents=True, exist_ok=True)
    data = {"tasks": [task_data(table, task_id) for task_id in sorted(table)]}
    text = json.dumps(data, ensure_ascii=False, indent=1)
    (out / "tasks.json").write_text(text + "\n", encoding="utf-8")
    (out / "tasks.js").write_text(f"window.{DATA_GLOBAL} = {text};\n", encoding="utf-8")
    return data
