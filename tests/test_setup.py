"""The set-up: the torch installer's choices, and the pins resolving for every supported Python."""

import importlib.util
import json
import re
import sys
from pathlib import Path

import pins
import pytest
from helpers import ROOT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

SUPPORTED = pins.SUPPORTED


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


PYTHONS = pins.pythons_on_this_machine()


@pytest.fixture(scope="module")
def resolutions(request) -> dict[str, tuple[int, str, Path]]:
    """The resolver dry run of each Python found (:mod:`pins`; started when this test run
    collected the test, else now): version -> (exit status, stderr, pip's JSON report)."""
    folder = pins.run_folder(request.config)
    pins.start_once(folder, PYTHONS)
    return pins.wait(folder, sorted(PYTHONS))


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
