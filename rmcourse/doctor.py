"""``rmcourse doctor``: the facts of this installation in a few lines, for a help request.

It reports the Python, the versions of the packages the course needs, whether torch sees a GPU,
whether the quiz widgets can render in JupyterLab (ipywidgets and the JupyterLab widget
extension), which box ``rmcourse grade`` can run student kernels in, and the command that opens
the course. Nothing here imports a lesson's code.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rmcourse.notebooks import jupyter_lab_command

# The distributions whose versions matter when something goes wrong, in the order they are shown.
PACKAGES: tuple[str, ...] = (
    "rmcourse", "numpy", "torch", "matplotlib", "ipywidgets", "jupyterlab", "jupyterlab_widgets",
    "nbclient",
)  # fmt: skip
WIDGET_EXTENSION = ("@jupyter-widgets", "jupyterlab-manager")  # JupyterLab's widget manager


@dataclass
class Report:
    """What ``doctor`` found: lines to show, and problems that stop the course from working."""

    lines: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, label: str, value: str) -> None:
        self.lines.append((label, value))

    def text(self) -> str:
        width = max(len(label) for label, _ in self.lines)
        out = [f"{label:<{width}}  {value}" for label, value in self.lines]
        out += [f"problem: {p}" for p in self.problems] or ["no problems found"]
        return "\n".join(out)


def version_of(distribution: str) -> str | None:
    """The installed version of ``distribution``, or ``None`` when it is not installed."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def torch_device() -> str:
    """Which device the lessons will train on, in words."""
    if importlib.util.find_spec("torch") is None:
        return "torch is not installed"
    import torch

    build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU build"
    if torch.cuda.is_available():
        return f"GPU: {torch.cuda.get_device_name(0)} ({build})"
    return f"no GPU visible, lessons train on the CPU ({build})"


def widget_extension_dirs(prefixes: list[Path] | None = None) -> list[Path]:
    """The JupyterLab widget-manager extension folders found under the data prefixes."""
    prefixes = prefixes if prefixes is not None else [Path(sys.prefix), Path(sys.base_prefix)]
    found = []
    for prefix in dict.fromkeys(prefixes):
        path = prefix.joinpath("share", "jupyter", "labextensions", *WIDGET_EXTENSION)
        if path.is_dir():
            found.append(path)
    return found


def grading_box() -> str:
    """Which box ``rmcourse grade`` runs student kernels in on this machine, in words."""
    from rmcourse.grading import box

    kind, why = box.available()
    if kind == box.BUBBLEWRAP:
        return "bubblewrap (student kernels run boxed)"
    if kind == box.UNSHARE:
        return "unshare user namespaces (student kernels run boxed; bubblewrap starts faster)"
    return f"none ({why}): install bubblewrap, or grade in a container"


def diagnose(prefixes: list[Path] | None = None) -> Report:
    """Collect the report; ``prefixes`` overrides where the widget extension is looked for."""
    report = Report()
    report.add("python", f"{sys.version.split()[0]} ({sys.executable})")
    for name in PACKAGES:
        version = version_of(name)
        report.add(name, version or "not installed")
        if version is None:
            report.problems.append(f"{name} is not installed: run `make setup` again")
    report.add("device", torch_device())
    extension = widget_extension_dirs(prefixes)
    widgets_ok = version_of("ipywidgets") is not None and bool(extension)
    report.add("quiz widgets", "can render in JupyterLab" if widgets_ok else "will not render")
    if not extension:
        report.problems.append(
            "JupyterLab's widget extension (jupyterlab_widgets) was not found: the quiz shows "
            "its static form instead of widgets"
        )
    report.add("grading box", grading_box())
    report.add("open the course", jupyter_lab_command(Path("notebooks")))
    return report


def doctor() -> int:
    """Print the report; exit status 1 when a problem was found."""
    report = diagnose()
    print(report.text())
    return 1 if report.problems else 0
