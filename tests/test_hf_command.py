"""`rmcourse hf-train`: on one process, and on two CPU processes under torchrun (gloo)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl", reason="the [hf] extra (Python >= 3.11) is not installed")

from rmcourse.cli import main  # noqa: E402
from rmcourse.data import PreferenceWorld, save_jsonl  # noqa: E402
from rmcourse.hf import OFFLINE_ENV  # noqa: E402

# 300 held-out pairs: the standard error of an accuracy near 0.7 is about 0.026, so a model that
# has learned nothing (0.5) stays below 0.5 + CHANCE_MARGIN with probability > 0.9999.
CHANCE_MARGIN = 0.10


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("hf") / "pairs.jsonl"
    save_jsonl(PreferenceWorld(seed=0).sample(3_000, seed=7), path)
    return path


def test_bad_data_exits_2_with_the_reason_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "p", "chosen": "a"}\n')
    out = tmp_path / "run"
    assert main(["hf-train", "--data", str(bad), "--out", str(out)]) == 2
    assert "line 1: missing field 'rejected'" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow  # a fresh interpreter imports transformers and TRL
def test_the_command_goes_offline_before_the_libraries_load(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    code = (
        "import os, sys\nfrom rmcourse.cli import main\n"
        f"status = main(['hf-train', '--data', {str(bad)!r}, '--out', {str(tmp_path / 'run')!r}])\n"
        "from huggingface_hub import constants\n"
        "print(status, constants.HF_HUB_OFFLINE, os.environ['HF_DATASETS_OFFLINE'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_ENV}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["2", "True", "1"]


@pytest.mark.slow
def test_two_processes_under_torchrun_agree_and_beat_chance(pairs_file, tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    assert torchrun is not None, "torchrun comes with torch"
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "rmcourse", "hf-train",
         "--data", str(pairs_file), "--out", str(out), "--steps", "60"],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["backend"] == "gloo"
    assert metrics["steps"] == 60 and metrics["pairs_per_step"] == 2 * 64
    assert (metrics["train_pairs"], metrics["held_out_pairs"]) == (2_700, 300)
    digests = [json.loads((out / f"rank{r}.json").read_text())["weights_sha256"] for r in (0, 1)]
    assert digests[0] == digests[1], "the two processes ended with different weights"
    assert metrics["held_out_accuracy"] > 0.5 + CHANCE_MARGIN, metrics
    assert (out / "model" / "model.safetensors").is_file()
