"""The site's Markdown pages, written from the repository's own texts.

The landing page takes the README's course description and syllabus, the instructor guide its
"For instructors" section, the grading page ``docs/grading.md`` (the grader's threat model), and
the exercises page the points of ``solutions/``. Links to repository files that are not pages of
the site are kept as their text, so the build (warnings as errors) never meets a broken link.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

SITE_TITLE = "The pair-wise ranking loss of RLHF reward models"
# `make course`'s printed command, and the box on every lesson page.
JUPYTER_COMMAND = ".venv/bin/jupyter lab notebooks"
DOWNLOAD_DIR = "download"  # the site's folder of the wheel, the zip and the exercises
COURSE_DIR = "my-course"  # the folder the take-home commands write the course into
# torch's CPU build (the pin of constraints.txt): PyPI's default Linux build brings CUDA libraries.
TORCH_CPU = "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
HF_PYTHON = "3.11"  # lesson 08's [hf] extra (transformers, TRL) needs this Python or later
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)")
_LESSON_NAME = re.compile(r"`(\d\d_[A-Za-z0-9_]+)`")


def _lines_and_headings(markdown: str) -> Iterator[tuple[str, re.Match[str] | None]]:
    """Each line of ``markdown`` (with its newline) and its heading match, ``None`` for a line
    that is no heading or stands inside a fenced code block."""
    fenced = False
    for line in markdown.splitlines(keepends=True):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        yield line, None if fenced else _HEADING.match(line)


def split_sections(markdown: str) -> tuple[str, dict[str, str]]:
    """Split Markdown at its level-2 headings: (text before the first, {heading: body}).

    Headings inside fenced code blocks do not count.

    Examples
    --------
    >>> text = "# T\\nintro\\n## A\\na text\\n```\\n## not\\n```\\n## B\\nb"
    >>> head, sections = split_sections(text)
    >>> head, list(sections), sections["A"].splitlines()[0]
    ('# T\\nintro\\n', ['A', 'B'], 'a text')
    """
    head: list[str] = []
    sections: dict[str, list[str]] = {}
    current = head
    for line, match in _lines_and_headings(markdown):
        if match and len(match.group(1)) == 2:
            current = sections.setdefault(match.group(2), [])
            continue
        current.append(line)
    return "".join(head), {name: "".join(body) for name, body in sections.items()}


def shift_headings(markdown: str, by: int) -> str:
    """Change every heading's level by ``by`` (``-1``: ``###`` becomes ``##``), fences left alone.

    Examples
    --------
    >>> shift_headings("### a\\n```\\n### b\\n```", -1)
    '## a\\n```\\n### b\\n```'
    """
    out = []
    for line, match in _lines_and_headings(markdown):
        if match:
            level = min(6, max(1, len(match.group(1)) + by))
            line = "#" * level + " " + match.group(2) + "\n"
        out.append(line)
    return "".join(out).rstrip("\n") if not markdown.endswith("\n") else "".join(out)


def local_links(markdown: str, pages: Mapping[str, str]) -> str:
    """Point links at repository files to the site's pages; others keep only their text.

    ``pages`` maps a repository path (``docs/grading.md``) to a page of the site (``grading``).
    Links with a scheme (``https:``, ``mailto:``) or to an anchor are kept.

    Examples
    --------
    >>> local_links("[g](docs/grading.md), [w](https://x.org), [c](rmcourse/cli.py)",
    ...             {"docs/grading.md": "grading"})
    '[g](grading.md), [w](https://x.org), c (`rmcourse/cli.py`)'
    """

    def replace(match: re.Match[str]) -> str:
        label, target = match.group(1), match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            return match.group(0)
        path, _, anchor = target.partition("#")
        path = path.removeprefix("./")
        if path in pages:
            return f"[{label}]({pages[path]}.md{'#' + anchor if anchor else ''})"
        return f"{label} (`{path}`)"

    return _LINK.sub(replace, markdown)


def landing_page(
    readme: str | None,
    lessons: Sequence[str],
    extra_pages: Sequence[str],
    downloads: Mapping[str, str] | None = None,
) -> str:
    """The landing page: the README's title, description and syllabus, then the table of contents.

    ``lessons`` are the lesson stems (``01_bradley_terry``), in order; lesson names in the
    syllabus become links to the ones that exist. ``extra_pages`` are the instructors' pages.
    ``downloads`` (``{"wheel": name, "zip": name}``, served under ``download/``) adds the section
    that says how to take the course home.
    """
    if readme is None:
        head, sections = f"# {SITE_TITLE}\n", {}
    else:
        head, sections = split_sections(readme)
    parts = [local_links(head.strip(), {}), ""]
    if "Syllabus" in sections:
        syllabus = _LESSON_NAME.sub(
            lambda m: (
                f"[{m.group(1)}](lessons/{m.group(1)}.ipynb)"
                if m.group(1) in lessons
                else m.group(0)
            ),
            local_links(sections["Syllabus"], {}),
        )
        parts += ["## Syllabus", "", syllabus.strip(), ""]
    parts += [
        "## How to use this site",
        "",
        "Every lesson is a page, built from its executed notebook: read it here, download the "
        "notebook (the download button at the top of each page), or run it yourself. The quiz "
        "questions and the your-turn tasks are playable on the pages: answer, read the "
        "feedback, try again. A task that asks you to write a function runs in the notebook.",
        "",
    ]
    if downloads:
        parts += [take_home_markdown(downloads, "exercises" in extra_pages), ""]
    parts += [
        run_yourself_markdown(),
        "",
        _toctree("Lessons", [f"lessons/{name}" for name in lessons]),
    ]
    if extra_pages:
        parts += ["", _toctree("Instructors", list(extra_pages))]
    return "\n".join(parts) + "\n"


def run_yourself_text(lesson: str | None = None) -> str:
    """The "run it yourself" instructions (Markdown inline code): two commands, then JupyterLab.

    Examples
    --------
    >>> run_yourself_text("02_numpy_loss").endswith("and open `02_numpy_loss.ipynb`.")
    True
    """
    notebook = f" and open `{lesson}.ipynb`" if lesson else ""
    return (
        "In a checkout of the course repository (Linux or macOS, Python ≥ 3.10, `make`): "
        "`make course` installs it and executes every lesson; then "
        f"`{JUPYTER_COMMAND}`{notebook}."
    )


def download_link(path: str, prefix: str = "") -> str:
    """An HTML link to a file of the site's ``download/`` folder, labelled with its name.

    Examples
    --------
    >>> download_link("exercises/a.ipynb", "../")
    '<a href="../download/exercises/a.ipynb" download>a.ipynb</a>'
    """
    return f'<a href="{prefix}{DOWNLOAD_DIR}/{path}" download>{path.split("/")[-1]}</a>'


def take_home_commands(wheel: str) -> list[str]:
    """The shell commands that install the wheel in a new environment and write the course out.

    Examples
    --------
    >>> take_home_commands("rmcourse-0.1.0-py3-none-any.whl")[2]
    'rmcourse-env/bin/pip install rmcourse-0.1.0-py3-none-any.whl'
    """
    return [
        "python3 -m venv rmcourse-env",
        f"rmcourse-env/bin/pip install {TORCH_CPU}",
        f"rmcourse-env/bin/pip install {wheel}",
        f"rmcourse-env/bin/rmcourse init {COURSE_DIR}",
        f"rmcourse-env/bin/jupyter lab {COURSE_DIR}",
    ]


def uses_hf(code: str) -> bool:
    """Whether a lesson's code imports ``rmcourse.hf`` (it needs the wheel's ``hf`` extra).

    Examples
    --------
    >>> uses_hf("from rmcourse.hf import trainers"), uses_hf("from rmcourse import hfx")
    (True, False)
    """
    return re.search(r"^\s*(from|import) rmcourse\.hf\b", code, re.MULTILINE) is not None


def hf_install_command(wheel: str, pip: str = "rmcourse-env/bin/pip") -> str:
    """The command that adds lesson 08's Hugging Face packages (the wheel's ``hf`` extra).

    Examples
    --------
    >>> hf_install_command("rmcourse-0.1.0-py3-none-any.whl", "pip")
    'pip install "rmcourse-0.1.0-py3-none-any.whl[hf]"'
    """
    return f'{pip} install "{wheel}[hf]"'


def take_home_markdown(downloads: Mapping[str, str], exercises_page: bool = True) -> str:
    """The landing page's section on taking the course home: the files and the commands
    (``exercises_page``: the site has one, to link)."""
    wheel = downloads["wheel"]
    parts = [
        "## Take the course home",
        "",
        f"Download the course package, {download_link(wheel)}, and run in a terminal, in the "
        "folder you saved it to (Linux or macOS, Python ≥ 3.10; on Windows "
        "`rmcourse-env\\Scripts\\` instead of `rmcourse-env/bin/`):",
        "",
        "```bash",
        *take_home_commands(wheel),
        "```",
        "",
        "The second line is optional (its CPU-only index has not been tested by the authors): on "
        "Linux a bare install takes PyPI's torch, whose build brings the CUDA libraries "
        "(gigabytes); the course runs on a CPU. Lesson 08 uses Hugging Face `transformers` and "
        f"TRL, which need Python ≥ {HF_PYTHON} (on an older Python the extra installs nothing): "
        f"create the environment with `python{HF_PYTHON} -m venv rmcourse-env` (on Windows "
        f"`py -{HF_PYTHON} -m venv rmcourse-env`) and also run `{hf_install_command(wheel)}`.",
        "",
        f"`rmcourse init` writes the lessons into `{COURSE_DIR}/notebooks/` and the exercises "
        f"into `{COURSE_DIR}/exercises/` (it never overwrites a file that is there), then says "
        "how to open them. Exercise NN practises lesson NN"
        + (" ([the exercises](exercises.md))." if exercises_page else "."),
    ]
    if "zip" in downloads:
        parts += [
            "",
            f"The same in one zip, the notebooks with the wheel: {download_link(downloads['zip'])}"
            " (its README.txt gives the commands).",
        ]
    parts += [
        "",
        "A notebook downloaded alone (the download button of a lesson page) needs the course "
        "package too: its code does `import rmcourse`, so install the wheel first.",
    ]
    return "\n".join(parts)


def run_yourself_markdown() -> str:
    """The "run it yourself" box of the landing page."""
    return f"```{{admonition}} Run it yourself\n:class: tip\n{run_yourself_text()}\n```"


def readme_page(readme: str, section: str, pages: Mapping[str, str]) -> str:
    """One README section (a level-2 heading) as a page of its own, its heading the title.

    Raises ``ValueError`` naming the section when the README has no such heading.
    """
    _, sections = split_sections(readme)
    if section not in sections:
        raise ValueError(f"README has no '## {section}' section; it has {list(sections)}")
    body = shift_headings(sections[section], -1)
    return f"# {section}\n\n" + local_links(body.strip(), pages) + "\n"


def document_page(path: Path, pages: Mapping[str, str]) -> str:
    """A Markdown document of the repository (e.g. ``docs/grading.md``) as a page."""
    return local_links(Path(path).read_text(encoding="utf-8"), pages)


def exercises_page(
    assignments: Sequence[tuple[str, Sequence[tuple[str, str, float]]]],
    lessons: Sequence[str] = (),
    downloads: Sequence[str] = (),
) -> str:
    """The exercises with their points, each linked to its lesson and its notebook.

    ``assignments``: for each solution notebook, its name and its exercises as
    ``(grade_id, functions, points)``. ``lessons``: the lesson stems with a page; ``downloads``:
    the stems of the student notebooks served under ``download/exercises/``.

    Examples
    --------
    >>> print(exercises_page([("02_numpy_loss", [("bt_loss", "bt_loss", 5.0)])]).splitlines()[-1])
    | `bt_loss` | `bt_loss` | 5 |
    """
    total = sum(points for _, exercises in assignments for *_, points in exercises)
    parts = [
        "# Exercises",
        "",
        "Each exercise notebook practises the lesson with the same number. Students fill in the "
        "functions; visible tests say what is wrong, hidden tests decide the points. "
        "`rmcourse init` writes every exercise into `exercises/` beside the lessons (see "
        "[the landing page](index.md)); each is also linked below. Its code imports the course "
        "package (`import rmcourse`): install the course wheel first. For instructors: the "
        "student notebooks are generated from the instructor notebooks of `solutions/` by "
        "`rmcourse exercises`, and `rmcourse grade` grades a folder of them "
        f"(see [For instructors](instructors.md)). In all: {len(assignments)} notebooks, "
        f"{total:g} points.",
    ]
    for name, exercises in assignments:
        points = sum(p for *_, p in exercises)
        parts += ["", f"(exercise-{name[:2]})=", f"## `{name}` ({points:g} points)", ""]
        lesson = next((stem for stem in lessons if stem[:2] == name[:2]), None)
        where = []
        if lesson is not None:
            where.append(f"Practises [lesson {lesson}](lessons/{lesson}.ipynb).")
        if name in downloads:
            where.append(f"The notebook: {download_link(f'exercises/{name}.ipynb')}.")
        if where:
            parts += [" ".join(where), ""]
        parts += ["| exercise | write | points |", "|---|---|---|"]
        parts += [f"| `{grade_id}` | `{names}` | {p:g} |" for grade_id, names, p in exercises]
    return "\n".join(parts) + "\n"


def _toctree(caption: str, entries: Sequence[str]) -> str:
    lines = ["```{toctree}", f":caption: {caption}", ":maxdepth: 1", ""]
    return "\n".join(lines + list(entries) + ["```"])
