"""pytest, repository-wide: what is collected without the [hf] extra, and rmcourse imported first.

The extra installs on Python >= 3.11 only (transformers >= 5.21 needs it); without it, the
doctests of ``rmcourse/hf`` and lesson 08's notebook are not collected (its tests skip with the
reason), and everything else runs as before. Importing rmcourse before any test module imports
nbformat spares every pytest process jsonschema's IRI grammar (see rmcourse/imports.py).
"""

import importlib.util

import rmcourse  # noqa: F401 -- first: jsonschema, imported later, skips its IRI grammar (3.4 s)

collect_ignore_glob = []
if importlib.util.find_spec("trl") is None:
    collect_ignore_glob = ["rmcourse/hf/*.py", "notebooks/08_*.ipynb"]
