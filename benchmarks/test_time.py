"""Where `make test`'s time goes: the seconds of its tests, summed by lesson, test file and kind.

Reads the JUnit XML report of a pytest run (``make test PYTEST_ARGS=--junitxml=FILE``) and
prints the worker-seconds (each test's set-up, call and tear-down, as pytest reports them; with
pytest-xdist they add up over the workers, and grow with the workers' contention for the cores)
of each kind (lessons, exercises and solutions run by nbval, the grading tests, the browser
tests, the rest), of each executed notebook and test file, largest first, and the slowest single
tests. The last line is one JSON object.

Usage::

    make test PYTEST_ARGS=--junitxml=/tmp/make-test.xml
    python benchmarks/test_time.py /tmp/make-test.xml [--top 15]
"""

from __future__ import annotations

import argparse
import collections
import json
import xml.etree.ElementTree as ET
from pathlib import Path

KINDS = (  # (kind, what a test's group starts with), the first that matches
    ("lessons", "notebooks/"),
    ("exercises and solutions", "exercises/"),
    ("exercises and solutions", "solutions/"),
    ("grading tests", "tests/test_grading"),
    ("grading tests", "tests/test_dpo_exercise"),
    ("browser tests", "tests/test_browser"),
    ("library doctests", "rmcourse/"),
)


def group_of(classname: str) -> str:
    """The notebook or test file of a JUnit ``classname`` (``tests.test_cli.TestX`` ->
    ``tests/test_cli.py``, ``notebooks.06_best_of_n.ipynb`` -> ``notebooks/06_best_of_n.ipynb``).

    Examples
    --------
    >>> group_of("tests.test_grading_origin.TestOrigin_04_train_reward_model")
    'tests/test_grading_origin.py'
    >>> group_of("notebooks.06_best_of_n.ipynb")
    'notebooks/06_best_of_n.ipynb'
    >>> group_of("rmcourse.grading.box")
    'rmcourse/grading/box.py'
    """
    parts = classname.split(".")
    if parts[-1] == "ipynb":
        return "/".join(parts[:-2]) + f"/{parts[-2]}.ipynb"
    if parts[0] == "tests":
        return f"tests/{parts[1]}.py"
    return "/".join(parts) + ".py"


def kind_of(group: str) -> str:
    """The kind of a group: the first of :data:`KINDS` whose prefix it has, else "other tests"."""
    return next((kind for kind, prefix in KINDS if group.startswith(prefix)), "other tests")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="pytest's JUnit XML report")
    parser.add_argument("--top", type=int, default=15, help="slowest tests to list")
    args = parser.parse_args(argv)
    root = ET.parse(args.report).getroot()
    groups: collections.Counter = collections.Counter()
    kinds: collections.Counter = collections.Counter()
    tests = []
    for case in root.iter("testcase"):
        seconds = float(case.get("time", 0))
        group = group_of(case.get("classname", ""))
        groups[group] += seconds
        kinds[kind_of(group)] += seconds
        parts = case.get("classname", "").split(".")
        cls = f"{parts[2]}::" if parts[0] == "tests" and len(parts) > 2 else ""
        tests.append((seconds, f"{group}::{cls}{case.get('name')}"))
    total = sum(groups.values())
    wall = max((float(s.get("time", 0)) for s in root.iter("testsuite")), default=0.0)
    print(f"{len(tests)} tests, {total:.0f} worker-seconds in {wall:.0f} s of pytest\n")
    print("by kind:")
    for kind, seconds in kinds.most_common():
        print(f"  {seconds:7.1f} s  {100 * seconds / total:4.1f} %  {kind}")
    print("\nby notebook and test file (the 20 largest):")
    for group, seconds in groups.most_common(20):
        print(f"  {seconds:7.1f} s  {group}")
    print(f"\nthe {args.top} slowest tests:")
    for seconds, name in sorted(tests, reverse=True)[: args.top]:
        print(f"  {seconds:7.1f} s  {name[:120]}")
    figures = {
        "tests": len(tests),
        "worker_seconds": round(total, 1),
        "pytest_seconds": round(wall, 1),
        "by_kind": {kind: round(seconds, 1) for kind, seconds in kinds.most_common()},
    }
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
