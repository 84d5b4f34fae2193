"""Grading throughput: K copies of a solution, graded by ``rmcourse grade`` and by nbgrader.

Usage::

    python benchmarks/grade_bench.py [--assignment 02_numpy_loss] [--copies 12] [--jobs N]
                                     [--nbgrader PYTHON] [--starts 5]

First times a kernel's start (start, run ``1 + 1``, shut down; the median of ``--starts`` runs)
in each box this machine can make and without one. Then writes K copies of the exercise notebook
filled in with the solution and times, end to end as an instructor runs them: ``rmcourse grade
--jobs 1`` and ``--jobs N`` (default: the number of CPUs), boxed, ``rmcourse grade --jobs N
--no-sandbox`` and, where nbgrader is importable (by this Python, or by the one ``--nbgrader``
names: nbgrader is not a dependency of rmcourse; install it in a throw-away environment),
``nbgrader autograde`` on the same K submissions. Checks that every copy earned full marks from
rmcourse and was autograded by nbgrader, then prints, as its last line, one JSON object: seconds
per kernel start per box, seconds per submission for each grader, the copies, jobs and CPUs.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from rmcourse.grading import box
from rmcourse.grading.command import cpu_count
from rmcourse.grading.execute import Limits, Step, run_steps
from rmcourse.grading.generate import make_exercise
from rmcourse.grading.source import is_solution, load_assignment, nbgrader

ROOT = Path(__file__).resolve().parents[1]


def _filled(notebook: nbformat.NotebookNode, code: dict[str, str]) -> nbformat.NotebookNode:
    for cell in notebook.cells:
        if is_solution(cell):
            cell.source = code[nbgrader(cell)["grade_id"]]
    return notebook


def _timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return seconds


def time_kernel_starts(repeats: int) -> dict[str, float]:
    """Median seconds of a kernel's start, ``1 + 1`` and shutdown, per box (``none``: no box)."""
    kinds = [kind for kind in box.KINDS if box.usable(kind)] + [None]
    seconds: dict[str, list[float]] = {kind or box.NO_BOX: [] for kind in kinds}
    with tempfile.TemporaryDirectory(prefix="kernel-start-") as scratch:
        for _ in range(repeats):
            for kind in kinds:  # interleaved: a change in the machine's load hits every kind
                start = time.perf_counter()
                [result] = run_steps([Step("1 + 1")], Path(scratch), Limits(box=kind))
                seconds[kind or box.NO_BOX].append(time.perf_counter() - start)
                if result.result_text != "2":
                    raise SystemExit(f"a kernel in box {kind} failed: {result}")
    return {kind: round(statistics.median(times), 3) for kind, times in seconds.items()}


def time_rmcourse(
    solution: Path, folder: Path, copies: int, jobs: int, sandbox: bool = True
) -> float:
    """Seconds per submission of ``rmcourse grade --jobs JOBS`` (with ``--no-sandbox`` when not
    ``sandbox``); every copy must earn full marks."""
    assignment = load_assignment(solution)
    code = {nbgrader(c)["grade_id"]: c.source for c in assignment.notebook.cells if is_solution(c)}
    label = f"{jobs}" if sandbox else f"{jobs}-unboxed"
    submissions = folder / f"rmcourse-{label}"
    submissions.mkdir()
    for i in range(copies):
        nbformat.write(
            _filled(make_exercise(assignment.notebook), code), submissions / f"s{i:03d}.ipynb"
        )
    out = folder / f"gradebook-{label}.csv"
    command = [sys.executable, "-m", "rmcourse", "grade", str(submissions), "--assignment",
               solution.stem, "--solutions", str(solution.parent), "--out", str(out),
               "--jobs", str(jobs)] + ([] if sandbox else ["--no-sandbox"])  # fmt: skip
    seconds = _timed(command, folder)
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    boxes = {row["box"] for row in rows}
    # the solution's own code is a pasted solution: "review" keeps its points
    short = [row for row in rows if float(row["points"]) != float(row["max_points"])]
    if short or {row["status"] for row in rows} - {"passed", "review"}:
        raise SystemExit(f"rmcourse did not give the solution full marks: {short or rows[:3]}")
    if (boxes == {box.NO_BOX}) == sandbox:
        raise SystemExit(f"rmcourse graded in the box {boxes}, sandbox={sandbox}")
    return seconds / copies


def time_nbgrader(python: str, solution: Path, folder: Path, copies: int) -> float:
    """Seconds per submission of ``nbgrader autograde`` on the same submissions."""
    course = folder / "nbgrader-course"
    name = "bench"
    (course / "source" / name).mkdir(parents=True)
    shutil.copy(solution, course / "source" / name / f"{name}.ipynb")
    env = {  # as in its activated environment; the kernel imports rmcourse from the checkout
        **os.environ,
        "PATH": f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
    }
    config = f"--CourseDirectory.root={course}"
    _timed([python, "-m", "nbgrader", "generate_assignment", name, "--force", config], course, env)
    release = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
    code = {
        nbgrader(c)["grade_id"]: c.source
        for c in nbformat.read(solution, as_version=4).cells
        if is_solution(c)
    }
    for i in range(copies):
        student = course / "submitted" / f"s{i:03d}" / name
        student.mkdir(parents=True)
        nbformat.write(_filled(nbformat.from_dict(release), code), student / f"{name}.ipynb")
    seconds = _timed([python, "-m", "nbgrader", "autograde", name, "--force", config], course, env)
    graded = list((course / "autograded").glob(f"*/{name}/{name}.ipynb"))
    if len(graded) != copies:
        raise SystemExit(f"nbgrader autograded {len(graded)} of {copies} submissions")
    return seconds / copies


def _nbgrader_python(option: str | None) -> str | None:
    if option:
        return option
    return sys.executable if importlib.util.find_spec("nbgrader") is not None else None


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="02_numpy_loss", help="a notebook of solutions/")
    parser.add_argument("--copies", type=int, default=12, help="submissions graded (K)")
    parser.add_argument("--jobs", type=int, default=cpu_count(), help="N of --jobs N")
    parser.add_argument("--nbgrader", default=None, help="a Python that has nbgrader installed")
    parser.add_argument("--starts", type=int, default=5, help="kernel starts timed per box")
    args = parser.parse_args(argv)
    solution = ROOT / "solutions" / f"{args.assignment}.ipynb"
    python = _nbgrader_python(args.nbgrader)
    figures: dict = {"assignment": args.assignment, "copies": args.copies, "cpus": cpu_count()}
    if args.starts > 0:
        starts = time_kernel_starts(args.starts)
        for kind, seconds in starts.items():
            print(f"kernel start, box {kind}: {seconds:.3f} s (median of {args.starts})")
            figures[f"kernel_start_{kind}_s"] = seconds
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as scratch:
        folder = Path(scratch)
        for jobs in sorted({1, args.jobs}):
            per = time_rmcourse(solution, folder, args.copies, jobs)
            print(f"rmcourse grade --jobs {jobs}: {per:.3f} s per submission", flush=True)
            figures[f"rmcourse_jobs_{jobs}_s"] = round(per, 3)
        per = time_rmcourse(solution, folder, args.copies, args.jobs, sandbox=False)
        print(f"rmcourse grade --jobs {args.jobs} --no-sandbox: {per:.3f} s per submission")
        figures[f"rmcourse_jobs_{args.jobs}_unboxed_s"] = round(per, 3)
        if python is None:
            print("nbgrader is not installed: not measured (see --nbgrader)", flush=True)
        else:
            per = time_nbgrader(python, solution, folder, args.copies)
            print(f"nbgrader autograde: {per:.3f} s per submission", flush=True)
            figures["nbgrader_autograde_s"] = round(per, 3)
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
