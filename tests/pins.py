"""The resolver runs behind ``tests/test_setup.py``: one resolution of the pinned project per
supported Python found here, installing nothing, started as soon as a test run has collected the
test that reads them (``tests/conftest.py``), so that their waits on the package index overlap
the other tests instead of holding a worker.

Each is the resolver of the installer ``make setup`` uses: uv's (``uv pip compile --python``,
about half a CPU-second per Python) where the environment has uv, else pip's (``pip install
--dry-run --python``, 15 to 18 CPU-seconds each). Each run writes, in the run's folder, the
resolution (uv: a requirements file; pip: its JSON report), its stderr and, last, its exit status
(``rc-VERSION``, written whole), which is what :func:`wait` waits for; any worker of a
pytest-xdist run can read them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock
from helpers import ROOT, load_script

SUPPORTED = ((3, 10), (3, 11), (3, 12), (3, 13))

TEST = "test_the_pins_resolve_for_each_python_found"
"""The test that reads the runs: collecting it starts them."""

# Runs pip (the arguments after the first two), its stderr to argv[1], then its exit status to
# argv[2] by a rename, so a reader never sees half of it.
_WRAPPER = (
    "import os, subprocess, sys\n"
    "with open(sys.argv[1], 'w') as err:\n"
    "    rc = subprocess.run(sys.argv[3:], stdout=subprocess.DEVNULL, stderr=err).returncode\n"
    "with open(sys.argv[2] + '.part', 'w') as f:\n"
    "    f.write(str(rc))\n"
    "os.replace(sys.argv[2] + '.part', sys.argv[2])\n"
)


def pythons_on_this_machine() -> dict[str, str]:
    """Version ("3.10") -> an interpreter of it with pip, for each supported Python found."""
    found = {}
    for major, minor in SUPPORTED:
        name = f"python{major}.{minor}"
        candidates = [
            shutil.which(name),
            *sorted(Path.home().glob(f".pyenv/versions/{major}.{minor}.*/bin/{name}")),
        ]
        for candidate in candidates:
            if (
                candidate
                and subprocess.run(
                    [str(candidate), "-c", "import pip"], capture_output=True
                ).returncode
                == 0
            ):
                found[f"{major}.{minor}"] = str(candidate)
                break
    return found


def run_folder(config: pytest.Config) -> Path:
    """This test run's folder for the runs, the same for every pytest-xdist worker."""
    base = config._tmp_path_factory.getbasetemp()  # a worker's is popen-gwN in the run's folder
    return (base.parent if hasattr(config, "workerinput") else base) / "resolve"


def uv() -> Path | None:
    """The uv of the environment running the tests, if it has one."""
    found = Path(sys.executable).parent / "uv"
    return found if found.exists() else None


def start_once(folder: Path, pythons: dict[str, str]) -> None:
    """Start the resolutions in ``folder`` unless a process of this test run already has.

    Each resolves the project with every extra and the constraints for that Python (its markers
    and platform), from the package sources pip is configured with, installing nothing; all at
    once, since they wait on the package index more than they compute."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / "start.lock"):
        if (folder / "started").exists():
            return
        extras = list(
            tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
        )
        constraints = str(ROOT / "constraints.txt")
        sources = load_script("install_course").configured_sources()  # as make setup gives uv
        for version, python in pythons.items():
            report = folder / f"report-{version}"
            if uv() is None:
                cmd = [sys.executable, "-m", "pip", "--python", python, "install", "--dry-run",
                       "--quiet", "--ignore-installed", "--report", str(report), "-c", constraints,
                       f"{ROOT}[{','.join(extras)}]"]  # fmt: skip
            else:
                cmd = [str(uv()), "pip", "compile", "--quiet", "--python", python,
                       "--index-strategy", "unsafe-best-match", *sources, "-c", constraints,
                       *[f"--extra={e}" for e in extras], "-o", str(report),
                       str(ROOT / "pyproject.toml")]  # fmt: skip
            subprocess.Popen(
                [sys.executable, "-c", _WRAPPER, folder / f"stderr-{version}",
                 folder / f"rc-{version}", *cmd],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        (folder / "started").write_text("")


def resolved(report: Path) -> dict[str, str]:
    """Package name (lower case) -> version, of a resolution :func:`start_once` wrote."""
    text = report.read_text()
    if uv() is None:
        return {i["metadata"]["name"].lower(): i["metadata"]["version"]
                for i in json.loads(text)["install"]}  # fmt: skip
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)
    return {name.lower().replace("_", "-"): version for name, version in pins}


def wait(folder: Path, versions: list[str], timeout: float = 900) -> dict[str, tuple]:
    """Version -> (exit status, stderr, path of the resolution), once every run has ended."""
    deadline = time.monotonic() + timeout
    results = {}
    for version in versions:
        rc = folder / f"rc-{version}"
        while not rc.exists():
            assert time.monotonic() < deadline, f"the resolver run for Python {version} hangs"
            time.sleep(0.5)
        stderr = (folder / f"stderr-{version}").read_text()
        results[version] = (int(rc.read_text()), stderr, folder / f"report-{version}")
    return results
