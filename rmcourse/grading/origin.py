"""Where a function comes from: the notebook's own cells, the installed libraries, or elsewhere.

The grader gives points for a function only when the submission's own cells defined it. Inside
the student's kernel, before any student code runs, the guard's install calls
:func:`make_origin_check` with the code of the student's cells: it compiles them as the kernel
does (IPython's input transformation, one top-level statement at a time, the same interpreter)
and keeps a fingerprint of every code object they contain -- the marshalled code with its file
name, names and line numbers left out, so a function is recognised wherever it was defined and
however often. Before each test, the
guard calls the returned check on the exercise's functions. A function passes when its code is
one of the cells' code objects (or, behind ``functools`` wrappers, partials, methods or callable
objects, the function they call is); then everything it can reach by name is checked too: the
globals its code names, its closure, defaults and attributes, the attributes of modules and
classes it reaches that its code names, the modules its code imports, down through the other
functions of the cells. A function reached that is neither the cells' own nor the instructor's
cells' nor a genuine library function -- one that existed before any student code ran, or whose
code is the code compiled from its library file (under the environment's read-only folders or
those of the packages imported before student code, unchanged since the kernel started) -- is
reported with its origin: a file (a module written beside the notebook, a copied package), a
string (``exec``), a cell run by other means. The
course library's functions the check is told are forbidden (the assignment's answers, by
``rmcourse.module.function``) are recognised by their code, whatever their name, and reported
too -- also when a module or dictionary the function reads by a computed name holds one --, and
so is a module the function can import that was written beside the notebook. A library decorator
(``@torch.no_grad()``) around a function of the cells is followed to that function, and the
body of a ``%%time`` (``%%capture``, ...) cell is the cell's code.

The check reads objects only through C-level attributes captured at install (it never calls
student code: no ``getattr``, ``isinstance`` or ``__dict__`` lookups that a student class could
intercept), so patching modules after the install changes nothing it does.
"""

from __future__ import annotations
import __future__

import _imp
import ast
import gc
import hashlib
import marshal
import os
import sys
import time
import types
from collections.abc import Callable, Iterable

OWN, INSTRUCTOR, LIBRARY, FOREIGN = "own", "instructor", "library", "foreign"
CODE_FLAGS = 0xFFFF  # code flags below the __future__ features, which a cell's imports change
CELL_FLAGS = (0, __future__.annotations.compiler_flag)  # a cell may follow `from __future__ ...`
WALK_LIMIT = 200_000  # objects looked at per function checked
FINDINGS_PER_NAME = 3
TEXT_CHARS = 300
HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by Python code, not C
ATOMS = (str, bytes, bytearray, int, float, complex, bool, type(None), types.CodeType, range)
# Cell magics that run their body as Python in the user's namespace: their body's functions are
# the cell's (``%%time`` compiles it as "<timed exec>")
RUNNING_MAGICS = ("time", "timeit", "capture", "prun")
# Names through which code reaches a module's content by a computed name: a module reached by
# code naming one of them counts as reached whole (``vars(m)[name]``, ``m.__dict__[name]``)
DYNAMIC_ACCESS = frozenset(
    {"__dict__", "vars", "getattr", "__getattribute__", "attrgetter", "getmembers", "globals"}
)
WRAPPER_DEPTH = 3  # how deep a library decorator's __wrapped__ / closure is searched


def make_origin_check(
    own: Iterable[str],
    instructor: Iterable[str] = (),
    transform: Callable[[str], str] = lambda source: source,
) -> Callable[[dict, tuple[str, ...], tuple[str, ...]], list[tuple[str, str]]]:
    """``check(namespace, names, forbidden) -> [(name, origin), ...]``: the ``names`` bound in
    ``namespace`` that are not the ``own`` cells' functions or reach code from elsewhere, and
    where that code comes from; library functions named in ``forbidden`` count as elsewhere.

    ``own`` and ``instructor`` are cell sources (``transform`` turns a cell into Python, e.g.
    IPython's ``shell.transform_cell``); the check trusts the functions that exist when it is
    made, so make it before any untrusted code runs.

    Examples
    --------
    >>> check = make_origin_check(["def f(x):\\n    return g(x)\\n\\ndef g(x):\\n    return x"])
    >>> ns = {}
    >>> exec("def f(x):\\n    return g(x) + 0", ns)
    >>> check(ns, ("f",), ())
    [('f', 'f comes from a string run by exec, eval or compile')]
    >>> exec(compile("def f(x):\\n  return g(x)\\ndef g(x):\\n  return x", "cell", "exec"), ns)
    >>> check(ns, ("f",), ())
    []
    >>> exec("def g(x):\\n    return -x", ns)  # f stays the cell's, g does not
    >>> check(ns, ("f",), ())
    [('f', 'f calls g, which comes from a string run by exec, eval or compile')]
    """
    type_, tuple_, len_, id_, str_ = type, tuple, len, id, str
    function_type, module_type, code_type = types.FunctionType, types.ModuleType, types.CodeType
    dumps, sha256, get_referents = marshal.dumps, hashlib.sha256, gc.get_referents
    compile_ = compile
    open_, stat, get_frozen = open, os.stat, _imp.get_frozen_object
    module_dict = module_type.__dict__["__dict__"].__get__
    class_dict = type.__dict__["__dict__"].__get__
    class_mro = type.__dict__["__mro__"].__get__
    class_flags = type.__dict__["__flags__"].__get__
    dict_get, dict_values = dict.get, dict.values
    proxy_get = types.MappingProxyType.get
    issubclass_ = issubclass
    atoms = frozenset(ATOMS)
    sys_modules = sys.modules
    started = time.time()
    cwd = os.path.realpath(os.getcwd())
    sep = os.sep
    cache: dict = {}

    def fingerprint(code: types.CodeType) -> bytes:
        found = dict_get(cache, code)
        if found is None:
            consts = tuple_(fingerprint(c) if type_(c) is code_type else c for c in code.co_consts)
            found = sha256(
                dumps(
                    code.replace(
                        co_filename="",
                        co_name="",
                        co_qualname="",
                        co_firstlineno=1,
                        co_linetable=b"",
                        co_flags=code.co_flags & CODE_FLAGS,
                        co_consts=consts,
                    )
                )
            ).digest()
            cache[code] = found
        return found

    def all_codes(code: types.CodeType) -> list[types.CodeType]:
        codes, todo = [], [code]
        while todo:
            current = todo.pop()
            codes.append(current)
            todo.extend(c for c in current.co_consts if type_(c) is code_type)
        return codes

    def cell_fingerprints(sources: Iterable[str]) -> set[bytes]:
        found: set[bytes] = set()
        for source in [body for cell in sources for body in _magic_bodies(cell)]:
            try:
                tree = ast.parse(transform(source))
            except Exception:  # not Python, whatever IPython makes of it: defines nothing
                continue
            # IPython compiles a cell one top-level statement at a time (which changes code: a
            # module imported in the same unit is called with LOAD_ATTR, not LOAD_METHOD)
            units = [tree] + [ast.Module(body=[node], type_ignores=[]) for node in tree.body]
            for unit, flags in [(unit, flags) for unit in units for flags in CELL_FLAGS]:
                try:
                    code = compile(unit, "<cell>", "exec", flags, dont_inherit=True)
                except (SyntaxError, ValueError):
                    try:  # a cell with a top-level await
                        flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
                        code = compile(unit, "<cell>", "exec", flags, dont_inherit=True)
                    except (SyntaxError, ValueError):
                        continue
                found.update(fingerprint(c) for c in all_codes(code))
        return found

    own_fps = cell_fingerprints(own)
    instructor_fps = cell_fingerprints(instructor)
    # Every function alive now existed before any student code ran: trusted with its code now.
    existing = {obj: obj.__code__ for obj in gc.get_objects() if type_(obj) is function_type}
    roots = _library_roots(cwd)
    rmcourse_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + sep
    library_fps: dict[str, frozenset[bytes]] = {}

    def file_fingerprints(filename: str) -> frozenset[bytes]:
        found = dict_get(library_fps, filename)
        if found is not None:
            return found
        found = frozenset()
        try:
            if filename.startswith("<frozen ") and filename.endswith(">"):
                code = get_frozen(filename[len("<frozen ") : -1])
            elif any(filename.startswith(root) for root in roots):
                if stat(filename).st_mtime <= started:  # not written since the kernel started
                    with open_(filename, "rb") as file:
                        code = compile_(file.read(), filename, "exec", dont_inherit=True)
                else:
                    code = None
            else:
                code = None
            if code is not None:
                found = frozenset(fingerprint(c) for c in all_codes(code))
        except (OSError, SyntaxError, ValueError, ImportError):
            pass
        library_fps[filename] = found
        return found

    forbidden_fps: dict[tuple[str, ...], dict[bytes, str]] = {}

    def forbidden_code(entries: tuple[str, ...]) -> dict[bytes, str]:
        """Fingerprint -> entry, of the code of the library functions ``entries`` name
        (``rmcourse.bon.select_best``, ``rmcourse.data.tokenizer.Tokenizer.encode_pairs``; a
        function nested in another by its own name), compiled from their files: a copy of one
        under another name (``types.FunctionType(f.__code__, ...)``) has the same code."""
        found = dict_get(forbidden_fps, entries)
        if found is not None:
            return found
        found = {}
        for entry in entries:
            parts = entry.split(".")
            for cut in range(len_(parts) - 1, 0, -1) if parts[0] == "rmcourse" else ():
                codes = None
                base = (rmcourse_root + sep.join(parts[1:cut])).rstrip(sep)
                for filename in (base + ".py", base + sep + "__init__.py"):
                    try:
                        with open_(filename, "rb") as file:
                            text = file.read()
                        code = compile_(text, filename, "exec", dont_inherit=True)
                    except (OSError, SyntaxError, ValueError):
                        continue
                    codes = all_codes(code)
                    break
                if codes is None:
                    continue
                qualname = ".".join(parts[cut:])
                for code in codes:
                    if code.co_name == parts[-1] and (
                        code.co_qualname == qualname or code.co_qualname.endswith("." + qualname)
                    ):
                        found[fingerprint(code)] = entry
                break
        forbidden_fps[entries] = found
        return found

    def kind(fn: types.FunctionType) -> str:
        code = fn.__code__
        if dict_get(existing, fn) is code:
            return LIBRARY
        fp = fingerprint(code)
        if fp in own_fps:
            return OWN
        if fp in instructor_fps:
            return INSTRUCTOR
        if fp in file_fingerprints(code.co_filename):
            return LIBRARY
        return FOREIGN

    def where(fn: types.FunctionType) -> str:
        filename = fn.__code__.co_filename
        module = fn.__module__ if type_(fn.__module__) is str_ else ""
        if filename == "<string>":
            return "a string run by exec, eval or compile"
        if "ipykernel_" in filename or filename.startswith("<ipython-input"):
            return "code run as a cell that is not one of the notebook's cells"
        if filename.startswith("<"):
            return f"code made at run time ({filename})"
        if filename.startswith(cwd + sep):
            text = f"the file {filename[len_(cwd) + 1 :]} beside the notebook"
        else:
            text = f"the file {filename}"
        return text + (f" (module {module})" if module and module != "__main__" else "")

    def beside(module: str) -> bool:
        """Whether an import of ``module`` would load a file from the working folder."""
        head = module.partition(".")[0]
        if not head.isidentifier():
            return False
        for candidate in (head + ".py", head + sep + "__init__.py"):
            try:
                stat(cwd + sep + candidate)
                return True
            except OSError:
                continue
        return False

    def heap(cls: type) -> bool:
        return bool(class_flags(cls) & HEAPTYPE)

    def is_class(value: object) -> bool:
        return issubclass_(type_(value), type)

    def callables_inside(value: object) -> list[types.FunctionType]:
        """The functions a callable that is not a plain function calls: those a C wrapper
        (partial, lru_cache, method, staticmethod) holds, or a Python class's ``__call__``."""
        for cls in class_mro(type_(value)):
            call = proxy_get(class_dict(cls), "__call__")
            if call is not None:
                if type_(call) is function_type:  # a class written in Python
                    return [call]
                break  # a C type's call (some are heap types too: partial, lru_cache)
        found, todo = [], [value]
        for _ in range(2):
            todo = [r for item in todo for r in get_referents(item)]
            found += [r for r in todo if type_(r) is function_type]
            if found:
                break
        return found

    def wrapped(fn: types.FunctionType) -> list[types.FunctionType]:
        """The functions a function holds as a decorator's wrapper would: its ``__wrapped__``
        and its closure's functions (``torch.no_grad()``, ``np.errstate(...)`` on a function)."""
        held = [dict_get(fn.__dict__, "__wrapped__")]
        for cell in fn.__closure__ or ():
            try:
                held.append(cell.cell_contents)
            except ValueError:  # an empty cell
                continue
        return [item for item in held if type_(item) is function_type]

    def own_behind(fn: types.FunctionType) -> list[types.FunctionType]:
        """The notebook's functions behind ``fn``, a library decorator's wrapper."""
        found, todo = [], [fn]
        for _ in range(WRAPPER_DEPTH):
            todo = [inner for item in todo for inner in wrapped(item)]
            found += [inner for inner in todo if kind(inner) == OWN]
        return found

    def banned_entry(fn: types.FunctionType, banned: dict[bytes, str]) -> str | None:
        """The forbidden library function ``fn`` is, or wraps as a decorator would."""
        for inner in [fn] + wrapped(fn):
            entry = dict_get(banned, fingerprint(inner.__code__))
            if entry is not None:
                return entry
        return None

    def check_one(name: str, value: object, forbidden: tuple[str, ...]) -> list[str]:
        findings: list[str] = []
        banned = forbidden_code(forbidden)
        decorated = False
        if type_(value) is function_type:
            tops = [value]
            top_kind = kind(value)
            if top_kind == LIBRARY and fingerprint(value.__code__) not in banned:
                behind = own_behind(value)  # a library decorator on the notebook's function
                if behind:
                    tops, decorated = behind, True
        elif is_class(value):
            tops = []
        else:
            tops = callables_inside(value)
        if not any(kind(fn) == OWN for fn in tops):
            library = tops and kind(tops[0]) == LIBRARY  # not a copy of it elsewhere
            entry = banned_entry(tops[0], banned) if library else None
            if entry is not None:
                findings.append(f"{name} is the course library's own {entry}")
            elif tops:
                findings.append(f"{name} comes from {where(tops[0])}")
            else:
                findings.append(
                    f"{name} is a {type_(value).__name__} object, not a function defined in "
                    "the notebook's cells"
                )
            return findings
        seen: set[int] = set()
        stack: list[tuple[object, str, frozenset]] = [(fn, name, frozenset()) for fn in tops]
        if decorated:  # what the library's wrapper holds: the decorator's state, registries
            extra = list(value.__closure__ or ()) + list(dict_values(value.__dict__))
            stack.extend((item, name, frozenset()) for item in extra)
        elif type_(value) is not function_type:  # what a wrapper or callable object holds
            stack.append((value, name, frozenset()))
        looked = 0
        while stack and len_(findings) < FINDINGS_PER_NAME:
            value, via, names = stack.pop()
            looked += 1
            if looked > WALK_LIMIT:
                break
            kind_ = type_(value)
            if kind_ in atoms or id_(value) in seen:
                continue
            seen.add(id_(value))
            if kind_ is function_type:
                fn_kind = kind(value)
                if fn_kind == FOREIGN:
                    findings.append(f"{name} calls {via}, which comes from {where(value)}")
                elif fn_kind == LIBRARY:
                    entry = dict_get(banned, fingerprint(value.__code__))  # a wrapper's: below
                    if entry is not None:
                        findings.append(f"{name} calls {via}, the course library's own {entry}")
                    else:  # a decorator's wrapper in the library: what it wraps
                        stack.extend((item, via, frozenset()) for item in wrapped(value))
                elif fn_kind == OWN:
                    codes = all_codes(value.__code__)
                    used = frozenset(n for c in codes for n in c.co_names)
                    strings = [k for c in codes for k in c.co_consts if type_(k) is str_]
                    builtins_ = value.__builtins__  # fixed when the function was made
                    for n in used:
                        found = dict_get(value.__globals__, n, seen)
                        if found is seen and type_(builtins_) is dict:
                            found = dict_get(builtins_, n, seen)
                        if found is not seen:
                            stack.append((found, n, used))
                    for n in list(used) + strings:  # modules its code imports
                        found = dict_get(sys_modules, n, seen)
                        if found is not seen:
                            stack.append((found, n, used))
                        elif beside(n):  # not imported yet: would come from the scratch folder
                            findings.append(
                                f"{name} can import {n}, a module written beside the notebook"
                            )
                    extra = list(value.__closure__ or ()) + list(value.__defaults__ or ())
                    extra += list(dict_values(value.__kwdefaults__ or {}))
                    extra += list(dict_values(value.__dict__))
                    stack.extend((item, via, used) for item in extra)
                continue
            if kind_ is module_type:
                content = module_dict(value)
                for n in names:
                    found = dict_get(content, n, seen)
                    if found is not seen:
                        stack.append((found, f"{via}.{n}", names))
                dynamic = bool(names & DYNAMIC_ACCESS)  # its content picked by a computed name
                for item in dict_values(content):  # a module from a file outside the library
                    if type_(item) is not function_type:
                        continue
                    if kind(item) == FOREIGN and item.__code__.co_filename[:1] != "<":
                        held = where(item)
                        findings.append(f"{name} uses {via}, which holds code from {held}")
                        break
                    if dynamic:
                        entry = banned_entry(item, banned)
                        if entry is not None:
                            findings.append(
                                f"{name} reads {via} by a computed name, and {via} holds the "
                                f"course library's own {entry}"
                            )
                            break
            elif is_class(value):  # the attributes its code names, and __call__ (not the other
                # dunders: dataclasses and namedtuple make those from strings)
                for cls in class_mro(value):
                    if heap(cls):
                        content = class_dict(cls)
                        for n in names | {"__call__"}:
                            found = proxy_get(content, n, seen)
                            if found is not seen and not (n != "__call__" and n[:2] == "__"):
                                stack.append((found, f"{via}.{n}", names))
            elif kind_ is types.CellType:
                try:
                    stack.append((value.cell_contents, via, names))
                except ValueError:  # an empty cell
                    pass
            else:
                stack.extend((item, via, names) for item in get_referents(value))
        return findings

    def check(
        namespace: dict, names: tuple[str, ...], forbidden: tuple[str, ...]
    ) -> list[tuple[str, str]]:
        report = []
        for name in names:
            value = dict_get(namespace, name, check)
            if value is not check:
                report += [(name, text[:TEXT_CHARS]) for text in check_one(name, value, forbidden)]
        return report

    return check


def _magic_bodies(source: str) -> list[str]:
    """``source`` and, when it is a cell magic that runs its body as Python (``%%time``,
    ``%%capture``, ...), that body too (itself maybe such a magic).

    >>> _magic_bodies("%%time\\n%%capture out\\nx = 1\\n")
    ['%%time\\n%%capture out\\nx = 1\\n', '%%capture out\\nx = 1\\n', 'x = 1\\n']
    """
    found = [source]
    while True:
        lines = source.split("\n")
        while lines and not lines[0].strip():  # IPython drops leading blank lines
            lines.pop(0)
        first, body = (lines[0], "\n".join(lines[1:])) if lines else ("", "")
        if not first.startswith("%%") or first[2:].split(" ", 1)[0].strip() not in RUNNING_MAGICS:
            return found
        found.append(body)
        source = body


def _library_roots(cwd: str) -> tuple[str, ...]:
    """The folders library code is loaded from (the environment, the import path, and the
    folders of the packages imported before any student code: an editable install's package
    is found by an import hook, outside both), each with a trailing separator; none holding,
    or inside, the kernel's working folder (the submission's scratch)."""
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    candidates.update(p for p in sys.path if p and os.path.isabs(p) and os.path.isdir(p))
    for module in list(sys.modules.values()):
        try:  # no getattr: a lazy module's __getattr__ may raise (torch.cuda's without CUDA)
            locations = vars(module).get("__path__")
        except TypeError:  # not a module
            continue
        if type(locations) is list:  # a regular package (a namespace one's is not a list)
            candidates.update(p for p in locations if type(p) is str and os.path.isabs(p))
    here = cwd + os.sep
    roots = set()
    for path in candidates:
        for form in (os.path.abspath(path), os.path.realpath(path)):
            root = form.rstrip(os.sep) + os.sep
            if not here.startswith(root) and not root.startswith(here):
                roots.add(root)
    return tuple(sorted(roots))
