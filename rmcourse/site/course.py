"""``rmcourse course``: execute every lesson headless, then build the course site from them.

The executed lessons are written to ``OUT/notebooks/`` (the committed ones are not modified), what
a student takes home to ``OUT/dist/`` (the course wheel carrying the lessons and exercises, and a
zip of the same) and the site to ``OUT/site/``, which serves those files under ``download/``; the
site build reads the executed notebooks and executes nothing again.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import nbformat

from rmcourse.notebooks import clean_notebook, execute_notebook, jupyter_lab_command
from rmcourse.site.build import SiteSources, build_site
from rmcourse.site.downloads import build_wheel, build_zip

LESSON_GLOB = "[0-9][0-9]_*.ipynb"


def lesson_paths(notebook_dir: Path) -> list[Path]:
    """The lessons (``NN_name.ipynb``) of ``notebook_dir``, in course order.

    Examples
    --------
    >>> import rmcourse
    >>> [p.name for p in lesson_paths(Path(rmcourse.__file__).parents[1] / "notebooks")][:2]
    ['01_bradley_terry.ipynb', '02_numpy_loss.ipynb']
    """
    return sorted(Path(notebook_dir).glob(LESSON_GLOB))


def take_home_files(root: Path, lessons: Sequence[Path], out_dir: Path) -> list[Path]:
    """The course wheel and zip built into ``out_dir`` from the checkout ``root``, carrying
    ``lessons`` and the checkout's exercises; none (``[]``) when ``root`` is not a checkout of the
    course (no ``pyproject.toml`` or no ``rmcourse/``)."""
    root = Path(root)
    if not ((root / "pyproject.toml").is_file() and (root / "rmcourse").is_dir()):
        return []
    exercises = lesson_paths(root / "exercises")
    wheel = build_wheel(root, lessons, exercises, out_dir)
    return [wheel, build_zip(wheel, lessons, exercises, out_dir)]


def build_course(notebook_dir: Path, out_dir: Path, timeout: int = 600) -> int:
    """Execute every lesson of ``notebook_dir`` into ``out_dir/notebooks``, then build the site.

    Returns 0, or 1 when a lesson failed (the others are still executed; no site is built) or
    the site build failed. The repository around ``notebook_dir`` provides the README, the
    solutions and the grading document of the site (see :class:`SiteSources`).
    """
    lessons = lesson_paths(notebook_dir)
    if not lessons:
        print(f"no lessons (NN_name.ipynb) found in {notebook_dir}", file=sys.stderr)
        return 1
    executed_dir = Path(out_dir) / "notebooks"
    executed_dir.mkdir(parents=True, exist_ok=True)
    executed, failed = [], []
    for path in lessons:
        start = time.perf_counter()
        try:
            nb = clean_notebook(execute_notebook(path, timeout=timeout), executed=True)
        except Exception as exc:  # report every lesson, then fail
            failed.append(path.name)
            print(f"FAILED   {path.name}: {type(exc).__name__}: {str(exc)[-500:]}", file=sys.stderr)
            continue
        nbformat.write(nb, executed_dir / path.name)
        executed.append(executed_dir / path.name)
        print(f"executed {path.name}  ({time.perf_counter() - start:.1f} s)")
    if failed:
        print(
            f"{len(failed)} lesson(s) failed: {', '.join(failed)}; no site built", file=sys.stderr
        )
        return 1
    root = Path(notebook_dir).resolve().parent
    try:
        downloads = take_home_files(root, executed, Path(out_dir) / "dist")
    except (OSError, RuntimeError) as exc:
        print(f"the course wheel was not built: {exc}", file=sys.stderr)
        return 1
    start = time.perf_counter()
    try:
        sources = SiteSources.from_repository(root, executed, downloads)
        index = build_site(sources, Path(out_dir) / "site")
    except (ValueError, RuntimeError) as exc:
        print(f"the course site was not built: {exc}", file=sys.stderr)
        return 1
    print(f"built    the site in {time.perf_counter() - start:.1f} s")
    for path in downloads:
        print(f"built    {path.resolve()} (on the site under download/)")
    print(f"\nThe course is in {index.resolve()}")
    print(f"To work through it interactively: {jupyter_lab_command(notebook_dir)}")
    return 0
