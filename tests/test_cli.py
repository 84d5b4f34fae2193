"""The ``rmcourse`` command: the demo and the training table print correct numbers; bad arguments
and bad data are refused."""

import math
import re
import subprocess
import sys

import pytest

from rmcourse.checkpoint import load
from rmcourse.cli import DEMO_PAIRS, build_parser, main
from rmcourse.data import PreferenceDataset, save_jsonl, split_pairs
from rmcourse.train import evaluate


def test_demo_prints_each_pairs_loss_and_gradient_and_the_mean(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    number = r"\s+(\S+)"
    rows = re.findall(r"^\s+\d" + number * 6 + "$", out, re.MULTILINE)
    assert len(rows) == len(DEMO_PAIRS)
    n = len(DEMO_PAIRS)
    for (r_w, r_l, delta, loss, g_w, g_l), (c, r) in zip(rows, DEMO_PAIRS, strict=True):
        assert (float(r_w), float(r_l)) == (c, r)
        d = c - r
        assert float(delta) == pytest.approx(d, abs=5e-3)
        assert float(loss) == pytest.approx(math.log1p(math.exp(-d)), abs=5e-5)
        assert float(g_w) == pytest.approx(-1 / (1 + math.exp(d)) / n, abs=5e-5)
        assert float(g_l) == pytest.approx(1 / (1 + math.exp(d)) / n, abs=5e-5)
    mean = sum(math.log1p(math.exp(-(c - r))) for c, r in DEMO_PAIRS) / n
    assert f"mean loss {mean:.4f}" in out
    # (2, -1) is the only pair ranked right; the tie counts as wrong.
    assert "accuracy  0.25" in out
    assert "agrees with NumPy: True" in out


def test_console_entry_runs_as_a_module():  # what demo prints: the test above
    result = subprocess.run(
        [sys.executable, "-m", "rmcourse", "--help"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("usage: rmcourse")
    assert all(command in result.stdout for command in ("demo", "train", "grade", "hf-train"))


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["fly"],
        ["train", "--device", "tpu"],
        ["train", "--seconds", "1", "--steps", "2"],
        ["grade"],
        ["refresh"],
    ],
)
def test_bad_arguments_exit_with_usage_error(argv):
    with pytest.raises(SystemExit) as excinfo:
        build_parser().parse_args(argv)
    assert excinfo.value.code == 2


# ----------------------------------------------------------------- the command


def read_table(text):
    rows = {}
    for line in text.splitlines()[2:]:
        key, _, value = line.partition("  ")
        rows[key.strip()] = value.strip()
    return rows


def test_train_command_on_a_jsonl_file(tmp_path, capsys, world):
    pairs = world.sample(60, seed=9)
    path = tmp_path / "prefs.jsonl"
    save_jsonl(pairs, path)
    status = main(
        [
            "train",
            "--data",
            str(path),
            "--device",
            "cpu",
            "--steps",
            "4",
            "--out",
            str(tmp_path / "ckpt"),
        ]
    )
    assert status == 0
    table = read_table(capsys.readouterr().out)
    assert table["pairs (train / val / held-out)"] == "54 / 6 / 6"
    assert table["steps"] == "4"
    accuracy = float(table["held-out accuracy"])
    assert 0.0 <= accuracy <= 1.0
    assert "Bayes accuracy (ceiling)" not in table  # no true rewards in a user's file
    # the printed numbers are those of the saved model on the held-out pairs
    model, tok = load(tmp_path / "ckpt")
    _, val_ds = split_pairs(PreferenceDataset(pairs.prompts, pairs.chosen, pairs.rejected))
    ev = evaluate(model, tok, val_ds)
    assert accuracy == pytest.approx(ev.accuracy, abs=5e-5)
    assert float(table["held-out loss"]) == pytest.approx(ev.loss, abs=5e-5)


def test_train_command_reports_bad_data(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n{"prompt": 1}\n')
    assert main(["train", "--data", str(path), "--device", "cpu", "--steps", "1"]) == 2
    assert "line 2" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "sandbox"), [([], True), (["--no-sandbox"], False)])
def test_grade_runs_boxed_unless_told_not_to(monkeypatch, flag, sandbox):
    import rmcourse.grading

    calls = []
    monkeypatch.setattr(rmcourse.grading, "grade_command", lambda *a, **kw: calls.append(kw) or 0)
    assert main(["grade", "subs", "--assignment", "02_numpy_loss", *flag]) == 0
    assert calls[0]["sandbox"] is sandbox
