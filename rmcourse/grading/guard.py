"""The grader's guard inside a student's kernel: snapshot trusted state, restore it before tests.

The grader runs, in a fresh kernel, the source's setup cell and then ``install(...)`` -- before any
student code. :func:`install` snapshots the state a test relies on and returns ``guard``, a closure
that the grader calls (under a random name) right before every test cell. ``guard(challenge)``

1. switches off ``sys.settrace`` / ``sys.setprofile`` hooks (also for new threads);
2. puts back ``builtins`` entries (``abs``, ``AssertionError``, ``print``, ...) and removes added
   ones; rebinds the user namespace's ``__builtins__``;
3. puts back the ``sys.modules`` entries and module attributes of numpy, torch, rmcourse, math,
   importlib and builtins as they were (``np.allclose = ...`` undone), the code and defaults of
   their Python functions (``f.__code__ = ...`` undone) and the attributes of their Python
   classes (changed ones put back, added ones such as ``torch.Tensor.__eq__`` removed); rmcourse
   modules imported since the snapshot are forgotten, so a test's ``_grader.reference.np_loss``
   is imported afresh, unpatched -- through the import system as it was: ``sys.meta_path``,
   ``sys.path_hooks``, ``sys.path``, ``sys.path_importer_cache`` and the ``__path__`` of the
   protected packages are put back too (a finder added by the student cannot hand a test a fake
   reference module);
4. puts back ``sys.excepthook`` / ``displayhook`` / ``stdout`` / ``stderr`` and IPython's
   custom exception handler (``set_custom_exc``), input and AST transformers, event callbacks, and
   the shell's and kernel's methods (instance overrides removed, class attributes restored);
5. binds ``_grader`` to a fresh :func:`rmcourse.grading.checks.make_checks` object;
6. checks where the exercise's functions come from (:mod:`rmcourse.grading.origin`): a challenge
   ``TOKEN:NAMES;FORBIDDEN`` (comma-separated) names the functions that must be the notebook's
   own cells' code and the course library's functions they must not be or reach
   (``rmcourse.bon.select_best``: :func:`rmcourse.grading.anticopy.forbidden_functions`);
7. returns ``HMAC-SHA256(key, challenge)`` -- or, when a function comes from elsewhere,
   ``HMAC-SHA256(key, challenge + "\n" + report) + "\n" + report`` with ``report`` the ``repr``
   of the ``(name, origin)`` pairs -- which the grader checks: a notebook that replaced or deleted
   the guard cannot answer, nor drop or change a report, and the test counts as failed.

Everything the guard uses is captured in its closure at install time, so patching this module
or the functions it calls afterwards does not change what it does.
"""

from __future__ import annotations

import builtins
import gc
import hashlib
import hmac
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

from rmcourse.grading import origin  # imported before the snapshot: restored like rmcourse

# Top-level packages whose modules are restored before every test.
PROTECTED_PACKAGES = ("numpy", "torch", "rmcourse", "math", "builtins", "importlib")
IMPORT_LISTS = ("meta_path", "path_hooks", "path")  # of sys: where imports look, in order
SYS_HOOKS = ("excepthook", "displayhook", "stdout", "stderr", "breakpointhook", "unraisablehook")
SHELL_LISTS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
SHELL_ATTRS = ("custom_exceptions", "CustomTB", "displayhook", "display_pub", "user_ns")


def _protected_modules() -> dict[str, types.ModuleType]:
    return {
        name: module
        for name, module in list(sys.modules.items())
        if isinstance(module, types.ModuleType) and name.split(".")[0] in PROTECTED_PACKAGES
    }


def _function_state(fn: types.FunctionType) -> tuple:
    return (fn.__code__, fn.__defaults__, fn.__kwdefaults__)


def _snapshot_objects(modules: dict[str, types.ModuleType]) -> tuple[dict, dict]:
    """(function -> code/defaults, class -> dict copy) for what the protected modules define."""
    functions, classes = {}, {}
    for module in modules.values():
        for value in list(vars(module).values()):
            # numpy's array-function dispatchers wrap a Python function; a plain getattr could
            # run a lazy module's __getattr__ (torch.cuda's raises without CUDA)
            is_dispatcher = type(value).__name__ == "_ArrayFunctionDispatcher"
            inner = value._implementation if is_dispatcher else None
            for obj in (value, inner):
                if isinstance(obj, types.FunctionType):
                    functions[obj] = _function_state(obj)
            if isinstance(value, type) and getattr(value, "__module__", "").split(".")[0] in (
                PROTECTED_PACKAGES
            ):
                try:
                    value.__dict__["__module__"]
                except (KeyError, TypeError):
                    continue
                if not (value.__flags__ & (1 << 9)):  # Py_TPFLAGS_HEAPTYPE: Python-defined class
                    continue
                classes[value] = dict(value.__dict__)
    return functions, classes


def _restore_mapping(target: dict, saved: dict, drop_added: bool) -> None:
    for key, value in saved.items():
        if target.get(key, _restore_mapping) is not value:
            target[key] = value
    if drop_added:
        for key in [k for k in target if k not in saved]:
            del target[key]


def install(
    shell: Any, key: bytes, own: tuple[str, ...] = (), instructor: tuple[str, ...] = ()
) -> Callable[[str], str]:
    """Snapshot the kernel's trusted state now; return ``guard(challenge) -> hex digest``.

    ``shell`` is the kernel's IPython shell (``get_ipython()``); ``key`` the grader's secret
    key, sent in the install cell (kept out of the history; the cell drops its own linecache
    entry), never written to a file student code could plant a reader beside; ``own`` and
    ``instructor`` the code of the student's cells and of the instructor's cells that run.
    """
    if not isinstance(key, bytes) or len(key) < 16:
        raise ValueError(f"the key must be at least 16 bytes, got {type(key).__name__}")
    from rmcourse.grading.checks import make_checks

    modules = _protected_modules()
    module_dicts = {name: dict(vars(module)) for name, module in modules.items()}
    functions, classes = _snapshot_objects(modules)
    builtins_dict = dict(vars(builtins))
    import_lists = [(getattr(sys, name), list(getattr(sys, name))) for name in IMPORT_LISTS]
    import_lists += [
        (module.__path__, list(module.__path__))
        for module in modules.values()
        if isinstance(getattr(module, "__path__", None), list)
    ]
    importer_cache = sys.path_importer_cache
    importer_cache_saved = dict(importer_cache)
    sys_hooks = {name: getattr(sys, name) for name in SYS_HOOKS}
    shell_lists = {name: list(getattr(shell, name)) for name in SHELL_LISTS}
    shell_attrs = {name: shell.__dict__[name] for name in SHELL_ATTRS if name in shell.__dict__}
    events = {name: list(cbs) for name, cbs in shell.events.callbacks.items()}
    owners = [shell, shell.kernel] if getattr(shell, "kernel", None) is not None else [shell]
    owner_dicts = [(obj, dict(obj.__dict__)) for obj in owners]
    owner_classes = {
        cls: dict(cls.__dict__) for obj in owners for cls in type(obj).__mro__ if cls is not object
    }
    user_ns = shell.user_ns
    new_hmac, sha256 = hmac.new, hashlib.sha256
    settrace, setprofile = sys.settrace, sys.setprofile
    thread_settrace, thread_setprofile = threading.settrace, threading.setprofile
    restore_mapping, setattr_, getattr_, delattr_ = _restore_mapping, setattr, getattr, delattr
    isinstance_ = isinstance
    sys_modules, vars_, list_, function_type = sys.modules, vars, list, types.FunctionType
    gc_enable = gc.enable
    origins = origin.make_origin_check(own, instructor, shell.transform_cell)
    repr_, tuple_ = repr, tuple

    def guard(challenge: str) -> str:
        settrace(None)
        setprofile(None)
        thread_settrace(None)
        thread_setprofile(None)
        gc_enable()
        restore_mapping(vars_(builtins), builtins_dict, drop_added=True)
        for name, module in modules.items():
            sys_modules[name] = module
            restore_mapping(vars_(module), module_dicts[name], drop_added=False)
        for name in [n for n in sys_modules if n.startswith("rmcourse.") and n not in modules]:
            del sys_modules[name]  # imported since the snapshot: the next import is pristine
        for fn, (code, defaults, kwdefaults) in functions.items():
            if fn.__code__ is not code:
                fn.__code__ = code
            if fn.__defaults__ is not defaults:
                fn.__defaults__ = defaults
            if fn.__kwdefaults__ is not kwdefaults:
                fn.__kwdefaults__ = kwdefaults
        for cls, saved in list_(classes.items()) + list_(owner_classes.items()):
            current = cls.__dict__
            for attr, value in saved.items():
                if current.get(attr, guard) is not value and attr not in ("__dict__", "__doc__"):
                    setattr_(cls, attr, value)
            if cls in classes:  # e.g. torch.Tensor.__eq__ added over the inherited C method
                for attr in [a for a in current if a not in saved]:
                    delattr_(cls, attr)
        for name, (current, _) in zip(IMPORT_LISTS, import_lists[: len(IMPORT_LISTS)], strict=True):
            setattr_(sys, name, current)  # the list object itself, then its contents
        for current, saved in import_lists:
            current[:] = saved
        sys.path_importer_cache = importer_cache
        restore_mapping(importer_cache, importer_cache_saved, drop_added=True)
        for name, value in sys_hooks.items():
            setattr_(sys, name, value)
        for name, saved in shell_lists.items():
            getattr_(shell, name)[:] = saved
        for name, value in shell_attrs.items():
            shell.__dict__[name] = value
        shell.events.callbacks.clear()
        shell.events.callbacks.update({name: list_(cbs) for name, cbs in events.items()})
        for obj, saved in owner_dicts:
            for attr in [a for a in obj.__dict__ if a not in saved]:
                if isinstance_(getattr_(type(obj), attr, None), function_type):
                    del obj.__dict__[attr]
        user_ns["__builtins__"] = builtins
        user_ns["_grader"] = make_checks()
        spec = challenge.partition(":")[2]
        names, _, forbidden = spec.partition(";")
        report = origins(
            user_ns,
            tuple_(n for n in names.split(",") if n),
            tuple_(n for n in forbidden.split(",") if n),
        )
        if not report:
            return new_hmac(key, challenge.encode(), sha256).hexdigest()
        text = repr_(tuple_(report))
        signed = new_hmac(key, (challenge + "\n" + text).encode(), sha256).hexdigest()
        return signed + "\n" + text

    return guard
