"""The set-up: the torch installer's choices, and the pins resolving for every supported Python."""

import re
import sys
from pathlib import Path

import pins
import pytest
from helpers import ROOT, load_script
from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

SUPPORTED = pins.SUPPORTED


def _installer():
    return load_script("install_torch")


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
    """The resolution of each Python found (:mod:`pins`; started when this test run collected
    the test, else now): version -> (exit status, stderr, the resolution's file)."""
    folder = pins.run_folder(request.config)
    pins.start_once(folder, PYTHONS)
    return pins.wait(folder, sorted(PYTHONS))


@pytest.mark.slow
@pytest.mark.parametrize("version", sorted(PYTHONS))
def test_the_pins_resolve_for_each_python_found(version, resolutions):
    returncode, stderr, report = resolutions[version]
    assert returncode == 0, f"Python {version}: the constraints do not resolve\n{stderr[-3000:]}"
    installs = pins.resolved(report)
    # resolved for that Python: each package at the pin whose marker holds there (the lines
    # marked python_version < "3.11" on 3.10 only), torch's local label (+cpu) aside, and the
    # [hf] extra on 3.11 and later only
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            pin = Requirement(line)
            if pin.name.lower() in installs and (
                pin.marker is None or pin.marker.evaluate({"python_version": version})
            ):
                got = installs[pin.name.lower()].split("+")[0]
                assert pin.specifier.contains(got), (version, line, got)
    assert "torch" in installs
    assert ("transformers" in installs) == (version != "3.10"), sorted(installs)


def test_the_resolution_check_finds_the_python_running_it():
    assert sys.version_info[:2] in SUPPORTED
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in PYTHONS


def _course_installer():
    return load_script("install_course")


def test_uv_installs_from_the_package_sources_pip_is_configured_with():
    installer = _course_installer()
    listing = (
        "global.find-links='/opt/wheels'\n"
        "global.index-url='https://mirror.example/simple'\n"
        "global.extra-index-url='file:///a/simple file:///b/simple'\n"
        ":env:.timeout='60'\n:env:.find-links='/opt/wheels'\n"
    )
    assert installer.pip_sources(listing) == [
        "--find-links", "/opt/wheels", "--index-url", "https://mirror.example/simple",
        "--extra-index-url", "file:///a/simple", "--extra-index-url", "file:///b/simple",
    ]  # fmt: skip
    assert installer.pip_sources("") == []


@pytest.mark.parametrize("failing", ["uv", "pip install uv"])
def test_pip_installs_the_course_when_uv_cannot(monkeypatch, capsys, failing):
    installer = _course_installer()
    calls = []

    def call(cmd):
        calls.append(cmd)
        failed = cmd[0].endswith("uv") if failing == "uv" else cmd[-1] == "uv"
        return 1 if failed else 0

    monkeypatch.setattr(installer.subprocess, "call", call)
    monkeypatch.setattr(installer.subprocess, "run", lambda *a, **k: type("R", (), {"stdout": ""}))
    assert installer.main(["dev"]) == 0
    last = calls[-1]
    assert last[:4] == [sys.executable, "-m", "pip", "install"]
    assert last[-4:] == ["-c", str(installer.CONSTRAINTS), "-e", f"{ROOT}[dev]"]
    assert "uv could not" in capsys.readouterr().out
    assert any(c[0].endswith("uv") for c in calls) == (failing == "uv")
