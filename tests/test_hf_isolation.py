"""Lessons 01-07, the library below rmcourse.hf and the grader work without the [hf] extra;
importing rmcourse.hf changes no environment variable, rmcourse.hf.go_offline() sets them."""

import json
import os
import subprocess
import sys

import pytest
from helpers import ROOT

from rmcourse.hf import OFFLINE_ENV

HF_MODULES = ("transformers", "trl", "datasets", "accelerate", "tokenizers", "huggingface_hub")

# Runs in a fresh interpreter: the extra's modules cannot be imported at all, then every rmcourse
# module outside rmcourse.hf is imported and the parser of the command line is built.
_PROBE = """
import importlib, importlib.abc, json, pkgutil, sys
BLOCKED = set(sys.argv[1].split(","))

class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: the [hf] extra is absent")
        return None

sys.meta_path.insert(0, Absent())
import rmcourse
imported = []
for info in pkgutil.walk_packages(rmcourse.__path__, "rmcourse."):
    if info.name.split(".")[:2] == ["rmcourse", "hf"] or info.name == "rmcourse.__main__":
        continue
    importlib.import_module(info.name)
    imported.append(info.name)
from rmcourse.cli import build_parser
build_parser().parse_args(["grade", "subs", "--assignment", "04_train_reward_model"])
print(json.dumps({"imported": imported,
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)}))
"""


@pytest.mark.slow  # a fresh interpreter imports the whole package: ~10 s of CPU
def test_every_module_below_rmcourse_hf_imports_with_the_extra_absent():
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, ",".join(HF_MODULES)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, f"a module needs the [hf] extra:\n{done.stderr[-3000:]}"
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["loaded"] == []
    assert {"rmcourse.train", "rmcourse.grading", "rmcourse.cli", "rmcourse.torch_loss"} <= set(
        report["imported"]
    )


def test_lessons_01_to_07_and_the_solutions_do_not_import_the_extra():
    notebooks = sorted(ROOT.glob("notebooks/0[1-7]_*.ipynb")) + sorted(
        ROOT.glob("solutions/*.ipynb")
    )
    assert notebooks, "no lessons found"
    for path in notebooks:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            source = "".join(cell["source"])
            for name in (*HF_MODULES, "rmcourse.hf"):
                assert f"import {name}" not in source and f"from {name}" not in source, (
                    f"{path.name} imports {name}: only lesson 08 may use the [hf] extra"
                )


def _fresh(code: str, **env: str) -> list[str]:
    """Output lines of ``code`` in a fresh interpreter whose environment has none of the offline
    variables (pytest's has them: the root conftest.py went offline), plus ``env``."""
    clean = {k: v for k, v in os.environ.items() if k not in OFFLINE_ENV} | env
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=clean, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()


def test_importing_rmcourse_hf_leaves_the_environment_alone():
    out = _fresh(
        "import os\nbefore = dict(os.environ)\n"
        "import rmcourse, rmcourse.hf, rmcourse.cli\n"
        "print(dict(os.environ) == before, any(k in os.environ for k in rmcourse.hf.OFFLINE_ENV))"
    )
    assert out == ["True False"]


def test_go_offline_sets_every_variable_the_caller_has_not_set():
    out = _fresh(
        "import json, os\nfrom rmcourse.hf import OFFLINE_ENV, go_offline\n"
        "print(json.dumps(go_offline()))\n"
        "print(json.dumps({k: os.environ[k] for k in OFFLINE_ENV}))\n"
        "print(json.dumps(go_offline()))",
        HF_HUB_OFFLINE="0",
    )
    set_first, now, set_again = (json.loads(line) for line in out)
    assert set_first == {k: v for k, v in OFFLINE_ENV.items() if k != "HF_HUB_OFFLINE"}
    assert now == OFFLINE_ENV | {"HF_HUB_OFFLINE": "0"}  # the caller's own value stays
    assert set_again == {}


def test_go_offline_after_a_hugging_face_library_is_imported_says_so():
    out = _fresh(
        "import sys, types\nfrom rmcourse.hf import go_offline\n"
        "sys.modules['transformers'] = types.ModuleType('transformers')  # as if imported\n"
        "try:\n    go_offline()\nexcept RuntimeError as exc:\n    print(exc)"
    )
    assert len(out) == 1 and "came after transformers was imported" in out[0]
    assert "HF_HUB_OFFLINE" in out[0] and "call it before importing them" in out[0]
