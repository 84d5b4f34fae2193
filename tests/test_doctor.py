"""``rmcourse doctor`` reports this installation truthfully and names what is missing."""

import importlib.metadata
import sys
from pathlib import Path

import torch

from rmcourse import doctor
from rmcourse.cli import main
from rmcourse.notebooks import jupyter_lab_command


def test_doctor_prints_this_python_the_versions_and_the_device(capsys):
    assert main(["doctor"]) == 0  # the test environment is complete
    out = capsys.readouterr().out
    assert f"python              {sys.version.split()[0]} ({sys.executable})" in out
    assert f"torch               {importlib.metadata.version('torch')}" in out
    assert f"numpy               {importlib.metadata.version('numpy')}" in out
    device = "GPU: " if torch.cuda.is_available() else "no GPU visible, lessons train on the CPU"
    assert f"device              {device}" in out
    assert "quiz widgets        can render in JupyterLab" in out
    assert out.rstrip().endswith("no problems found")


def test_the_open_command_names_an_existing_jupyter():
    command = jupyter_lab_command(Path("notebooks"))
    assert command.endswith(" lab notebooks")
    assert Path(command.split()[0]).exists()


def test_a_missing_widget_extension_is_a_problem_with_its_consequence(tmp_path):
    report = doctor.diagnose(prefixes=[tmp_path])
    assert ("quiz widgets", "will not render") in report.lines
    assert any("widget extension" in p and "static form" in p for p in report.problems)
    found = tmp_path / "share" / "jupyter" / "labextensions" / "@jupyter-widgets"
    (found / "jupyterlab-manager").mkdir(parents=True)
    assert doctor.widget_extension_dirs([tmp_path]) == [found / "jupyterlab-manager"]


def test_a_missing_package_is_reported_and_fails_the_exit_status(monkeypatch, capsys):
    monkeypatch.setattr(doctor, "PACKAGES", ("numpy", "no-such-distribution-rmcourse"))
    report = doctor.diagnose()
    assert ("no-such-distribution-rmcourse", "not installed") in report.lines
    assert report.problems[0].startswith("no-such-distribution-rmcourse is not installed")
    assert doctor.doctor() == 1
    assert "problem: no-such-distribution-rmcourse is not installed" in capsys.readouterr().out


def test_doctor_names_the_grading_box(monkeypatch):
    from rmcourse.grading import box

    kind, _ = box.available()
    expected = {box.BUBBLEWRAP: "bubblewrap", box.UNSHARE: "unshare", None: "none ("}[kind]
    assert dict(doctor.diagnose().lines)["grading box"].startswith(expected)
    monkeypatch.setattr(box, "available", lambda: (None, "no bwrap"))
    assert dict(doctor.diagnose().lines)["grading box"] == (
        "none (no bwrap): install bubblewrap, or grade in a container"
    )
