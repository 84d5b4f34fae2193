"""Build the course site: Sphinx, myst-nb (execution off) and sphinx-book-theme into one folder.

:func:`build_site` writes the pages' sources into a scratch folder (the executed lessons, the
landing page, the instructors' pages, the exported quiz and your-turn tasks, the files served
under ``download/``), runs Sphinx on them with warnings as errors, and copies MathJax beside the
pages, so the site reads offline from ``file://`` or any static host: no page loads anything
from another host.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from rmcourse.quiz.content import Question, load_questions
from rmcourse.site import pages
from rmcourse.site.figures import describe_figures, load_figures
from rmcourse.site.quiz_export import export_quiz
from rmcourse.site.task_export import export_tasks
from rmcourse.tasks import load_tasks

STATIC = Path(__file__).parent / "static"
MATHJAX_DIR = "mathjax"
# MathJax 3 with SVG output, served from the site's _static/ (Sphinx reads a relative
# mathjax_path from there): its fonts are paths inside the script, so no font file is fetched
# (browsers refuse fonts to pages opened from file://). Copied without the speech engine (sre/).
MATHJAX_PATH = f"{MATHJAX_DIR}/tex-svg.js"
MATHJAX_PARTS = ("tex-svg.js", "input", "ui", "a11y", "adaptors")
INSTRUCTOR_SECTION = "For instructors"
GRADING_DOC = "docs/grading.md"
AUTHOR = "rmcourse authors"
LICENCE = "MIT"  # pyproject.toml's licence (tests/test_site.py keeps them equal)


class SiteBuildError(RuntimeError):
    """Sphinx reported warnings or errors; the message lists them."""


@dataclass(frozen=True)
class SiteSources:
    """What the site is built from.

    ``lessons``: executed ``NN_name.ipynb`` notebooks, in course order. The others are optional
    (``None``: no such page): the README (landing page and instructor guide), the solutions folder
    (the exercises page), the grader's threat model (``docs/grading.md``), the student exercises
    (served for download from the exercises page) and ``downloads``: the course wheel and zip
    (:mod:`rmcourse.site.downloads`), served under ``download/`` and linked from the landing page
    and every lesson page.
    """

    lessons: tuple[Path, ...]
    readme: Path | None = None
    solutions: Path | None = None
    grading_doc: Path | None = None
    exercises: Path | None = None
    downloads: tuple[Path, ...] = ()

    @classmethod
    def from_repository(
        cls, root: Path, lessons: Sequence[Path], downloads: Sequence[Path] = ()
    ) -> SiteSources:
        """The sources a course repository at ``root`` has (README.md, solutions/, docs/,
        exercises/)."""
        root = Path(root)

        def existing(path: Path) -> Path | None:
            return path if path.exists() else None

        return cls(
            lessons=tuple(Path(p) for p in lessons),
            readme=existing(root / "README.md"),
            solutions=existing(root / "solutions"),
            grading_doc=existing(root / GRADING_DOC),
            exercises=existing(root / "exercises"),
            downloads=tuple(Path(p) for p in downloads),
        )

    def download_names(self) -> dict[str, str]:
        """``{"wheel": file name, "zip": file name}`` of the downloads there are."""
        kinds = {".whl": "wheel", ".zip": "zip"}
        return {kinds[p.suffix]: p.name for p in self.downloads if p.suffix in kinds}

    def exercise_names(self) -> list[str]:
        """The stems of the student exercises (``NN_name``), in order."""
        if self.exercises is None:
            return []
        return [p.stem for p in sorted(self.exercises.glob("[0-9][0-9]_*.ipynb"))]


def sphinx_config(
    static_dirs: Sequence[Path],
    lesson_questions: dict[str, list[str]],
    extra_dir: Path | None = None,
    downloads: dict[str, str] | None = None,
    exercises: Sequence[str] = (),
) -> dict[str, Any]:
    """The Sphinx configuration of the site (no ``conf.py``: these are passed as overrides)."""
    return {
        "project": "rmcourse",
        "author": AUTHOR,
        "html_title": pages.SITE_TITLE,
        # githubpages: a .nojekyll file, so GitHub Pages serves _static/ and _sources/
        "extensions": [
            "myst_nb",
            "sphinx.ext.githubpages",
            "sphinx_copybutton",
            "rmcourse.site.extension",
        ],
        # copy buttons on code cells and code blocks, not on outputs
        "copybutton_selector": "div:not(.output) > div.highlight pre",
        "exclude_patterns": ["_build", "**.ipynb_checkpoints"],
        "html_theme": "sphinx_book_theme",
        "html_theme_options": {
            "use_download_button": True,  # the lesson's .ipynb
            "home_page_in_toc": True,
            "show_toc_level": 2,
            "search_bar_text": "Search the course…",
            # No pydata-sphinx-theme header bar (the book theme hides it): its hidden menu button
            # would come first in the page, and both themes' scripts attach to the first one.
            "navbar_persistent": [],
            "extra_footer": f"<p>The course and its code: {LICENCE} licence.</p>",
        },
        "html_static_path": [str(d) for d in static_dirs],
        "html_copy_source": True,  # the download button serves _sources/
        "html_show_sourcelink": False,
        "html_last_updated_fmt": None,
        "nb_execution_mode": "off",  # the lessons come executed
        "nb_ipywidgets_js": {},  # the quiz script replaces the widgets; no widget JS from a CDN
        "nb_merge_streams": True,
        "myst_enable_extensions": ["dollarmath", "amsmath"],
        "myst_heading_anchors": 3,
        "mathjax_path": MATHJAX_PATH,
        "rmcourse_lesson_questions": lesson_questions,
        "rmcourse_downloads": dict(downloads or {}),
        "rmcourse_exercises": list(exercises),
        "html_extra_path": [str(extra_dir)] if extra_dir is not None else [],
    }


def build_site(sources: SiteSources, out_dir: Path) -> Path:
    """Build the site into ``out_dir`` (replaced); return its ``index.html``.

    Raises
    ------
    ValueError
        When there is no lesson, or a lesson is not named ``NN_name.ipynb``.
    SiteBuildError
        When Sphinx warns (a broken link, a missing image, bad Markdown): warnings are errors.
    """
    if not sources.lessons:
        raise ValueError("no lessons to build a site from")
    for lesson in sources.lessons:
        if not (lesson.suffix == ".ipynb" and lesson.name[:2].isdigit() and lesson.name[2] == "_"):
            raise ValueError(f"{lesson} is not a lesson notebook named NN_name.ipynb")
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    questions = load_questions()
    # Built beside out_dir, then moved in: myst-nb writes next to Sphinx's output folder, and a
    # failed build leaves the previous site in place.
    with tempfile.TemporaryDirectory(prefix=".site-build-", dir=out_dir.parent) as scratch:
        work = Path(scratch)
        _write_pages(sources, work / "src")
        _write_downloads(sources, work / "extra")
        export_quiz(questions, work / "static")
        export_tasks(load_tasks(), work / "static")
        config = sphinx_config(
            [STATIC, work / "static"],
            _lesson_questions(questions),
            work / "extra",
            sources.download_names(),
            sources.exercise_names() if sources.solutions is not None else [],  # page to link
        )
        _run_sphinx(work / "src", work / "html", work / "doctrees", config)
        _copy_mathjax(work / "html")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        (work / "html").rename(out_dir)
    return out_dir / "index.html"


def _write_pages(sources: SiteSources, src: Path) -> None:
    (src / "lessons").mkdir(parents=True)
    names = []
    figures = load_figures()
    for lesson in sources.lessons:
        nb = nbformat.read(lesson, as_version=4)
        describe_figures(nb, figures.get(lesson.stem, {}))  # captions and alt text
        nbformat.write(nb, src / "lessons" / lesson.name)
        names.append(lesson.stem)
    readme = sources.readme.read_text(encoding="utf-8") if sources.readme else None
    links = {f"notebooks/{name}.ipynb": f"lessons/{name}" for name in names}
    extra = []
    if readme is not None and f"## {INSTRUCTOR_SECTION}" in readme:
        if sources.grading_doc is not None:
            links[GRADING_DOC] = "grading"
        page = pages.readme_page(readme, INSTRUCTOR_SECTION, links)
        (src / "instructors.md").write_text(page, encoding="utf-8")
        extra.append("instructors")
    if sources.grading_doc is not None:
        page = pages.document_page(sources.grading_doc, links)
        (src / "grading.md").write_text(page, encoding="utf-8")
        extra.append("grading")
    if sources.solutions is not None:
        page = pages.exercises_page(_exercises(sources.solutions), names, sources.exercise_names())
        (src / "exercises.md").write_text(page, encoding="utf-8")
        extra.append("exercises")
    downloads = sources.download_names()
    (src / "index.md").write_text(
        pages.landing_page(readme, names, extra, downloads), encoding="utf-8"
    )


def _write_downloads(sources: SiteSources, extra: Path) -> None:
    """The files served under ``download/``: the wheel, the zip, the student exercises."""
    target = extra / pages.DOWNLOAD_DIR
    (target / "exercises").mkdir(parents=True)
    for path in sources.downloads:
        shutil.copy2(path, target / path.name)
    for name in sources.exercise_names():
        shutil.copy2(sources.exercises / f"{name}.ipynb", target / "exercises" / f"{name}.ipynb")


def _exercises(solutions: Path) -> list[tuple[str, list[tuple[str, str, float]]]]:
    from rmcourse.grading.generate import solution_paths
    from rmcourse.grading.source import load_assignment

    assignments = [load_assignment(p) for p in solution_paths(solutions)]
    return [
        (a.name, [(e.grade_id, ", ".join(e.names), e.max_points) for e in a.exercises])
        for a in assignments
    ]


def _lesson_questions(questions: Sequence[Question]) -> dict[str, list[str]]:
    """Lesson number -> ids of the questions that name it, in content order."""
    by_lesson: dict[str, list[str]] = {}
    for q in questions:
        if q.lesson is not None:
            by_lesson.setdefault(q.lesson, []).append(q.id)
    return by_lesson


def _run_sphinx(src: Path, out: Path, doctrees: Path, config: dict[str, Any]) -> None:
    from sphinx.application import Sphinx
    from sphinx.util.console import strip_colors
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    status, warnings = io.StringIO(), io.StringIO()
    with patch_docutils(None), docutils_namespace():
        app = Sphinx(
            str(src),
            None,
            str(out),
            str(doctrees),
            "html",
            confoverrides=config,
            status=status,
            warning=warnings,
            freshenv=True,
            warningiserror=True,
        )
        app.build(force_all=True)
    if app.statuscode != 0 or warnings.getvalue().strip():
        report = strip_colors(warnings.getvalue())
        raise SiteBuildError(f"the site build failed (warnings are errors):\n{report}")


def _copy_mathjax(out_dir: Path) -> None:
    """Copy MathJax (from the django-static-mathjax package, which has no dependency) to _static."""
    from importlib import resources

    es5 = resources.files("mathjax").joinpath("static", "mathjax", "es5")
    target = out_dir / "_static" / MATHJAX_DIR
    target.mkdir(parents=True, exist_ok=True)
    for part in MATHJAX_PARTS:
        source = Path(str(es5.joinpath(part)))
        if source.is_dir():
            shutil.copytree(source, target / part, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target / part)
