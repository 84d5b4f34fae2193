"""The words the grader says to a student: why a check failed, and notes on how a notebook was read.

A visible test's failure shows its message (the student has its code). A hidden test's failure
shows what the instructor wrote for students about the failing check -- the ``what=`` of a
``_grader.close`` call, or the message of an ``assert`` / ``raise AssertionError`` -- with the kind
of mismatch (wrong values, wrong shape, NaN, None), never the hidden code or values the
description does not state. Descriptions are read from the hidden code's syntax tree and matched
against the raised message (or, for another exception, against the line it was raised on), so
student code cannot make the grader print anything but the instructor's words. Any message
quoting a line of hidden code verbatim is withheld.
"""

from __future__ import annotations

import ast
import builtins
import functools
import re
from dataclasses import dataclass

from rmcourse.grading.execute import DIED, ERROR, NOT_RUN, TIMEOUT, StepResult

MESSAGE_CHARS = 600
WITHHELD = "(message withheld: it quotes hidden test code)"
# A hidden test's failure names its exception type only for built-in types: a student's own
# exception class could carry the hidden code in its name.
BUILTIN_EXCEPTIONS = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)
# What went wrong in a failed ``close``, by the start of its message after "what: ".
CLOSE_MISMATCH = (
    ("got None", "got None (does the function return its result?)"),
    ("expected numbers", "the result is not a number or an array of numbers"),
    ("shape ", "the result has the wrong shape"),
    ("NaN ", "NaN where a number was expected (or the reverse)"),
)
FIELD = r"[\s\S]{0,300}?"  # a formatted value inside a description
MATCHED_CHARS = 4000  # of a raised message, matched against the descriptions


@dataclass(frozen=True)
class Description:
    """A check's description in hidden code: its text (``…`` for formatted values), the lines it
    spans, the pattern of the message it raises (``what`` and, for close, ``detail``), and its
    kind: ``close``, ``assert`` (an assert or ``raise AssertionError``) or ``call`` (a
    ``_grader.call``, which raises only the student's own exceptions: its pattern matches
    nothing)."""

    text: str
    first_line: int
    last_line: int
    pattern: re.Pattern
    kind: str


def _template(node: ast.expr) -> tuple[str, str] | None:
    """(text, regex) of a string literal or f-string, None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, re.escape(node.value)
    if not isinstance(node, ast.JoinedStr):
        return None
    text, regex = [], []
    for part in node.values:
        if isinstance(part, ast.Constant):
            text.append(str(part.value))
            regex.append(re.escape(str(part.value)))
        else:
            text.append("…")
            regex.append(FIELD)
    return "".join(text), "".join(regex)


def _describe_node(node: ast.AST) -> tuple[str, str, str] | None:
    """(text, message regex, kind) of a described check: a method call named ``close`` or
    ``call`` with a string ``what=``, an assert with a message, or
    ``raise AssertionError(<string>)``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in ("close", "call"):
            for keyword in node.keywords:
                found = _template(keyword.value) if keyword.arg == "what" else None
                if found and node.func.attr == "call":
                    return found[0], r"(?!)", "call"
                if found:
                    return found[0], rf"(?P<what>{found[1]}): (?P<detail>[\s\S]*)", "close"
    if isinstance(node, ast.Assert) and node.msg is not None:
        found = _template(node.msg)
        return (found[0], rf"(?P<what>{found[1]})", "assert") if found else None
    if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
        call = node.exc
        if isinstance(call.func, ast.Name) and call.func.id == "AssertionError" and call.args:
            found = _template(call.args[0])
            return (found[0], rf"(?P<what>{found[1]})", "assert") if found else None
    return None


@functools.lru_cache(maxsize=256)
def descriptions(hidden: str) -> tuple[Description, ...]:
    """The described checks of a hidden test's code, in order.

    Examples
    --------
    >>> code = "_grader.close(f(2), 4.0, what=f'f at {x}')\\nassert g(), 'g must hold'"
    >>> [(d.text, d.first_line) for d in descriptions(code)]
    [('f at …', 1), ('g must hold', 2)]
    """
    try:
        tree = ast.parse(hidden)
    except SyntaxError:
        return ()
    found = []
    for node in ast.walk(tree):
        described = _describe_node(node)
        if described is not None:
            text, regex, kind = described
            last = getattr(node, "end_lineno", None) or node.lineno
            found.append(Description(text, node.lineno, last, re.compile(regex), kind))
    return tuple(sorted(found, key=lambda d: (d.first_line, d.last_line)))


def unstated(lines: frozenset[str], hidden: list[str]) -> frozenset[str]:
    """The ``lines`` that no description of the ``hidden`` codes states (what feedback must not
    quote: a description may say ``dataset_loss([]) should raise``, a line of the test).

    Examples
    --------
    >>> unstated(frozenset({"f([]) == 0", "g(secret)"}), ["assert f([]) == 0, 'f([]) == 0'"])
    frozenset({'g(secret)'})
    """
    texts = [check.text for code in hidden for check in descriptions(code)]
    return frozenset(line for line in lines if not any(line in text for text in texts))


def _check_at(hidden: str, checks: tuple[Description, ...], line: int) -> Description | None:
    """The check a line of the hidden code belongs to: the innermost one spanning it, else the
    only one inside the innermost statement (a loop, a ``try``) around the line that has any."""
    around = [c for c in checks if c.first_line <= line <= c.last_line]
    if around:
        return min(around, key=lambda c: c.last_line - c.first_line)
    try:
        tree = ast.parse(hidden)
    except SyntaxError:
        return None
    statements = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt) and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    for node in sorted(statements, key=lambda n: (n.end_lineno or n.lineno) - n.lineno):
        inside = [
            c for c in checks if node.lineno <= c.first_line and c.last_line <= node.end_lineno
        ]
        if inside:
            return inside[0] if len(inside) == 1 else None
    return None


def _mismatch(detail: str) -> str:
    for start, words in CLOSE_MISMATCH:
        if detail.startswith(start):
            return words
    return "the values differ from the expected ones"


def _topic(visible: str) -> str:
    """The comment a hidden-only test cell ships with, e.g. "# Hidden tests: |x| = 1e4 ..."."""
    lines = [line.strip().lstrip("#").strip() for line in visible.splitlines()]
    text = " ".join(line for line in lines if line)
    return re.sub(r"^hidden tests?:\s*", "", text, flags=re.IGNORECASE)


def hidden_failure(result: StepResult, hidden: str, visible: str) -> str:
    """What a student may read about a failed hidden test (``hidden``/``visible``: its code).

    Examples
    --------
    >>> code = "_grader.close(f(-1e4), -1e4, what='f(-1e4)')\\nassert f(0) == 0, 'f(0) is 0'"
    >>> err = StepResult("error", "AssertionError", "f(-1e4): 1 of 1 elements differ; got 3")
    >>> hidden_failure(err, code, "# Hidden tests: extremes")
    'a hidden test failed: f(-1e4): the values differ from the expected ones'
    >>> hidden_failure(StepResult("error", "TypeError", "bad operand", line=2), code, "")
    'a hidden test failed: TypeError (while checking: f(0) is 0)'
    >>> called = "_y = _grader.call(f, 3, what='f of an odd number')\\nassert _y == 9, 'f(3) is 9'"
    >>> hidden_failure(StepResult("error", "ValueError", "odd!", line=1), called, "")
    'a hidden test failed: ValueError (while checking: f of an odd number)'
    >>> loop = "for _x in (1, 2):\\n    try:\\n        f(_x)\\n    except ValueError:\\n" + (
    ...     "        continue\\n    raise AssertionError(f'f({_x}) should raise ValueError')")
    >>> hidden_failure(StepResult("error", "TypeError", "no", line=3), loop, "")
    'a hidden test failed: TypeError (while checking: f(…) should raise ValueError)'
    >>> hidden_failure(StepResult("error", "Oops", "assert secret == 1"), code, "# extremes")
    "a hidden test failed: an exception of the notebook's own type (the hidden tests: extremes)"
    """
    if result.outcome != ERROR:
        return step_failure(result, 0.0)
    checks = descriptions(hidden)
    if result.ename == "AssertionError":
        matches = [check.pattern.fullmatch(result.evalue[:MATCHED_CHARS]) for check in checks]
        if any(matches):  # the most specific: the longest description that fits
            match = max((m for m in matches if m), key=lambda m: len(m["what"]))
            if match.groupdict().get("detail") is not None:
                return f"a hidden test failed: {match['what']}: {_mismatch(match['detail'])}"
            return f"a hidden test failed: {match['what']}"
    own_type = "an exception of the notebook's own type"
    name = result.ename if result.ename in BUILTIN_EXCEPTIONS else own_type
    check = _check_at(hidden, checks, result.line)
    if check is not None:
        return f"a hidden test failed: {name} (while checking: {check.text})"
    topic = _topic(visible)
    return f"a hidden test failed: {name}" + (f" (the hidden tests: {topic})" if topic else "")


def step_failure(result: StepResult, cell_timeout: float) -> str:
    """Why a visible test or a student's cell failed, from its result."""
    if result.outcome == TIMEOUT:
        return f"ran past the time limit of {cell_timeout:g} s per cell (an endless loop?)"
    if result.outcome == DIED:
        return "the kernel died while running it (os._exit, a crash, or the memory cap)"
    if result.outcome == NOT_RUN:
        return f"not run: {result.evalue}"
    return f"{result.ename}: {result.evalue}" if result.evalue else result.ename


def withhold_secrets(text: str, secret_lines: frozenset[str]) -> str:
    """``text`` (cut to ``MESSAGE_CHARS``), or a notice instead when it quotes hidden code.

    Student code can read the hidden tests it is called from (frames, ``linecache``) and raise
    them as a visible test's message; such a message is not shown.

    Examples
    --------
    >>> secret = frozenset({"assert f(1e4) == 0"})
    >>> withhold_secrets("AssertionError: f(0) should be 1", secret)
    'AssertionError: f(0) should be 1'
    >>> withhold_secrets("boom: assert f(1e4) == 0", secret)
    '(message withheld: it quotes hidden test code)'
    """
    if any(line in text for line in secret_lines):
        return WITHHELD
    return text[:MESSAGE_CHARS]


GUARD_FAILED = (
    "the grader could not restore a trusted state before this test "
    "(the notebook interferes with the grader's checks)"
)
NOT_ANSWERED = "not run: the exercise is not answered"


def install_failed_note(result: StepResult) -> str:
    """The note of every exercise when the grader's checks did not start in the kernel (before
    any of the student's code ran: the grader's fault, not the notebook's)."""
    why = f"{result.ename}: {result.evalue}" if result.ename else result.outcome
    return (
        f"0 points: the grader's checks did not start in the kernel ({why[:MESSAGE_CHARS]}); "
        "not your doing: the instructor grades this notebook again."
    )


UNANSWERED_NOTE = "0 points: not answered (solution cell missing or still the stub)."


def copied_note(how: str) -> str:
    """The note of an exercise whose function comes from rmcourse."""
    return f"0 points: the function must be your own work, not taken from rmcourse ({how})."


def foreign_note(origins: tuple[str, ...]) -> str:
    """The note of an exercise whose function is not the code of the notebook's cells."""
    return (
        "0 points: the function must be defined by the notebook's own cells; "
        + "; ".join(origins)
        + "."
    )


def review_note(what: str) -> str:
    """The note of an exercise whose function matches the course library's or the solution's."""
    return (
        f"for the instructor to review: {what} (names, comments and formatting aside); the "
        "points are the tests', pending review."
    )


def not_counted(why: str) -> str:
    """A passed check's feedback when its exercise earns nothing."""
    return f"not counted: {why}"


def cell_name(kind: str, number: int) -> str:
    """How a note names a student's cell."""
    return "your solution cell" if kind == "solution" else f"your cell {number} (a cell you added)"


def cell_failed_note(name: str, result: StepResult, cell_timeout: float) -> str:
    """A note on a student's cell that raised, hung or killed its kernel."""
    note = f"{name} failed: {step_failure(result, cell_timeout)}"
    if result.outcome in (TIMEOUT, DIED):
        note += (
            "; the grader restarted the kernel and kept the cell's definitions (def, class, "
            "import) for what follows, skipping its other top-level statements"
            if result.kept_definitions
            else "; nothing of the cell was kept for what follows"
        )
    return note + "."


def truncated_note(name: str) -> str:
    """A note on a cell or test that printed more than the grader keeps."""
    return f"{name} printed more output than the grader keeps; the rest was dropped."


def duplicate_note(numbers: tuple[int, ...]) -> str:
    """A note on an exercise whose grade_id several cells carry."""
    cells = ", ".join(str(n) for n in numbers)
    return (
        f"cells {cells} all carry this exercise's cell id (a copied cell?): they were graded as "
        "a top-to-bottom run, where the last definition counts; keep one solution cell."
    )


def by_name_note(numbers: tuple[int, ...], names: tuple[str, ...]) -> str:
    """A note on an exercise found by the function it defines."""
    cells = ", ".join(str(n) for n in numbers)
    return (
        f"no cell carries this exercise's cell id: cell {cells} was matched by function name "
        f"({', '.join(names)}); keep the cells' metadata next time (copy the exercise notebook "
        "rather than pasting into a new one)."
    )
