"""pytest, repository-wide: lesson 08's modules and notebook need the [hf] extra.

The extra installs on Python >= 3.11 only (transformers >= 5.21 needs it); without it, the
doctests of ``rmcourse/hf`` and lesson 08's notebook are not collected (its tests skip with the
reason), and everything else runs as before.
"""

import importlib.util

collect_ignore_glob = []
if importlib.util.find_spec("trl") is None:
    collect_ignore_glob = ["rmcourse/hf/*.py", "notebooks/08_*.ipynb"]
