"""What the course site adds to ``make course``: the site build alone, from executed lessons.

Usage::

    python benchmarks/site_bench.py [--notebooks notebooks] [--repeats 3]

Builds the site from the committed (already executed) lessons into a temporary folder, as
``rmcourse course`` does after executing them, ``--repeats`` times in fresh processes (so the
imports of Sphinx and myst-nb count, as they do in ``make course``). Prints each run's wall and CPU
seconds, then, as its last line, one JSON object: the median wall and CPU seconds, the lessons and
pages built, the site's size in MB, and the machine's CPU count and load average at the start.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# One build in a fresh interpreter; prints "wall cpu" seconds.
_ONE_BUILD = """
import sys, time
from pathlib import Path
wall, cpu = time.perf_counter(), time.process_time()
from rmcourse.site.build import SiteSources, build_site
from rmcourse.site.course import lesson_paths
root, out = Path(sys.argv[1]), Path(sys.argv[2])
build_site(SiteSources.from_repository(root, lesson_paths(root / sys.argv[3])), out)
print(time.perf_counter() - wall, time.process_time() - cpu)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", default="notebooks", help="folder of executed lessons")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    walls, cpus = [], []
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "site"
        for i in range(args.repeats):
            result = subprocess.run(
                [sys.executable, "-c", _ONE_BUILD, str(ROOT), str(out), args.notebooks],
                capture_output=True,
                text=True,
                check=True,
            )
            wall, cpu = (float(v) for v in result.stdout.split()[-2:])
            walls.append(wall)
            cpus.append(cpu)
            print(f"run {i + 1}: {wall:.1f} s wall, {cpu:.1f} s CPU")
        pages = sum(1 for _ in out.rglob("*.html"))
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
    lessons = len(list((ROOT / args.notebooks).glob("[0-9][0-9]_*.ipynb")))
    print(
        json.dumps(
            {
                "median_wall_s": round(statistics.median(walls), 2),
                "median_cpu_s": round(statistics.median(cpus), 2),
                "lessons": lessons,
                "html_pages": pages,
                "site_mb": round(size, 1),
                "cpus": os.cpu_count(),
                "load_average_at_start": round(load, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
