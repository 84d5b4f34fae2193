"""The course taken home: the wheel carries the lessons and exercises, ``rmcourse init`` writes
them out (never over a student's files), and in a fresh environment the written lesson 01 runs."""

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import nbformat
import pytest
from helpers import ROOT

from rmcourse.cli import main
from rmcourse.site.course import lesson_paths, take_home_files
from rmcourse.site.downloads import ZIP_FOLDER, zip_readme
from rmcourse.site.extension import _run_yourself
from rmcourse.site.pages import (
    TORCH_CPU,
    hf_install_command,
    landing_page,
    run_yourself_text,
    uses_hf,
)
from rmcourse.takehome import COURSE_FILES, course_files, course_source, init_course

LESSONS = [p.name for p in lesson_paths(ROOT / "notebooks")]
EXERCISES = [p.name for p in lesson_paths(ROOT / "exercises")]


def test_init_writes_every_lesson_and_exercise_of_the_checkout(tmp_path, capsys):
    dest = tmp_path / "my course"
    assert main(["init", str(dest)]) == 0
    assert sorted(p.name for p in (dest / "notebooks").iterdir()) == LESSONS
    assert sorted(p.name for p in (dest / "exercises").iterdir()) == EXERCISES
    lesson = "01_bradley_terry.ipynb"
    assert (dest / "notebooks" / lesson).read_bytes() == (ROOT / "notebooks" / lesson).read_bytes()
    printed = capsys.readouterr().out
    assert f"wrote {len(LESSONS)} lessons to {dest / 'notebooks'}" in printed
    assert f"{len(EXERCISES)} exercises to {dest / 'exercises'}" in printed
    assert "lab" in printed and str(dest) in printed.splitlines()[1]  # how to open them


def test_init_never_overwrites_a_students_file_and_writes_nothing_then(tmp_path, capsys):
    dest = tmp_path / "course"
    (dest / "exercises").mkdir(parents=True)
    mine = dest / "exercises" / EXERCISES[0]
    mine.write_text("my filled-in work")
    (dest / "notes.txt").write_text("other files are fine")
    assert main(["init", str(dest)]) == 1
    err = capsys.readouterr().err
    assert "1 of the course's files exist already" in err and str(mine) in err
    assert mine.read_text() == "my filled-in work"
    assert not (dest / "notebooks").exists()  # nothing written
    mine.unlink()
    assert len(init_course(dest)) == len(LESSONS) + len(EXERCISES)
    assert (dest / "notes.txt").read_text() == "other files are fine"


def test_init_explains_a_file_in_the_way_and_an_install_without_lessons(tmp_path, capsys):
    blocker = tmp_path / "course"
    blocker.write_text("")
    assert main(["init", str(blocker)]) == 1
    assert "is a file, not a folder" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="no lessons"):
        init_course(tmp_path / "dest", source=tmp_path / "empty")


def test_the_checkout_is_the_source_of_the_editable_install():
    source = course_source()
    assert source == ROOT and not (ROOT / "rmcourse" / COURSE_FILES).exists()
    assert [p.name for p in course_files(source)] == LESSONS + EXERCISES


def _shadow_site_packages(target):
    """A folder of links to this environment's installed packages, rmcourse's left out."""
    target.mkdir()
    site = sysconfig.get_paths()["purelib"]
    for entry in os.scandir(site):
        name = entry.name.lower()
        if name.startswith(("rmcourse", "__editable__", "_rmcourse")) or name.endswith(".pth"):
            continue
        (target / entry.name).symlink_to(entry.path)
    return target


def test_the_take_home_texts_give_torchs_cpu_build_and_lesson_08s_extra():
    pin = next(
        line
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line.startswith("torch==")
    )
    assert TORCH_CPU.split()[0] == pin  # the version the course is tested with
    wheel = "rmcourse-0.1.0-py3-none-any.whl"
    hf = hf_install_command(wheel)
    assert hf == f'rmcourse-env/bin/pip install "{wheel}[hf]"'
    landing = landing_page("# T\n", ["01_a"], [], {"wheel": wheel})
    readme = zip_readme(wheel)
    for text in (landing, readme):
        assert TORCH_CPU in text and "python3 -m venv" in text and "3.11" in text
    assert hf in landing and hf_install_command(wheel, ".venv/bin/pip") in readme
    checkout = run_yourself_text()  # a checkout has the Makefile; `rmcourse init`'s folder not
    assert "checkout of the course repository" in checkout and "macOS" in checkout
    assert "make test" not in checkout  # the developers' full check, not a student's step
    box = _run_yourself("08_trl", {"wheel": wheel}, [], hf=True).astext()
    assert hf_install_command(wheel, "pip") in box and TORCH_CPU in box
    assert "[hf]" not in _run_yourself("01_a", {"wheel": wheel}, [], hf=False).astext()


def test_only_lesson_08_is_marked_as_needing_the_hf_extra():
    marked = []
    for path in lesson_paths(ROOT / "notebooks"):
        code = "\n".join(c.source for c in nbformat.read(path, 4).cells if c.cell_type == "code")
        if uses_hf(code):
            marked.append(path.stem)
    assert marked == ["08_trl"]


@pytest.mark.slow
@pytest.mark.kernel
def test_the_wheel_in_a_fresh_environment_writes_a_course_whose_lesson_01_runs(tmp_path):
    lessons = lesson_paths(ROOT / "notebooks")
    wheel, archive = take_home_files(ROOT, lessons, tmp_path / "dist")
    assert wheel.name == "rmcourse-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as built:
        carried = sorted(n for n in built.namelist() if "/course_files/" in n)
    assert carried == [f"rmcourse/{COURSE_FILES}/exercises/{n}" for n in EXERCISES] + [
        f"rmcourse/{COURSE_FILES}/notebooks/{n}" for n in LESSONS
    ]
    assert wheel.stat().st_size < 4_000_000  # the lessons' figures, the package: small
    with zipfile.ZipFile(wheel) as built:  # what the pages' `pip install '...whl[hf]'` asks for
        meta = built.read("rmcourse-0.1.0.dist-info/METADATA").decode()
    assert "Provides-Extra: hf" in meta
    assert "Requires-Dist: datasets" in meta and 'extra == "hf"' in meta
    with zipfile.ZipFile(archive) as packed:
        names = packed.namelist()
    assert f"{ZIP_FOLDER}/{wheel.name}" in names and f"{ZIP_FOLDER}/README.txt" in names
    assert f"{ZIP_FOLDER}/notebooks/{LESSONS[0]}" in names
    assert f"{ZIP_FOLDER}/exercises/{EXERCISES[0]}" in names

    # A fresh environment that sees this one's dependencies (no network, no second torch) but
    # not its editable rmcourse; pip installs the wheel into it, offline.
    env_dir = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", env_dir], check=True)
    shadow = _shadow_site_packages(tmp_path / "deps")
    ask = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = subprocess.run(
        [env_dir / "bin" / "python", "-c", ask], capture_output=True, text=True, check=True
    ).stdout.strip()
    (Path(purelib) / "deps.pth").write_text(f"{shadow}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}"

    def run(*args, cwd=tmp_path):
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        return done.stdout

    python = str(env_dir / "bin" / "python")
    run(python, "-m", "pip", "install", "--no-index", "--no-build-isolation", "-q", str(wheel))
    printed = run(str(env_dir / "bin" / "rmcourse"), "init", "course")
    assert f"wrote {len(LESSONS)} lessons" in printed and "lab course" in printed
    course = tmp_path / "course"
    assert sorted(p.name for p in (course / "exercises").iterdir()) == EXERCISES

    lesson = course / "notebooks" / "01_bradley_terry.ipynb"
    nb = nbformat.read(lesson, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import rmcourse; print(rmcourse.__file__)"))
    nbformat.write(nb, lesson)
    script = (
        "import sys, nbformat, nbclient; nb = nbformat.read(sys.argv[1], as_version=4); "
        "nbclient.NotebookClient(nb, timeout=300, kernel_name='python3', "
        "resources={'metadata': {'path': sys.argv[2]}}).execute(); "
        "print(nb.cells[-1].outputs[0]['text'])"
    )
    where = run(python, "-c", script, str(lesson), str(lesson.parent), cwd=lesson.parent)
    assert where.strip().startswith(str(env_dir)), where  # the wheel's rmcourse ran the lesson


@pytest.mark.slow
@pytest.mark.kernel
def test_rmcourse_course_builds_the_downloads_and_the_site_serves_and_links_them(tmp_path):
    from rmcourse.site.course import build_course

    root = tmp_path / "checkout"  # a course checkout with one lesson and one exercise
    (root / "notebooks").mkdir(parents=True)
    (root / "exercises").mkdir()
    for name in ("pyproject.toml", "README.md", "rmcourse", "solutions"):
        (root / name).symlink_to(ROOT / name)
    lesson = nbformat.v4.new_notebook()
    lesson.cells = [
        nbformat.v4.new_markdown_cell("# Lesson 01"),
        nbformat.v4.new_code_cell("print('ran')"),
    ]
    nbformat.write(lesson, root / "notebooks" / "01_bradley_terry.ipynb")
    nbformat.write(lesson, root / "exercises" / "01_bradley_terry.ipynb")
    out = tmp_path / "build"

    assert build_course(root / "notebooks", out, timeout=60) == 0

    built = sorted(p.name for p in (out / "dist").iterdir())
    assert built == ["rmcourse-0.1.0-py3-none-any.whl", "rmcourse-course-0.1.0.zip"]
    for name in built:
        assert (out / "site" / "download" / name).read_bytes() == (out / "dist" / name).read_bytes()
    with zipfile.ZipFile(out / "dist" / built[0]) as wheel:
        executed = wheel.read(f"rmcourse/{COURSE_FILES}/notebooks/01_bradley_terry.ipynb")
    assert "ran" in nbformat.reads(executed.decode(), as_version=4).cells[1].outputs[0]["text"]
    index = (out / "site" / "index.html").read_text()
    assert f'href="download/{built[0]}"' in index and f'href="download/{built[1]}"' in index
    page = (out / "site" / "lessons" / "01_bradley_terry.html").read_text()
    assert f'href="../download/{built[0]}"' in page
    assert 'href="../exercises.html#exercise-01"' in page
    assert (out / "site" / "download" / "exercises" / "01_bradley_terry.ipynb").is_file()


def test_the_wheel_build_says_what_it_lacks(tmp_path, monkeypatch):
    from rmcourse.site import downloads

    with pytest.raises(FileNotFoundError, match="has no pyproject.toml"):
        downloads.build_wheel(tmp_path, [], [], tmp_path / "dist")
    monkeypatch.setattr(downloads, "_setuptools_major", lambda: 65)  # a 3.11 venv's own
    with pytest.raises(RuntimeError, match=r"setuptools >= 77 .*pip install 'setuptools>=77'"):
        downloads.build_wheel(ROOT, [], [], tmp_path / "dist")
