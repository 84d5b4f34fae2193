"""What a cell's code says, whatever its formatting: line endings, tabs, comments, blank lines.

The grader compares cells (is this the untouched stub? is this the instructor's test cell?),
finds the functions a cell defines, and keeps a cell's definitions; each of these reads the code's
syntax tree, never its text, so a notebook saved with Windows line endings or re-indented with
tabs is judged by what it does. Cells with IPython syntax (``%magic``, ``!shell``) are read as
IPython turns them into Python.
"""

from __future__ import annotations

import ast
import functools

DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def unix_newlines(source: str) -> str:
    r"""``source`` with Windows (``\r\n``) and old Mac (``\r``) line endings made ``\n``.

    Examples
    --------
    >>> unix_newlines("a = 1\r\nb = 2\rc = 3")
    'a = 1\nb = 2\nc = 3'
    """
    return source.replace("\r\n", "\n").replace("\r", "\n")


@functools.lru_cache(maxsize=4096)
def as_python(source: str) -> str:
    """``source`` as plain Python: unix line endings, IPython syntax translated when present."""
    source = unix_newlines(source)
    try:
        ast.parse(source)
        return source
    except (SyntaxError, ValueError):
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # the grader's environment always has IPython (ipykernel needs it)
        return source
    return TransformerManager().transform_cell(source)


def parse(source: str) -> ast.Module | None:
    """The syntax tree of ``source`` (see :func:`as_python`), or None when it is not Python."""
    try:
        return ast.parse(as_python(source))
    except (SyntaxError, ValueError):
        return None


@functools.lru_cache(maxsize=4096)
def fingerprint(source: str) -> str:
    """A key equal for two cells that differ only in formatting.

    The dump of the syntax tree; for code that does not parse, the non-blank lines without their
    surrounding whitespace.

    Examples
    --------
    >>> a = "def f(x):\\n    return x  # identity\\n"
    >>> b = "# my answer\\r\\n\\r\\ndef f(x):\\r\\n\\treturn x\\r\\n"
    >>> fingerprint(a) == fingerprint(b), fingerprint(a) == fingerprint("def f(x):\\n    return 1")
    (True, False)
    """
    tree = parse(source)
    if tree is not None:
        return ast.dump(tree)
    lines = (line.strip() for line in unix_newlines(source).splitlines())
    return "\n".join(line for line in lines if line)


def defined_functions(source: str) -> tuple[str, ...]:
    """Names of the functions a cell defines at top level (``def``), in order.

    Examples
    --------
    >>> defined_functions("import math\\ndef f(x):\\n    return x\\nasync def g():\\n    pass")
    ('f', 'g')
    >>> defined_functions("def broken(:")
    ()
    """
    tree = parse(source)
    return tuple(
        node.name
        for node in (tree.body if tree is not None else ())
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    )


def definitions_only(source: str) -> str:
    """The cell's top-level ``def``, ``class`` and ``import`` statements, without the rest.

    What the grader replays of a cell that hung or killed its kernel, so that later exercises
    still find what it defines; ``""`` when the cell does not parse or defines nothing.

    Examples
    --------
    >>> print(definitions_only("import math\\ndef f(x):\\n    return x\\nwhile True:\\n    pass"))
    import math
    <BLANKLINE>
    def f(x):
        return x
    """
    tree = parse(source)
    if tree is None:
        return ""
    kept = [node for node in tree.body if isinstance(node, DEFINITIONS)]
    return ast.unparse(ast.Module(body=kept, type_ignores=[])) if kept else ""
