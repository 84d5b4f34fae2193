"""Running a graded notebook's steps in a fresh, limited kernel, one code cell at a time.

Limits (see :class:`Limits`): each cell has a timeout, the whole submission a time budget, the
kernel process a memory cap (``RLIMIT_DATA``, set in the kernel's process before it starts), and the
output kept per cell a size cap (the rest is dropped as it arrives, so a flood cannot fill the
grader's memory; errors count too: only a cell's first is kept, cut). Kernels never import from
their working directory (the scratch folder student code writes in). A cell that kills the
kernel or runs past its timeout ends that kernel: a fresh one is started, the steps marked
``replay`` that ran before (the trusted setup, the guard install and the student's cells, never
tests) are run again -- of the step that ended the kernel only its
``definitions`` (``def``, ``class``, ``import``) -- and grading goes on with the next step, at
most ``Limits.restarts`` times, after which the remaining steps are not run.

Each kernel runs in a box (:mod:`rmcourse.grading.box`, ``Limits.box``), talks over Unix sockets
in a private folder (no TCP port another grading process could take), dies with the process
grading it (Linux), and is started again when its start fails, up to :data:`START_TRIES` times
(then :class:`KernelStartError`).

Results come from the kernel's ``execute_reply`` status and error outputs, never from printed text.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import math
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from traitlets.config import Config

from rmcourse.grading import box, kernel

OK, ERROR, TIMEOUT, DIED, NOT_RUN, SKIPPED = "ok", "error", "timeout", "died", "not_run", "skipped"
# The cell's own frame in an IPython traceback: "Cell In[3], line 5" (colours stripped first).
CELL_FRAME = re.compile(r"^Cell In\[\d*\], line (\d+)")
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission's grading."""

    cell_timeout: float = 30.0
    submission_timeout: float = 300.0
    # The cap is on the data segment (RLIMIT_DATA: heap and private writable mappings), not on
    # the address space: CUDA reserves far more address space than it uses, and an RLIMIT_AS
    # of 4 GiB made torch's CUDA initialisation fail with "out of memory" on an H100 (a
    # process there doing one matrix product on the GPU: VmPeak 17.3 GiB, VmData 1.45 GiB;
    # under RLIMIT_DATA = 4 GiB CUDA worked and an 8 GiB NumPy array raised MemoryError).
    # On a 2-core CPU machine a kernel running solutions/04 (torch, training) reaches VmData
    # 0.40 GiB (VmPeak 1.43 GiB, resident 0.36 GiB).
    memory_bytes: int = 4 * 2**30
    output_bytes: int = 20_000  # kept per cell; feedback quotes only error messages
    restarts: int = 2
    # The kernel's box: "auto" (the best this machine makes, else BoxUnavailableError), a kind
    # of rmcourse.grading.box.KINDS, or None for no box (rmcourse grade --no-sandbox).
    box: str | None = "auto"

    def __post_init__(self) -> None:
        for name in ("cell_timeout", "submission_timeout", "memory_bytes", "output_bytes"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive number, got {value!r}")
        if not isinstance(self.restarts, int) or self.restarts < 0:
            raise ValueError(f"Limits.restarts must be an int >= 0, got {self.restarts!r}")
        if self.box not in (None, "auto", *box.KINDS):
            raise ValueError(
                f"Limits.box must be None, 'auto' or one of {box.KINDS}, got {self.box!r}"
            )


@dataclass(frozen=True)
class Step:
    """One code cell to run.

    ``replay`` ones are re-run in a fresh kernel after a kernel death (when they ran: ended
    ``ok`` or ``error``); of a ``replay`` step that itself timed out or killed its kernel, only
    ``definitions`` are run again ("" for nothing). A step with ``requires`` set runs only if the
    step with that index ended ``ok`` (else it is ``skipped``); a ``secret`` one is kept out of
    the kernel's input history (``In``, ``_ih``).
    """

    code: str
    replay: bool = False
    requires: int | None = None
    secret: bool = False
    definitions: str = ""


@dataclass(frozen=True)
class StepResult:
    """How one step ended: ``outcome`` is ok, error, timeout, died, not_run or skipped.

    ``line`` is the line of the step's code where an error was raised (0 when unknown);
    ``kept_definitions`` is set on a step that ended its kernel when its definitions were
    replayed in the next one.
    """

    outcome: str
    ename: str = ""
    evalue: str = ""
    result_text: str = ""  # text/plain of the cell's execute_result, if any
    truncated: bool = False
    line: int = 0
    kept_definitions: bool = False


@dataclass
class _Capture:
    reply_status: str = ""
    kept: int = 0
    errors: int = 0
    truncated: bool = False
    outputs: list = field(default_factory=list)


def _libc() -> Any:
    """The C library, for ``prctl`` (loaded before any fork; None where there is none)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


LIBC = _libc()
PR_SET_PDEATHSIG = 1


def _limit_kernel(memory_bytes: int) -> None:
    """Runs in the kernel's process between fork and exec: cap its data segment and, on Linux,
    have it killed when the process grading it dies (a cell that kills its kernel's parent
    leaves no kernel running on)."""
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    if LIBC is not None:
        LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


# An error as kept: its message cut to EVALUE_CHARS (well beyond what feedback shows or matches:
# a message that quotes hidden test code in its first part is still seen whole, and withheld),
# each traceback entry to ENTRY_CHARS, the whole to about ERROR_BYTES, counted toward the cap.
EVALUE_CHARS, ENTRY_CHARS, ERROR_BYTES = 16_000, 4_000, 32_000
# Messages the grader has no use for and whose content nbclient would keep without bound:
# widget state (comm_*) and updates of earlier outputs by display id.
IGNORED_MESSAGES = ("comm_open", "comm_msg", "comm_close", "update_display_data")


def _cut(text: Any, chars: int) -> str:
    text = str(text)
    return text if len(text) <= chars else text[:chars] + "…"


def _short_error(content: Any) -> dict[str, Any]:
    """An error message's content cut to at most about :data:`ERROR_BYTES`: its name and value
    cut, and of its traceback the first entries (where the cell's own frame is) that fit, and
    the last one (the error), each cut to :data:`ENTRY_CHARS`."""
    content = content if isinstance(content, dict) else {}
    entries = content.get("traceback")
    entries = [_cut(e, ENTRY_CHARS) for e in entries] if isinstance(entries, list) else []
    last, kept, size = entries[-1:], [], EVALUE_CHARS + ENTRY_CHARS
    for entry in entries[:-1]:
        size += len(entry)
        if size > ERROR_BYTES:
            break
        kept.append(entry)
    return {
        "ename": _cut(content.get("ename", ""), 200),
        "evalue": _cut(content.get("evalue", ""), EVALUE_CHARS),
        "traceback": kept + last,
    }


class _CappedClient(NotebookClient):
    """A NotebookClient that keeps at most ``output_bytes`` of output per cell.

    Errors count toward the cap too: of a cell's error outputs only the first is kept, cut to
    :data:`ERROR_BYTES` (a cell can send any number of error messages of any size through its
    kernel's iopub channel). Widget messages and display updates are dropped unread.
    """

    def __init__(self, nb: nbformat.NotebookNode, output_bytes: int, **kwargs: Any) -> None:
        super().__init__(nb, store_widget_state=False, **kwargs)
        self.output_bytes = output_bytes
        self.capture = _Capture()

    def process_message(
        self, msg: dict[str, Any], cell: nbformat.NotebookNode, cell_index: int
    ) -> nbformat.NotebookNode | None:
        if msg["msg_type"] in IGNORED_MESSAGES:
            return None
        content = msg.get("content")
        if isinstance(content, dict) and content.get("transient"):
            msg = {**msg, "content": {**content, "transient": {}}}  # no display-id updates
        return super().process_message(msg, cell, cell_index)

    def output(
        self, outs: list, msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> nbformat.NotebookNode | None:
        if msg["msg_type"] == "error":
            if self.capture.errors:
                self.capture.truncated = True
                return None
            self.capture.errors += 1
            msg = {**msg, "content": _short_error(msg.get("content", {}))}
            self.capture.kept += len(str(msg["content"]))
            return super().output(outs, msg, None, cell_index)
        size = len(str(msg.get("content", "")))
        if self.capture.kept + size > self.output_bytes:
            self.capture.truncated = True
            return None
        self.capture.kept += size
        return super().output(outs, msg, None, cell_index)


def _result(cell: nbformat.NotebookNode, capture: _Capture) -> StepResult:
    errors = [out for out in cell.outputs if out.output_type == "error"]
    text = "".join(
        out.get("data", {}).get("text/plain", "")
        for out in cell.outputs
        if out.output_type == "execute_result"
    )
    if capture.reply_status == "ok" and not errors:
        return StepResult(OK, result_text=text, truncated=capture.truncated)
    first = errors[0] if errors else {}
    return StepResult(
        ERROR,
        ename=str(first.get("ename", "")),
        evalue=str(first.get("evalue", "")),
        result_text=text,
        truncated=capture.truncated,
        line=_error_line(first.get("traceback", [])),
    )


def _error_line(traceback: list) -> int:
    """The line of the cell's own code in an IPython traceback, 0 when there is none."""
    for entry in traceback if isinstance(traceback, list) else []:
        match = CELL_FRAME.match(ANSI_COLOUR.sub("", str(entry)))
        if match:
            return int(match.group(1))
    return 0


def _run_cell(client: _CappedClient, step: Step, timeout: float) -> StepResult:
    cell = nbformat.v4.new_code_cell(step.code)
    client.nb.cells.append(cell)
    client.capture = _Capture()
    client.timeout = max(1, math.ceil(timeout))  # whole seconds (nbclient), never less
    try:
        client.execute_cell(cell, len(client.nb.cells) - 1, store_history=not step.secret)
    except CellTimeoutError:
        return StepResult(TIMEOUT, ename="TimeoutError", evalue=f"cell ran past {timeout:g} s")
    except DeadKernelError:
        return StepResult(DIED, ename="DeadKernelError", evalue="the kernel died")
    return _result(cell, client.capture)


START_TRIES = 3  # a kernel that fails to start (a loaded machine) is tried again


def _new_client(workdir: Path, limits: Limits, sockets: Path) -> _CappedClient:
    """A client whose kernel runs in ``workdir``, in the box ``limits.box`` (resolved), and
    talks over Unix sockets ``sockets-1``, ...: not TCP ports, since a free port one grading
    process picks can be taken by a kernel another one starts before its own kernel binds it,
    and that kernel then dies at start. Its connection file is written beside the sockets."""
    manager = {
        "transport": "ipc",
        "ip": str(sockets),
        "connection_file": str(sockets.parent / "kernel.json"),
        "box_kind": limits.box or "",
        "box_scratch": str(workdir),
    }
    client = _CappedClient(
        nbformat.v4.new_notebook(),
        output_bytes=limits.output_bytes,
        kernel_name="python3",
        kernel_manager_class=kernel.BoxedKernelManager,
        allow_errors=True,
        shutdown_kernel="immediate",
        startup_timeout=60,
        resources={"metadata": {"path": str(workdir)}},
        config=Config({"BoxedKernelManager": manager}),
    )

    def record(cell: Any, cell_index: int, execute_reply: dict) -> None:
        client.capture.reply_status = execute_reply.get("content", {}).get("status", "")

    client.on_cell_executed = record
    return client


def _remove(folder: Path) -> None:
    problem = box.remove_tree(folder)
    if problem:  # the machine's problem, not the student's: logged, the grade stands
        LOG.warning("rmcourse grade: kernel folder: %s", problem)


class KernelStartError(RuntimeError):
    """No kernel started in :data:`START_TRIES` tries: the grader's problem, not the student's."""


@contextlib.contextmanager
def _kernel(
    workdir: Path, limits: Limits, before_start: Callable[[], None] | None
) -> Iterator[_CappedClient]:
    """A client with a fresh, limited kernel, shut down on exit; a start that fails (the kernel
    dies or does not answer within its start-up timeout) is tried again, up to
    :data:`START_TRIES` times."""
    launch = {
        "preexec_fn": functools.partial(_limit_kernel, int(limits.memory_bytes)),
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
        # the grader's rmcourse; one compute thread unless the grader's environment sets the count
        "env": {**os.environ, **box.kernel_threads(), "PYTHONPATH": box.kernel_pythonpath()},
    }
    problems = []
    for attempt in range(START_TRIES):
        if before_start is not None:
            before_start()
        with contextlib.ExitStack() as stack:
            folder = Path(tempfile.mkdtemp(prefix="rmcourse-kernel-"))
            stack.callback(_remove, folder)  # writable by the kernel: any tree, any depth
            client = _new_client(workdir, limits, folder / "k")
            try:
                stack.enter_context(client.setup_kernel(**launch))
            except (RuntimeError, OSError) as exc:  # nbclient cleans the failed kernel up
                problems.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.5 * (attempt + 1))
                continue
            yield client
            return
    raise KernelStartError(
        f"no kernel started in {START_TRIES} tries (the grading machine may be overloaded): "
        + "; ".join(problems)
    )


def run_steps(
    steps: Sequence[Step],
    workdir: Path,
    limits: Limits,
    before_start: Callable[[], None] | None = None,
) -> list[StepResult]:
    """Run ``steps`` in order in fresh kernels started in ``workdir``; one result per step.

    ``before_start`` is called before every kernel start (e.g. to write a file the first step
    reads).

    Examples
    --------
    >>> import tempfile
    >>> steps = [Step("x = 1"), Step("x + 1"), Step("1 / 0"), Step("x", requires=2)]
    >>> res = run_steps(steps, Path(tempfile.mkdtemp()), Limits(cell_timeout=20))
    >>> [(r.outcome, r.ename, r.result_text) for r in res]
    [('ok', '', ''), ('ok', '', '2'), ('error', 'ZeroDivisionError', ''), ('skipped', '', '')]
    """
    limits = replace(limits, box=box.resolve(limits.box))
    results: list[StepResult | None] = [None] * len(steps)
    deadline = time.monotonic() + limits.submission_timeout
    start, restarts = 0, 0
    unreplayable: set[int] = set()  # steps whose definitions ended a kernel when replayed
    while start < len(steps):
        if restarts > limits.restarts:
            evalue = f"not run: the kernel died or timed out {restarts} times"
            results[start:] = [StepResult(NOT_RUN, "KernelRestartLimit", evalue)] * (
                len(steps) - start
            )
            break
        with _kernel(workdir, limits, before_start) as client:
            _replay(client, steps[:start], results, deadline, unreplayable)
            index = start
            while index < len(steps):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    results[index:] = [
                        StepResult(NOT_RUN, "TimeoutError", "the submission's time limit passed")
                    ] * (len(steps) - index)
                    return results
                step = steps[index]
                if step.requires is not None and results[step.requires].outcome != OK:
                    result = StepResult(SKIPPED)
                else:
                    result = _run_cell(client, step, min(limits.cell_timeout, remaining))
                results[index] = result
                index += 1
                if result.outcome in (TIMEOUT, DIED):
                    break
        start = index
        restarts += 1
    return results


def _replay(
    client: _CappedClient,
    steps: Sequence[Step],
    results: list,
    deadline: float,
    unreplayable: set[int],
) -> None:
    """Run again, in a fresh kernel, the ``replay`` steps that ran, and the definitions of those
    that ended a kernel (once: definitions that end this kernel too join ``unreplayable``)."""
    for index, step in enumerate(steps):
        result = results[index]
        if not step.replay or index in unreplayable:
            continue
        remaining = max(1.0, deadline - time.monotonic())
        if result.outcome in (OK, ERROR):
            _run_cell(client, step, remaining)
        elif result.outcome in (TIMEOUT, DIED) and step.definitions:
            replayed = _run_cell(client, Step(step.definitions), remaining)
            kept = replayed.outcome in (OK, ERROR)
            results[index] = replace(result, kept_definitions=kept)
            if not kept:
                unreplayable.add(index)
