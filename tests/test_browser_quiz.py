"""Lesson 05 in a real browser: JupyterLab + headless Chromium, clicking through the quiz.

Starts JupyterLab on 127.0.0.1 (free port, random token) on a temporary copy of the lesson,
runs all cells, answers questions wrong and right, types a number, moves the explorer's slider,
and checks the feedback, the score and the loss on the page. Skipped only without Debian's
/usr/bin/chromium. Screenshots land in the test's tmp_path.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import CHROMIUM, CHROMIUM_ARGS, check_figure_shown, press

from rmcourse.np_loss import bt_loss

LESSON = Path(__file__).resolve().parents[1] / "notebooks" / "05_quiz.ipynb"
STARTUP_S = 90  # JupyterLab start on a busy 2-core machine
RUN_ALL_S = 120  # all cells of the lesson, widgets rendered
STEP_MS = 15_000  # one click to its feedback

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Debian's chromium at {CHROMIUM}"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_server(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer {url} in {STARTUP_S} s:\n{log.read_text()}")


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server and its kernels (its own process group)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@pytest.fixture
def jupyter_lab(tmp_path):
    """A JupyterLab server on a temporary copy of the lesson; yields (base URL, token, root)."""
    root = tmp_path / "work"
    root.mkdir()
    shutil.copy(LESSON, root / LESSON.name)  # JupyterLab autosaves: never open the committed file
    settings = tmp_path / "lab-settings" / "@jupyterlab"
    for plugin, values in {
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        # render every cell (no windowing), so off-screen widgets have their text
        "notebook-extension/tracker": {"windowingMode": "none"},
    }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "lab-settings"),
        IPYTHONDIR=str(tmp_path / "ipython"),
    )
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp_path / "jupyterlab.log"
    with log.open("w") as log_file:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("jupyter")),
                "lab",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
                "--LabApp.expose_app_in_browser=True",
                "--LabApp.extension_manager=readonly",  # no registry look-ups: no network here
                "--ServerApp.terminals_enabled=False",
                *(["--allow-root"] if os.geteuid() == 0 else []),
            ],
            cwd=root,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so _stop reaches the kernels too
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for_server(f"{base}/api/status?token={token}", proc, log)
        yield base, token, root
    finally:
        _stop(proc)


def _score(page) -> str:
    return page.locator(".rmcourse-score").first.inner_text()


def _wait_text(locator, pattern: str, timeout_ms: int = STEP_MS) -> str:
    """Wait until ``locator``'s text matches ``pattern``; return the text."""
    deadline = time.monotonic() + timeout_ms / 1000
    text = ""
    while time.monotonic() < deadline:
        text = locator.inner_text()
        if re.search(pattern, text):
            return text
        time.sleep(0.1)
    raise AssertionError(f"text {text!r} never matched {pattern!r}")


def _choose(page, question_id: str, key: str):
    """Click option ``key`` of a choice question; return its feedback locator."""
    question = page.locator(f".rmcourse-q-{question_id}")
    question.locator(".widget-radio-box label", has_text=f"({key}) ").click()
    return question.locator(".rmcourse-feedback")


def test_quiz_answers_in_jupyterlab(jupyter_lab, tmp_path):
    from playwright.sync_api import sync_playwright

    base, token, _ = jupyter_lab
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(STEP_MS)
            page.goto(f"{base}/lab/tree/{LESSON.name}?token={token}", timeout=STARTUP_S * 1000)
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.sessionContext"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
                " === 'idle'",
                timeout=STARTUP_S * 1000,
            )
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            last = page.locator(".rmcourse-q-q20 .rmcourse-checkboxes")
            last.wait_for(state="visible", timeout=RUN_ALL_S * 1000)
            page.wait_for_function(
                "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
                " === 'idle'",
                timeout=RUN_ALL_S * 1000,
            )
            # With the widgets rendered, the static copies of the questions are hidden.
            assert not page.locator(".rmcourse-static").first.is_visible()
            n_questions = page.locator(".rmcourse-question").count()
            assert n_questions == 20
            assert _score(page) == f"Score: 0 of {n_questions} solved (0 attempts)"

            # Question 1: a wrong option, its feedback, then the right one and the score.
            feedback = _choose(page, "q01", "c")
            _wait_text(feedback, r"✘ Not quite\. Δ = -1 − 1 = -2, .* = 2\.1269\. ")
            assert "largest of the four" in feedback.inner_text()
            assert _wait_text(page.locator(".rmcourse-score").first, "1 attempt\\)") == (
                f"Score: 0 of {n_questions} solved (1 attempt)"
            )
            question = page.locator(".rmcourse-q-q01")
            question.get_by_role("button", name="Try again").click()
            _wait_text(feedback, r"^\s*$")
            feedback = _choose(page, "q01", "a")
            _wait_text(feedback, r"✔ Correct\. Δ = 2\.5 − \(-0\.5\) = 3, .* = 0\.0486\.")
            _wait_text(page.locator(".rmcourse-score").first, f"1 of {n_questions} solved")
            page.screenshot(path=str(tmp_path / "quiz-least-loss.png"))

            # Question 2: another wrong answer, then right: the score moves to 2.
            feedback = _choose(page, "q03", "d")
            _wait_text(feedback, r"✘ Not quite\. Equal scores give Δ = 0")
            feedback = _choose(page, "q03", "a")
            _wait_text(feedback, r"✔ Correct\.")
            assert _wait_text(page.locator(".rmcourse-score").first, "2 of") == (
                f"Score: 2 of {n_questions} solved (4 attempts)"
            )

            # A numeric question: typed values, how far off, then right.
            numeric = page.locator(".rmcourse-q-q05")
            box = numeric.locator(".widget-text input")
            box.fill("0.5")
            box.press("Enter")
            _wait_text(numeric.locator(".rmcourse-feedback"), r"0\.5 is 0\.2986 too high\.")
            box.fill("0.2014")
            box.press("Enter")
            _wait_text(numeric.locator(".rmcourse-feedback"), r"✔ Correct: 0\.2014 is 0\.0000")
            numeric.scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "quiz-numeric.png"))

            # A diagnosis question shows its training curves.
            figure = page.locator(".rmcourse-q-q07 img")
            check_figure_shown(page, figure, tmp_path / "quiz-diagnose.png")

            # The explorer: move the r(x, y_w) slider with the keyboard, read the loss.
            explorer = page.locator(".rmcourse-explorer")
            explorer.scroll_into_view_if_needed()
            readout = explorer.locator(".rmcourse-explorer-readout")
            _wait_text(readout, f"loss = {bt_loss([1.0], [0.0]):.4f}")
            handle = explorer.locator(".widget-slider").first.locator(".noUi-handle")
            press(handle, "ArrowLeft", 15)
            values = explorer.locator(".widget-readout")
            _wait_text(values.first, r"^[−-]0\.5$")  # d3-format writes a real minus sign

            def slider_value(i):
                return float(values.nth(i).inner_text().replace("−", "-"))

            r_w, r_l = slider_value(0), slider_value(1)
            assert (r_w, r_l) == (-0.5, 0.0)
            _wait_text(readout, re.escape(f"loss = {bt_loss([r_w], [r_l]):.4f}"))
            assert "Δ = -0.500" in readout.inner_text()
            page.screenshot(path=str(tmp_path / "quiz-explorer.png"))
        finally:
            browser.close()
