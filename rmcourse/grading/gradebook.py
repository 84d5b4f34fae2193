"""The gradebook: a CSV of points, a JSON of per-check feedback, one Markdown page per student.

``gradebook.csv`` has one row per (student, exercise) with columns student, exercise, points,
max_points, status and box (the box the student's kernels ran in: ``bubblewrap``, ``unshare``,
or ``none`` when graded with ``--no-sandbox``; a gradebook written before that column existed
is read with it empty); ``gradebook.json`` (beside it) holds, per student and assignment, every
check's points and feedback; ``feedback/<assignment>/<student>.md`` explains each failed check
to the student. All three are written after each student, atomically
(:func:`rmcourse.fileio.atomic_write_text`): an interrupted run keeps every student written so
far, and a rerun replaces the rows of the students it grades for that assignment's exercises and
keeps every other row.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path

from rmcourse.fileio import atomic_write_text
from rmcourse.grading.results import SubmissionResult

FIELDS = ("student", "exercise", "points", "max_points", "status", "box")
OLD_FIELDS = FIELDS[:-1]  # gradebooks written before the box column


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of an existing gradebook CSV (``[]`` when there is none); checks the header.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "g.csv"
    >>> read_rows(p)
    []
    >>> _ = p.write_text("student,exercise,points,max_points,status\\nann,f,1,2,partial\\n")
    >>> [[row["status"], row["box"]] for row in read_rows(p)]  # written before the box column
    [['partial', '']]
    """
    path = Path(path)
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) not in (FIELDS, OLD_FIELDS):
            raise ValueError(
                f"{path} is not a gradebook: its header is {reader.fieldnames}, not {FIELDS}"
            )
        return [{**row, "box": row.get("box", "")} for row in reader]


def _points(value: float) -> str:
    return f"{value:g}"


def merge_rows(rows: list[dict[str, str]], result: SubmissionResult) -> list[dict[str, str]]:
    """``rows`` with ``result``'s student's rows for ``result``'s exercises replaced.

    Examples
    --------
    >>> from rmcourse.grading.results import ExerciseResult
    >>> old = [{"student": "ann", "exercise": "f", "points": "1", "max_points": "2",
    ...         "status": "partial", "box": "bubblewrap"},
    ...        {"student": "bob", "exercise": "f", "points": "2", "max_points": "2",
    ...         "status": "passed", "box": "bubblewrap"}]
    >>> new = SubmissionResult("ann", "a", (ExerciseResult("f", 2.0, 2.0, "passed", "", ()),))
    >>> [(r["student"], r["points"]) for r in merge_rows(old, new)]
    [('ann', '2'), ('bob', '2')]
    """
    graded = {e.exercise for e in result.exercises}
    kept = [r for r in rows if not (r["student"] == result.student and r["exercise"] in graded)]
    new = [
        {
            "student": result.student,
            "exercise": e.exercise,
            "points": _points(e.points),
            "max_points": _points(e.max_points),
            "status": str(e.status),
            "box": result.box,
        }
        for e in result.exercises
    ]
    return sorted(kept + new, key=lambda r: r["student"])  # stable: exercise order kept


def _csv_text(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def feedback_markdown(result: SubmissionResult) -> str:
    """The student's feedback page: points per exercise, and why each failed check failed.

    Examples
    --------
    >>> from rmcourse.grading.results import CheckResult, ExerciseResult
    >>> check = CheckResult("f_hidden", 0.0, 2.0, "a hidden test failed: ValueError")
    >>> result = SubmissionResult("ann", "02", (ExerciseResult("f", 0.0, 2.0, "failed", "",
    ...                                                        (check,)),))
    >>> print(feedback_markdown(result))
    # Feedback: 02, ann
    <BLANKLINE>
    **0 / 2 points** (failed)
    <BLANKLINE>
    ## f: 0 / 2 (failed)
    - `f_hidden` (0/2) FAILED: a hidden test failed: ValueError
    <BLANKLINE>
    """
    lines = [
        f"# Feedback: {result.assignment}, {result.student}",
        "",
        f"**{_points(result.points)} / {_points(result.max_points)} points** ({result.status})",
    ]
    for e in result.exercises:
        score = f"{_points(e.points)} / {_points(e.max_points)}"
        lines += ["", f"## {e.exercise}: {score} ({e.status})"]
        if e.note:
            lines += ["", e.note]
        for c in e.checks:
            mark = "passed" if c.passed else "FAILED"
            lines.append(
                f"- `{c.test}` ({_points(c.points)}/{_points(c.max_points)}) {mark}"
                + ("" if c.passed else f": {c.feedback}")
            )
    return "\n".join(lines) + "\n"


def record(out: Path, result: SubmissionResult) -> None:
    """Write one student's result into the CSV at ``out``, its JSON twin and the feedback page.

    Examples
    --------
    >>> from rmcourse.grading.results import ExerciseResult
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "gradebook.csv"
    >>> record(out, SubmissionResult("ann", "02", (ExerciseResult("f", 1.0, 2.0, "partial", "",
    ...                                                          ()),)))
    >>> print(out.read_text().strip())
    student,exercise,points,max_points,status,box
    ann,f,1,2,partial,none
    >>> sorted(str(p.relative_to(out.parent)) for p in out.parent.rglob("*.*"))
    ['feedback/02/ann.md', 'gradebook.csv', 'gradebook.json']
    """
    out = Path(out)
    rows = merge_rows(read_rows(out), result)
    json_path = out.with_suffix(".json")
    details = json.loads(json_path.read_text(encoding="utf-8")) if json_path.exists() else {}
    details.setdefault(result.student, {})[result.assignment] = {
        "points": result.points,
        "max_points": result.max_points,
        "status": result.status,
        "box": result.box,
        "exercises": [asdict(e) for e in result.exercises],
    }
    feedback = out.parent / "feedback" / result.assignment / f"{result.student}.md"
    atomic_write_text(feedback, feedback_markdown(result))
    atomic_write_text(json_path, json.dumps(details, indent=1, sort_keys=True) + "\n")
    atomic_write_text(out, _csv_text(rows))
