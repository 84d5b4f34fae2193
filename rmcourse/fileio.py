"""Writing files so that a crash never leaves half a file: write a temporary file, fsync, rename.

Examples
--------
>>> import tempfile
>>> p = Path(tempfile.mkdtemp()) / "a.txt"
>>> atomic_write_text(p, "one"); atomic_write_text(p, "two"); p.read_text()
'two'
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` through a temporary file beside it.

    The temporary file is flushed to disk (``fsync``) before ``os.replace`` renames it over
    ``path``, so a reader, or a crash at any moment, sees either the old file or the whole new
    one. Missing parent folders are created; on any error the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
