"""What a student downloads from the site: the course wheel and a zip of the same.

:func:`build_wheel` builds the package from a checkout with the lessons and exercises as package
data (``rmcourse/course_files/``, read by :mod:`rmcourse.takehome`); the checkout itself is not
touched, so its editable install stays as it is. The build runs setuptools' backend with this
interpreter, without pip and without the network. :func:`build_zip` packs the same notebooks and
the wheel, for a student who wants the files first.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from rmcourse.site.pages import HF_PYTHON, TORCH_CPU, hf_install_command
from rmcourse.takehome import COURSE_FILES, FOLDERS

ZIP_FOLDER = "rmcourse-course"  # the zip's one top-level folder
SETUPTOOLS_MAJOR = 77  # the build-system requirement of pyproject.toml
# The files of a checkout the wheel is built from besides rmcourse/: its description, its README.
BUILD_FILES = ("pyproject.toml", "README.md")
_BUILD = "import sys; from setuptools import build_meta; print(build_meta.build_wheel(sys.argv[1]))"


def build_wheel(
    checkout: Path, lessons: Sequence[Path], exercises: Sequence[Path], out_dir: Path
) -> Path:
    """Build the course wheel into ``out_dir``; return its path.

    ``checkout`` is the repository (``pyproject.toml``, ``README.md``, ``rmcourse/``);
    ``lessons`` and ``exercises`` are the ``.ipynb`` files the wheel carries.

    Raises
    ------
    FileNotFoundError
        When ``checkout`` lacks a file the build needs.
    RuntimeError
        When setuptools is not installed, or fails (the message ends with its output).
    """
    checkout = Path(checkout)
    if _setuptools_major() < SETUPTOOLS_MAJOR:
        raise RuntimeError(
            f"the course wheel is built with setuptools >= {SETUPTOOLS_MAJOR} (pyproject.toml's "
            f"licence field), which this environment lacks: {sys.executable} -m pip install "
            f"'setuptools>={SETUPTOOLS_MAJOR}' (make setup installs it)"
        )
    for name in (*BUILD_FILES, "rmcourse"):
        if not (checkout / name).exists():
            raise FileNotFoundError(f"{checkout} has no {name}: it is not the course repository")
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rmcourse-wheel-") as scratch:
        stage = Path(scratch)
        for name in BUILD_FILES:
            shutil.copy2(checkout / name, stage / name)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", COURSE_FILES)
        shutil.copytree(checkout / "rmcourse", stage / "rmcourse", ignore=ignore)
        for folder, notebooks in zip(FOLDERS, (lessons, exercises), strict=True):
            target = stage / "rmcourse" / COURSE_FILES / folder
            target.mkdir(parents=True)
            for notebook in notebooks:
                shutil.copy2(notebook, target / Path(notebook).name)
        done = subprocess.run(
            [sys.executable, "-c", _BUILD, str(out_dir)],
            cwd=stage,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the wheel was not built:\n{(done.stdout + done.stderr)[-2000:]}")
    return out_dir / done.stdout.strip().splitlines()[-1]


def _setuptools_major() -> int:
    try:
        return int(metadata.version("setuptools").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return 0


def build_zip(
    wheel: Path, lessons: Sequence[Path], exercises: Sequence[Path], out_dir: Path
) -> Path:
    """A zip of the lessons, the exercises and the wheel, with a README; return its path."""
    wheel = Path(wheel)
    version = wheel.name.split("-")[1]
    path = Path(out_dir) / f"{ZIP_FOLDER}-{version}.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{ZIP_FOLDER}/README.txt", zip_readme(wheel.name))
        archive.write(wheel, f"{ZIP_FOLDER}/{wheel.name}")
        for folder, notebooks in zip(FOLDERS, (lessons, exercises), strict=True):
            for notebook in notebooks:
                archive.write(notebook, f"{ZIP_FOLDER}/{folder}/{Path(notebook).name}")
    return path


def zip_readme(wheel_name: str) -> str:
    """The zip's README: install the wheel beside it, then open the notebooks."""
    return (
        "The pair-wise ranking loss of RLHF reward models: the course's lessons (notebooks/) and\n"
        "exercises (exercises/). They import the course package, which is the wheel beside\n"
        "this file. In this folder, with Python >= 3.10:\n\n"
        "    python3 -m venv .venv\n"
        f"    .venv/bin/pip install {TORCH_CPU}\n"
        f"    .venv/bin/pip install {wheel_name}\n"
        "    .venv/bin/jupyter lab .\n\n"
        "The second command is optional (its CPU-only index has not been tested by the\n"
        "authors): it installs torch's CPU build, where a bare install on Linux takes PyPI's\n"
        "build with the CUDA libraries (gigabytes). Lesson 08 needs the Hugging Face packages\n"
        f"and Python >= {HF_PYTHON} (on an older one the extra installs nothing: create the\n"
        f".venv with python{HF_PYTHON}); then also run\n\n"
        f"    {hf_install_command(wheel_name, '.venv/bin/pip')}\n\n"
        "(On Windows: .venv\\Scripts\\ instead of .venv/bin/, and py -3.11 for python3.)\n"
        "Start with notebooks/01_bradley_terry.ipynb; exercise NN practises lesson NN.\n"
    )
