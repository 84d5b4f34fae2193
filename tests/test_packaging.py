"""The install descriptions (pyproject.toml, constraints.txt, environment.yml) stay in step."""

import re
import sys

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the pinned environment is Python 3.11
    tomllib = pytest.importorskip("tomli")

from conftest import ROOT
from packaging.requirements import Requirement
from packaging.version import Version


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _direct_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["dev"]
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


def test_torch_is_pinned_to_the_tested_release():
    # An unpinned torch pulls a multi-GB CUDA build; 2.13.0 is the tested CPU release.
    assert _constraints()["torch"] == "2.13.0"


def test_the_console_script_points_at_the_cli():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"] == {"rmcourse": "rmcourse.cli:main"}
