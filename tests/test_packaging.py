"""The install descriptions (pyproject.toml, constraints.txt, environment.yml) stay in step."""

import re
import sys

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the pinned environment is Python 3.11
    tomllib = pytest.importorskip("tomli")

from helpers import ROOT
from packaging.requirements import Requirement
from packaging.version import Version


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


HF_EXTRA = {"transformers", "trl", "datasets", "accelerate", "tokenizers"}


def _direct_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    specs = project["dependencies"] + extras["dev"] + extras["hf"]
    return [Requirement(spec) for spec in specs]


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"constraints.txt pins with ==, not {line!r}"
        pins[_canonical(requirement.name)] = spec.version
    return pins


def _environment_yml() -> dict[str, str]:
    text = (ROOT / "environment.yml").read_text()
    pins = {}
    for match in re.finditer(r"^\s+- ([A-Za-z0-9_.\-]+)==([^\s#]+)\s*$", text, re.MULTILINE):
        pins[_canonical(match.group(1))] = match.group(2)
    return pins


def test_every_direct_dependency_is_pinned_in_constraints_within_its_range():
    pins = _constraints()
    for requirement in _direct_requirements():
        name = _canonical(requirement.name)
        assert name in pins, f"{name} is a dependency in pyproject.toml but not in constraints.txt"
        in_range = requirement.specifier.contains(Version(pins[name]), prereleases=True)
        assert in_range, f"constraints.txt pins {name}=={pins[name]}, outside {requirement}"


def test_environment_yml_names_the_same_packages_at_the_same_versions():
    pins = _constraints()
    env = _environment_yml()
    direct = {_canonical(r.name) for r in _direct_requirements()}
    assert set(env) == direct, (
        f"environment.yml and pyproject.toml differ: only in environment.yml {set(env) - direct}, "
        f"only in pyproject.toml {direct - set(env)}"
    )
    for name, version in env.items():
        assert pins[name] == version, (
            f"environment.yml pins {name}=={version}, constraints.txt {pins[name]}"
        )


def test_the_hf_extra_names_the_four_libraries_and_tokenizers_for_python_3_11_up():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    hf = [Requirement(spec) for spec in project["optional-dependencies"]["hf"]]
    assert {_canonical(r.name) for r in hf} == HF_EXTRA
    for requirement in hf:
        # transformers >= 5.21 needs Python 3.11: on 3.10 the extra must install nothing
        assert requirement.marker is not None, f"{requirement} has no python_version marker"
        assert requirement.marker.evaluate({"python_version": "3.11"})
        assert not requirement.marker.evaluate({"python_version": "3.10"})
        # their APIs change between major releases
        assert any(spec.operator == "<" for spec in requirement.specifier), (
            f"{requirement} needs an upper bound"
        )


def test_hf_pins_are_for_python_3_11_up_like_the_extra():
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and _canonical(Requirement(line).name) in HF_EXTRA:
            assert Requirement(line).marker == Requirement('x; python_version >= "3.11"').marker, (
                f"constraints.txt pins {line!r} without the marker of the [hf] extra"
            )


def test_setup_installs_the_hf_extra_so_make_test_runs_lesson_08():
    makefile = (ROOT / "Makefile").read_text()
    assert "scripts/install_course.py dev,hf" in makefile, "make setup must install the [hf] extra"
    assert "-e .[hf]" in (ROOT / "environment.yml").read_text()


def test_torch_is_pinned_to_the_tested_release():
    # An unpinned torch pulls a multi-GB CUDA build; 2.13.0 is the tested CPU release.
    assert _constraints()["torch"] == "2.13.0"


def test_the_console_script_points_at_the_cli():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"] == {"rmcourse": "rmcourse.cli:main"}
