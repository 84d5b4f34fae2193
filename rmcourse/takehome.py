"""The course taken home: ``rmcourse init DIR`` writes the lessons and exercises into a folder.

The course wheel that ``rmcourse course`` builds carries the lessons and the student exercises as
package data under ``rmcourse/course_files/`` (``notebooks/`` and ``exercises/``); a checkout of
the repository (the editable install) has them in its own ``notebooks/`` and ``exercises/``.
:func:`init_course` copies them into a folder of the student's choosing and never overwrites a
file that is already there.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

COURSE_FILES = "course_files"
"""The folder of the package that carries the lessons and exercises in a built wheel."""

FOLDERS = ("notebooks", "exercises")
"""The folders written: the lessons, then the exercises (the names of the repository's)."""

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"


def course_source() -> Path:
    """The folder holding ``notebooks/`` and ``exercises/``: the wheel's package data, else the
    checkout this package is installed from.

    Raises
    ------
    FileNotFoundError
        When this install carries no lessons (a wheel built without them, outside a checkout).

    Examples
    --------
    >>> (course_source() / "notebooks").is_dir()
    True
    """
    packaged = Path(str(resources.files("rmcourse").joinpath(COURSE_FILES)))
    if (packaged / FOLDERS[0]).is_dir():
        return packaged
    checkout = packaged.parents[1]
    if (checkout / "pyproject.toml").is_file() and (checkout / FOLDERS[0]).is_dir():
        return checkout
    raise FileNotFoundError(
        f"this rmcourse install ({packaged.parent}) carries no lessons: install the course wheel "
        "from the course site (pip install rmcourse-<version>-py3-none-any.whl), or work in a "
        "checkout of the course repository"
    )


def course_files(source: Path) -> list[Path]:
    """The notebooks ``init`` writes, relative to ``source``: lessons first, then exercises.

    Examples
    --------
    >>> [str(p) for p in course_files(course_source())][:1]
    ['notebooks/01_bradley_terry.ipynb']
    """
    found = []
    for folder in FOLDERS:
        found += sorted(p.relative_to(source) for p in (source / folder).glob(NOTEBOOK_GLOB))
    return found


def init_course(dest: Path, source: Path | None = None) -> list[Path]:
    """Write the lessons and exercises into ``dest/notebooks`` and ``dest/exercises``.

    ``dest`` may exist (an empty folder, or one with other files); nothing in it is overwritten.
    Returns the paths written.

    Raises
    ------
    NotADirectoryError
        When ``dest`` is a file.
    FileExistsError
        When one of the files to write exists already (it names them); nothing is written.
    FileNotFoundError
        When this install carries no lessons (see :func:`course_source`).
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise NotADirectoryError(f"{dest} is a file, not a folder to write the course into")
    source = course_source() if source is None else Path(source)
    files = course_files(source)
    if not files:
        raise FileNotFoundError(f"no lessons (notebooks/{NOTEBOOK_GLOB}) found in {source}")
    existing = [dest / f for f in files if (dest / f).exists()]
    if existing:
        shown = ", ".join(str(p) for p in existing[:3]) + (" ..." if len(existing) > 3 else "")
        raise FileExistsError(
            f"{len(existing)} of the course's files exist already in {dest} ({shown}): nothing "
            "was written, so your work is kept. Choose a new folder, or move those files away."
        )
    written = []
    for relative in files:
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as out:  # "x": never replaces a file made meanwhile
            out.write((source / relative).read_bytes())
        written.append(target)
    return written
