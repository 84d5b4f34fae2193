"""The set-up: the torch installer's choices, and the pins resolving for every supported Python."""

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

SUPPORTED = ((3, 10), (3, 11), (3, 12), (3, 13))


def _installer():
    spec = importlib.util.spec_from_file_location(
        "install_torch", ROOT / "scripts" / "install_torch.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pyproject_states_the_supported_pythons():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10"
    classifiers = {
        c for c in project["classifiers"] if c.startswith("Programming Language :: Python :: 3.")
    }
    assert classifiers == {f"Programming Language :: Python :: {a}.{b}" for a, b in SUPPORTED}


def test_auto_takes_the_cpu_build_on_linux_without_an_nvidia_driver(monkeypatch):
    installer = _installer()
    monkeypatch.setattr(installer.platform, "system", lambda: "Linux")
    monkeypatch.setattr(installer, "has_nvidia_driver", lambda: False)
    assert installer.choose_build("auto") == "cpu"
    monkeypatch.setattr(installer, "has_nvidia_driver", lambda: True)
    assert installer.choose_build("auto") == "cuda"
    assert installer.choose_build("cpu") == "cpu"
    monkeypatch.setattr(installer.platform, "system", lambda: "Darwin")
    assert installer.choose_build("auto") == "cuda"  # PyPI's macOS wheel has no CUDA libraries
    with pytest.raises(SystemExit, match="TORCH must be auto, cpu or cuda, got 'gpu'"):
        installer.choose_build("gpu")


def test_the_torch_pin_is_read_from_the_constraints_for_this_python(tmp_path):
    installer = _installer()
    assert installer.pinned_torch() == re.search(
        r"^torch==(\S+)", (ROOT / "constraints.txt").read_text(), re.M
    ).group(1)
    other = tmp_path / "constraints.txt"
    other.write_text(
        'numpy==2.0\ntorch==1.0.0; python_version < "3.10"\n'
        'torch==9.9.9; python_version >= "3.10"\n'
    )
    assert installer.pinned_torch(other) == "9.9.9"
    other.write_text("numpy==2.0\n")
    with pytest.raises(SystemExit, match="no torch== pin"):
        installer.pinned_torch(other)


def test_an_unreachable_cpu_index_falls_back_in_one_line_without_installing(monkeypatch, capsys):
    installer = _installer()
    # A closed local port answers at once: the probe gives up without waiting for its timeout.
    assert installer.index_reachable("http://127.0.0.1:9", timeout=2) is False
    monkeypatch.setattr(installer, "index_reachable", lambda: False)
    monkeypatch.setattr(installer.subprocess, "call", lambda cmd: pytest.fail(f"ran {cmd}"))
    assert installer.main(["cpu"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [f"torch: PyTorch's CPU index ({installer.CPU_INDEX}) is not reachable; "
                   "installing the default build instead"]  # fmt: skip


def test_a_reachable_cpu_index_installs_the_pinned_cpu_build(monkeypatch, capsys):
    installer = _installer()
    calls = []
    monkeypatch.setattr(installer, "index_reachable", lambda: True)
    monkeypatch.setattr(installer.subprocess, "call", lambda cmd: calls.append(cmd) or 0)
    assert installer.main(["cpu"]) == 0
    (cmd,) = calls
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"]
    assert cmd[-3:] == ["--index-url", installer.CPU_INDEX, f"torch=={installer.pinned_torch()}"]
    assert "--no-deps" in cmd  # the dependencies come from the normal install that follows


def _pythons_on_this_machine():
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


PYTHONS = _pythons_on_this_machine()


@pytest.fixture(scope="module")
def resolutions(tmp_path_factory) -> dict[str, tuple[int, str, Path]]:
    """A resolver dry run per Python found, every extra of the project with the constraints,
    installing nothing. Each is this environment's pip run for that Python (``pip --python``:
    its markers and wheel tags, with a pip that resolves in half the time of an old one), all at
    once, since they wait on the package index more than they compute. Version -> (exit
    status, stderr, pip's JSON report)."""
    extras = ",".join(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    )
    folder = tmp_path_factory.mktemp("resolve")
    runs = {}
    for version, python in PYTHONS.items():
        report = folder / f"report-{version}.json"
        command = [sys.executable, "-m", "pip", "--python", python, "install", "--dry-run",
                   "--quiet", "--ignore-installed",
                   "--report", str(report), "-c", str(ROOT / "constraints.txt"),
                   f"{ROOT}[{extras}]"]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True)  # fmt: skip
        runs[version] = (process, report)
    results = {}
    for version, (process, report) in runs.items():
        _, stderr = process.communicate(timeout=900)
        results[version] = (process.returncode, stderr, report)
    return results


@pytest.mark.slow
@pytest.mark.parametrize("version", sorted(PYTHONS))
def test_the_pins_resolve_for_each_python_found(version, resolutions):
    returncode, stderr, report = resolutions[version]
    assert returncode == 0, f"Python {version}: the constraints do not resolve\n{stderr[-3000:]}"
    resolved = json.loads(report.read_text())
    assert resolved["environment"]["python_version"] == version  # resolved for that Python
    installs = {
        i["metadata"]["name"].lower(): i["metadata"]["version"] for i in resolved["install"]
    }
    pin = re.search(r"^torch==(\S+)\s*$", (ROOT / "constraints.txt").read_text(), re.M).group(1)
    assert installs["torch"].split("+")[0] == pin


def test_the_resolution_check_finds_the_python_running_it():
    assert sys.version_info[:2] in SUPPORTED
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in PYTHONS
