"""The box student kernels run in: escape attempts, as a curious student writes them in answer
cells with /proc, os and plain imports, end with nothing outside read or touched and the right
grades, on every assignment; where no box can be made, `rmcourse grade` refuses in one line.
The attacked class answers every exercise, or on the assignments slow to grade
(``helpers.SLOW_TO_GRADE``) the first one only, whose tests run after the attack.

(Copying the installed library, or writing a module and importing it, is tested with the origin
of functions, in the anti-copy tests.)"""

from __future__ import annotations

import ast
import errno
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from helpers import (
    SLOW_TO_GRADE,
    SOLUTIONS,
    answered_exercise,
    assignment_names,
    filled_exercise,
    solution_code,
)

from rmcourse.grading import box, command, grade_command
from rmcourse.grading.execute import Limits, Step, run_steps
from rmcourse.grading.gradebook import read_rows
from rmcourse.grading.source import is_solution, load_assignment

BOXED, WHY = box.available()
needs_box = pytest.mark.skipif(BOXED is None, reason=f"no box can be made here: {WHY}")

# One cell a student adds after their first answer. It tries, and raises "LEAK: ..." naming what
# it managed, so that a leak shows in the grade's notes; writes and processes are checked outside.
ATTACK = """
import glob, importlib.util, os, pwd, socket, subprocess, time
_leaks = []

def _holds(path, marker):  # not my own copy: this very code holds the markers
    if os.path.dirname(os.path.realpath(path)) == os.path.realpath(os.getcwd()):
        return False
    try:
        with open(path, "rb") as f:
            return marker.encode() in f.read()
    except OSError:
        return False

# the instructor's solutions: paths on any process's command line, relative paths, the package
_places = {{"../solutions", "../../solutions", "solutions"}}
for _cmdline in glob.glob("/proc/*/cmdline"):
    try:
        _args = open(_cmdline, "rb").read().decode(errors="replace").split("\\0")
    except OSError:
        continue
    for _arg in _args:
        if _arg.startswith("/"):
            _places.update({{_arg, os.path.dirname(_arg), os.path.join(_arg, "solutions")}})
_spec = importlib.util.find_spec("rmcourse")
_package = os.path.dirname(_spec.origin)
_places.update({{os.path.join(_package, "..", "solutions"), {solutions!r}}})
for _place in _places:
    for _nb in glob.glob(os.path.join(_place, "*.ipynb")):
        if _holds(_nb, "### BEGIN SOLUTION"):
            _leaks.append("solution")
# the home, the submissions folder, the gradebook, other scratch folders
_homes = {{os.path.expanduser("~"), pwd.getpwuid(os.getuid()).pw_dir, {home!r}}}
if any(_holds(os.path.join(_h, {canary!r}), {token!r}) for _h in _homes):
    _leaks.append("home")
if _holds(os.path.join({subs!r}, "zoe.ipynb"), "nbformat"):
    _leaks.append("classmate")
if _holds({gradebook!r}, "xprior"):
    _leaks.append("gradebook")
if any(_holds(_f, {token!r}) for _f in glob.glob("/tmp/rmcourse-grade-*/*.ipynb")):
    _leaks.append("other scratch")
# writes: the home, the submissions folder (a new file, a classmate's, my own), /tmp, my copy
for _h in _homes:
    try:
        open(os.path.join(_h, {written!r}), "w").write("x")
    except OSError:
        pass
for _name, _text in [("planted.ipynb", "{{}}"), ("zoe.ipynb", "{{}}"), ("mal.ipynb", "{{}}")]:
    try:
        open(os.path.join({subs!r}, _name), "w").write(_text)
    except OSError:
        pass
try:
    os.remove(os.path.join({subs!r}, "zoe.ipynb"))
except OSError:
    pass
try:
    open(os.path.join("/tmp", {written!r}), "w").write("x")
except OSError:
    pass
open("mal.ipynb", "w").write("{{}}")  # my scratch copy: mine to change
# the network: a listener on the grading machine's loopback
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"hello")
    _leaks.append("socket")
except OSError:
    pass
# a process that outlives the kernel, writes a file later, then lingers
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep({delay})
        try:
            open({late!r}, "w").write("late")
        except OSError:
            pass
        os.execvp("sleep", ["sleep", {linger!r}])
    os._exit(0)
os.wait()
if _leaks:
    raise RuntimeError("LEAK: " + ", ".join(sorted(set(_leaks))))
"""


class Listener:
    """A TCP listener on the host's 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.accepted = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.server.close()


def _lingering(linger: str) -> list[int]:
    """The processes whose command line holds ``linger`` (a survivor's sleep)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if linger.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


# The survivor writes its file LATE_S after the attack cell ran; the test looks for it
# LOOK_AFTER_S after the class was graded (zoe after mal), when a survivor would have written.
LATE_S, LOOK_AFTER_S = 1.0, 1.5


def _answered(name: str) -> dict[str, float]:
    """The exercises the class answers, with their points: all, or the first on a slow
    assignment."""
    exercises = load_assignment(SOLUTIONS / f"{name}.ipynb").exercises
    exercises = exercises[:1] if name in SLOW_TO_GRADE else exercises
    return {exercise.grade_id: exercise.max_points for exercise in exercises}


def _solved(name: str) -> nbformat.NotebookNode:
    """The class's notebook: the solution's code in the solution cells of :func:`_answered`."""
    if name in SLOW_TO_GRADE:
        return answered_exercise(name, {e: solution_code(name)[e] for e in _answered(name)})
    return filled_exercise(name)


def _attack_class(tmp_path: Path, name: str, listener: Listener) -> dict:
    """A class of `mal` (the solution plus the attack cell after the first answer) and `zoe`
    (the solution, graded after mal), a gradebook with an earlier row, a fake scratch folder
    of another grading and a canary file in the home."""
    token = secrets.token_hex(8)
    subs, out_dir = tmp_path / "subs", tmp_path / "grades"
    subs.mkdir()
    out_dir.mkdir()
    gradebook = out_dir / "gradebook.csv"
    gradebook.write_text("student,exercise,points,max_points,status\nxprior,f,1,1,passed\n")
    other = Path(f"/tmp/rmcourse-grade-other{token}")
    other.mkdir()
    (other / "other.ipynb").write_text(token)
    home = Path.home()
    canary = f".rmcourse-box-canary-{token}"
    (home / canary).write_text(token)
    things = {
        "token": token, "subs": str(subs), "gradebook": str(gradebook), "home": str(home),
        "canary": canary, "written": f".rmcourse-box-written-{token}", "port": listener.port,
        "late": str(tmp_path / "late.txt"), "linger": f"{7000 + secrets.randbelow(10**6)}.25",
        "solutions": str(SOLUTIONS), "delay": LATE_S,
    }  # fmt: skip
    mal = _solved(name)
    first = next(i for i, cell in enumerate(mal.cells) if is_solution(cell))
    mal.cells.insert(first + 1, nbformat.v4.new_code_cell(ATTACK.format(**things)))
    nbformat.write(mal, subs / "mal.ipynb")
    nbformat.write(_solved(name), subs / "zoe.ipynb")
    things["before"] = {p.name: p.read_bytes() for p in subs.iterdir()}
    things["cleanup"] = [home / canary, home / things["written"], Path("/tmp") / things["written"]]
    things["other"] = other
    return things


def _grade_class(name: str, things: dict, limits: Limits) -> dict:
    subs = Path(things["subs"])
    paths = sorted(subs.glob("*.ipynb"))
    results = command.grade_folder(
        paths, SOLUTIONS / f"{name}.ipynb", Path(things["gradebook"]), limits, jobs=1
    )
    time.sleep(LOOK_AFTER_S)  # a survivor would have written its file by now
    return {r.student: r for r in results}


def _cleanup(things: dict) -> None:
    for pid in _lingering(things["linger"]):
        os.kill(pid, signal.SIGKILL)
    for path in things["cleanup"]:
        path.unlink(missing_ok=True)
    for path in things["other"].iterdir():
        path.unlink()
    things["other"].rmdir()


@needs_box
@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.parametrize("name", assignment_names())
def test_no_escape_from_the_box(tmp_path, name):
    _no_escape(tmp_path, name, BOXED)


@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.skipif(not box.usable(box.UNSHARE), reason="no unshare box here")
def test_no_escape_from_the_unshare_box(tmp_path):
    _no_escape(tmp_path, assignment_names()[0], box.UNSHARE)


def _no_escape(tmp_path: Path, name: str, kind: str) -> None:
    listener = Listener()
    things = _attack_class(tmp_path, name, listener)
    try:
        results = _grade_class(name, things, Limits(cell_timeout=120, box=kind))
        notes = " ".join(e.note for e in results["mal"].exercises)
        assert "LEAK" not in notes  # nothing outside was read
        subs = Path(things["subs"])
        assert {p.name: p.read_bytes() for p in subs.iterdir()} == things["before"]
        for path in things["cleanup"][1:]:
            assert not path.exists(), f"{path} was written"
        assert listener.accepted == 0
        assert not Path(things["late"]).exists()
        assert _lingering(things["linger"]) == []
        for student in ("mal", "zoe"):  # right grades: the attack cost its author nothing
            earned = {e.exercise: e.points for e in results[student].exercises if e.points}
            assert earned == _answered(name), results[student]  # full marks where answered
        rows = read_rows(Path(things["gradebook"]))
        assert {r["box"] for r in rows if r["student"] != "xprior"} == {kind}
    finally:
        listener.close()
        _cleanup(things)


@pytest.mark.slow
@pytest.mark.kernel
def test_the_attacks_succeed_without_a_box(tmp_path):
    """The control: without the box the same cell reads, writes, connects and outlives."""
    name = assignment_names()[0]
    listener = Listener()
    things = _attack_class(tmp_path, name, listener)
    try:
        results = _grade_class(name, things, Limits(cell_timeout=120, box=None))
        notes = " ".join(e.note for e in results["mal"].exercises)
        for leak in ("classmate", "gradebook", "home", "other scratch", "socket", "solution"):
            assert leak in notes
        assert listener.accepted == 1
        assert Path(things["late"]).read_text() == "late"
        assert _lingering(things["linger"])
        assert results["zoe"].points == 0 and not (Path(things["subs"]) / "zoe.ipynb").exists()
        assert {r.box for r in results.values()} == {box.NO_BOX}
    finally:
        listener.close()
        _cleanup(things)


@pytest.mark.kernel
@pytest.mark.parametrize("kind", box.KINDS)
def test_each_kind_of_box_runs_a_kernel_that_sees_only_its_scratch(tmp_path, kind):
    if not box.usable(kind):
        pytest.skip(f"no {kind} box here")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("s")
    probe = (
        "import os, socket\n"
        f"r = [os.path.exists({str(secret)!r}), os.listdir('/tmp') != [], os.getcwd()]\n"
        "open('mine.txt', 'w').write('x')\n"
        "try:\n    open('/usr/x', 'w')\nexcept OSError as e:\n    r.append(e.errno)\n"
        "try:\n    socket.create_connection(('127.0.0.1', 22), timeout=1)\n"
        "except OSError:\n    r.append('no network')\n"
        "r.append(len([p for p in os.listdir('/proc') if p.isdigit()]) <= 3)\n"
        "import sys\nr.append([p for p in sys.path if p in ('', '.', os.getcwd())])\n"
        "r"
    )
    [result] = run_steps([Step(probe)], scratch, Limits(cell_timeout=60, box=kind))
    assert result.outcome == "ok", result
    seen = ast.literal_eval(result.result_text)
    # the scratch folder is not on sys.path: a module written there is never imported
    assert seen == [False, True, str(scratch), errno.EROFS, "no network", True, []]
    assert (scratch / "mine.txt").read_text() == "x"


@pytest.mark.parametrize("kind", box.KINDS)
def test_a_read_only_path_under_tmp_is_seen_in_the_box(tmp_path, monkeypatch, kind):
    """A checkout (and its .venv) under the host's /tmp stays importable: the box's fresh /tmp
    is mounted first and the read-only paths on top of it."""
    if not box.usable(kind):
        pytest.skip(f"no {kind} box here")
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "probe_under_tmp.py").write_text("X = 42\n")
    assert str(lib).startswith("/tmp/")
    monkeypatch.syspath_prepend(str(lib))
    monkeypatch.setenv("PYTHONPATH", str(lib))
    scratch, private = tmp_path / "scratch", tmp_path / "private"
    scratch.mkdir()
    private.mkdir()
    probe = [sys.executable, "-c", "import probe_under_tmp; print(probe_under_tmp.X)"]
    done = subprocess.run(
        box.wrap(kind, probe, scratch, private), capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (0, "42"), done.stderr[-2000:]


def test_without_a_box_grading_refuses_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(box, "available", lambda: (None, "no bwrap, and no user namespaces"))
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "eve.ipynb").write_text("")
    out = tmp_path / "g.csv"
    assert grade_command(tmp_path / "subs", "02_numpy_loss", SOLUTIONS, out, 10.0) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "install bubblewrap" in error and "container" in error and "--no-sandbox" in error
    assert not out.exists()
    assert grade_command(tmp_path / "subs", "02_numpy_loss", SOLUTIONS, out, 10.0,
                         sandbox=False) == 0  # fmt: skip
    assert {r["box"] for r in read_rows(out)} == {"none"}
    assert "--no-sandbox" in capsys.readouterr().err


@pytest.mark.skipif(BOXED is not None, reason="a box can be made here")
def test_this_machine_refuses_to_grade_unboxed(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "eve.ipynb").write_text("")
    assert grade_command(tmp_path / "subs", "02_numpy_loss", SOLUTIONS, tmp_path / "g", 10.0) == 2
    assert capsys.readouterr().err == box.REFUSAL.format(why=WHY) + "\n"


@pytest.mark.kernel
def test_error_messages_count_toward_the_output_cap(tmp_path, monkeypatch):
    """A cell that sends many large error messages through its kernel's own iopub channel:
    the grader keeps its first error, cut to a few KB, and nothing more (it kept them all, and
    its memory grew by their size)."""
    from rmcourse.grading import execute

    kept = []
    result_of = execute._result

    def spy(cell, capture):
        kept.append(len(str(cell.outputs)))
        return result_of(cell, capture)

    monkeypatch.setattr(execute, "_result", spy)
    flood = (
        "k = get_ipython().kernel\nbig = 'E' * 500_000\nfor i in range(40):\n"
        "    k.session.send(k.iopub_socket, 'error', {'ename': 'X' * 10_000, 'evalue': big, "
        "'traceback': [big] * 3}, parent=k.get_parent())\n"
        "raise ValueError('A' * 1_000_000)"
    )
    [result] = run_steps([Step(flood)], tmp_path, Limits(cell_timeout=60, box=BOXED))
    assert (result.outcome, result.ename[:3], result.truncated) == ("error", "XXX", True)
    assert len(result.ename) < 300 and len(result.evalue) < 16_100
    assert kept[0] < 40_000, kept  # bytes of outputs held for the cell (was about 80 MB)
