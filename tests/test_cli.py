"""The ``rmcourse`` command: the demo prints correct numbers; bad arguments are refused."""

import math
import re
import subprocess
import sys

import pytest

from rmcourse.cli import DEMO_PAIRS, build_parser, main


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


def test_console_entry_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "rmcourse", "demo"], capture_output=True, text=True, check=True
    )
    assert "mean loss" in result.stdout


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["fly"],
        ["train", "--device", "tpu"],
        ["train", "--seconds", "1", "--steps", "2"],
        ["grade"],
    ],
)
def test_bad_arguments_exit_with_usage_error(argv):
    with pytest.raises(SystemExit) as excinfo:
        build_parser().parse_args(argv)
    assert excinfo.value.code == 2
