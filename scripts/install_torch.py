"""Install the pinned torch into the running interpreter: the CPU build where there is no GPU.

Usage: ``python scripts/install_torch.py auto|cpu|cuda`` (the Makefile's ``TORCH=``), run with the
virtual environment's Python before the course itself is installed.

- ``cpu``: torch from PyTorch's CPU wheel index (no CUDA libraries, about 1 GB less on Linux).
  When that index cannot be reached within a few seconds, says so in one line and installs
  nothing, so the normal install that follows takes torch from the default index.
- ``cuda``: installs nothing here; the normal install takes PyPI's default build.
- ``auto`` (default): ``cpu`` on Linux when no NVIDIA driver is found, else ``cuda``.

Standard library only: this runs before anything else is installed.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PROBE_TIMEOUT_S = 5  # one short try, no retries: a machine that reaches only PyPI loses 5 s at most
CONSTRAINTS = Path(__file__).resolve().parent.parent / "constraints.txt"


def pinned_torch(constraints: Path = CONSTRAINTS) -> str:
    """The ``torch==X`` pin of the constraints file that applies to this Python."""
    for line in constraints.read_text(encoding="utf-8").splitlines():
        match = re.match(r"torch==([\w.+]+)\s*(?:;\s*(.*))?$", line.strip())
        if match and (match.group(2) is None or _marker_holds(match.group(2))):
            return match.group(1)
    raise SystemExit(f"{constraints}: no torch== pin found")


def _marker_holds(marker: str) -> bool:
    match = re.fullmatch(r'python_version\s*(<|>=)\s*"(\d+)\.(\d+)"', marker.strip())
    if not match:
        raise SystemExit(f"unsupported marker on the torch pin: {marker!r}")
    version = (int(match.group(2)), int(match.group(3)))
    running = sys.version_info[:2]
    return running < version if match.group(1) == "<" else running >= version


def has_nvidia_driver() -> bool:
    """An NVIDIA driver is loaded (Linux) or its tool is on the PATH."""
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def choose_build(requested: str) -> str:
    """``cpu`` or ``cuda`` for ``auto``, ``cpu`` or ``cuda``."""
    if requested not in ("auto", "cpu", "cuda"):
        raise SystemExit(f"TORCH must be auto, cpu or cuda, got {requested!r}")
    if requested != "auto":
        return requested
    return "cpu" if platform.system() == "Linux" and not has_nvidia_driver() else "cuda"


def index_reachable(url: str = CPU_INDEX, timeout: float = PROBE_TIMEOUT_S) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/torch/", timeout=timeout):
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main(argv: list[str]) -> int:
    build = choose_build(argv[0] if argv else "auto")
    if build == "cuda":
        print("torch: the default build from the package index (TORCH=cuda or a GPU driver found)")
        return 0
    version = pinned_torch()
    if not index_reachable():
        print(f"torch: PyTorch's CPU index ({CPU_INDEX}) is not reachable; "
              "installing the default build instead")  # fmt: skip
        return 0
    print(f"torch: installing the CPU build of torch {version} from {CPU_INDEX}")
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--timeout", "30",
           "--index-url", CPU_INDEX, f"torch=={version}"]  # fmt: skip
    if subprocess.call(cmd) != 0:
        print("torch: the CPU build could not be installed; installing the default build instead")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
