"""Install the course and its extras into the running interpreter, with uv when it can, else pip.

Usage: ``python scripts/install_course.py EXTRAS`` (the Makefile passes ``dev,hf``), run with the
virtual environment's Python after ``scripts/install_torch.py``.

uv (pinned in ``constraints.txt``, installed into the environment by pip) resolves and installs
the same pinned versions as pip about twice as fast (on a 2-core Linux machine: 30 s against
68 s for a whole ``make setup``), and writes the bytecode as pip does, so that the first import
of a package does not compile it (the grading box mounts the environment read-only). It reads
the package sources pip is configured with (``pip config list``: index, extra indexes, find-links,
from files and ``PIP_*`` variables), so it installs from where pip would, taking, as pip does,
the best version any of them offers. Where uv cannot be installed or fails, pip installs
instead; an installed torch that meets the pin (``scripts/install_torch.py``'s CPU build) is kept.

Standard library only: this runs before the course is installed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"
# pip's configuration keys that say where packages come from -> uv's option
SOURCE_OPTIONS = {"index-url": "--index-url", "extra-index-url": "--extra-index-url",
                  "find-links": "--find-links"}  # fmt: skip


def pip_sources(listing: str) -> list[str]:
    """uv's options for the package sources of a ``pip config list`` output.

    Examples
    --------
    >>> pip_sources("global.find-links='/opt/wheels'\\n"
    ...             "global.extra-index-url='file:///a/simple file:///b/simple'\\n"
    ...             ":env:.timeout='60'\\n:env:.find-links='/opt/wheels'\\n")
    ['--find-links', '/opt/wheels', '--extra-index-url', 'file:///a/simple', '--extra-index-url', 'file:///b/simple']
    """
    options = []
    for line in listing.splitlines():
        match = re.fullmatch(r"[^.]*\.([\w-]+)='(.*)'", line.strip())
        if match and match.group(1) in SOURCE_OPTIONS:
            for value in match.group(2).split():
                if value not in options:  # a file and a PIP_ variable may both name it
                    options += [SOURCE_OPTIONS[match.group(1)], value]
    return options


def configured_sources(python: str = sys.executable) -> list[str]:
    """uv's options for the package sources the pip of ``python`` is configured with."""
    listing = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True,
                             text=True).stdout  # fmt: skip
    return pip_sources(listing)


def run(cmd: list[str]) -> int:
    print("+", " ".join(cmd[2:] if cmd[1:2] == ["-m"] else cmd), flush=True)
    return subprocess.call(cmd)


def main(argv: list[str]) -> int:
    python = sys.executable
    target = f"{ROOT}[{argv[0]}]" if argv else str(ROOT)
    uv = Path(python).parent / "uv"
    if run([python, "-m", "pip", "install", "--quiet", "-c", str(CONSTRAINTS), "uv"]) == 0:
        cmd = [str(uv), "pip", "install", "--quiet", "--python", python, "--compile-bytecode",
               "--index-strategy", "unsafe-best-match", *configured_sources(python),
               "-c", str(CONSTRAINTS), "-e", target]  # fmt: skip
        if run(cmd) == 0:
            return 0
        print("uv could not install the course; pip installs it instead", flush=True)
    else:
        print("uv could not be installed; pip installs the course instead", flush=True)
    run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip>=23"])
    return run([python, "-m", "pip", "install", "--quiet", "-c", str(CONSTRAINTS), "-e", target])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
