"""pytest, repository-wide: what is collected without the [hf] extra, and offline mode.

The extra installs on Python >= 3.11 only (transformers >= 5.21 needs it); without it, the
doctests of ``rmcourse/hf`` and lesson 08's notebook are not collected (its tests skip with the
reason), and everything else runs as before. With it, :func:`~rmcourse.hf.go_offline` switches
the Hugging Face libraries, not imported yet, to offline mode for every test (the doctests of
``rmcourse/hf`` and lesson 08's kernel included).

jsonschema's IRI grammar (3.4 s) is skipped earlier than a conftest.py can: by the plugin
``-p rmcourse.imports`` (pyproject.toml's ``addopts``), before nbval imports nbformat.
"""

import importlib.util

from rmcourse.hf import go_offline

collect_ignore_glob = []
if importlib.util.find_spec("trl") is None:
    collect_ignore_glob = ["rmcourse/hf/*.py", "notebooks/08_*.ipynb"]
else:
    go_offline()
