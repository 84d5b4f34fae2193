"""The resolver dry runs behind ``tests/test_setup.py``: one ``pip install --dry-run`` per
supported Python found here, started as soon as a test run has collected the test that reads
them (``tests/conftest.py``), so that their waits on the package index overlap the other tests
instead of holding a worker.

Each run writes, in the run's folder, pip's JSON report, its stderr and, last, its exit status
(``rc-VERSION``, written whole), which is what :func:`wait` waits for; any worker of a
pytest-xdist run can read them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock
from helpers import ROOT

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


def start_once(folder: Path, pythons: dict[str, str]) -> None:
    """Start the dry runs in ``folder`` unless a process of this test run already has.

    Each is this environment's pip run for that Python (``pip --python``: its markers and wheel
    tags), every extra of the project with the constraints, installing nothing; all at once,
    since they wait on the package index more than they compute."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / "start.lock"):
        if (folder / "started").exists():
            return
        extras = ",".join(
            tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
        )
        for version, python in pythons.items():
            report = folder / f"report-{version}.json"
            pip = [sys.executable, "-m", "pip", "--python", python, "install", "--dry-run",
                   "--quiet", "--ignore-installed", "--report", str(report),
                   "-c", str(ROOT / "constraints.txt"), f"{ROOT}[{extras}]"]  # fmt: skip
            subprocess.Popen(
                [sys.executable, "-c", _WRAPPER, folder / f"stderr-{version}",
                 folder / f"rc-{version}", *pip],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        (folder / "started").write_text("")


def wait(folder: Path, versions: list[str], timeout: float = 900) -> dict[str, tuple]:
    """Version -> (exit status, stderr, path of pip's JSON report), once every run has ended."""
    deadline = time.monotonic() + timeout
    results = {}
    for version in versions:
        rc = folder / f"rc-{version}"
        while not rc.exists():
            assert time.monotonic() < deadline, f"the resolver run for Python {version} hangs"
            time.sleep(0.5)
        stderr = (folder / f"stderr-{version}").read_text()
        results[version] = (int(rc.read_text()), stderr, folder / f"report-{version}.json")
    return results
