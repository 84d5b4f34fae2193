"""The box a student's kernel runs in: Linux namespaces, no root needed.

The kernel sees the system and the Python environment read-only, its own scratch folder and its
private socket folder read-write, a fresh ``/tmp``, ``/dev`` and ``/proc``, and nothing else; it
has no network (not even the host's loopback) and every process it starts dies with it. Two ways
to build it, in this order (``benchmarks/README.md`` has the start costs): bubblewrap (``bwrap``),
else util-linux ``unshare`` with this file as the box's first process (``python -I -S box.py
SPEC -- COMMAND``: it mounts the box's root, then execs the kernel). What the box defends, and
what not: ``docs/grading.md``.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import json
import os
import platform
import shutil
import site
import subprocess
import sys
import tempfile
from pathlib import Path

BUBBLEWRAP, UNSHARE = "bubblewrap", "unshare"
KINDS = (BUBBLEWRAP, UNSHARE)
NO_BOX = "none"  # recorded in the gradebook for a submission graded with --no-sandbox
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
# Files of /etc the environment never needs and that a grader running as root could read.
SECRETS = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/sudoers")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# Environment variables the kernel keeps; every other one (tokens, JPY_PARENT_PID) is dropped.
KEPT_ENV = ("PATH", "LANG", "LANGUAGE", "TZ", "PYTHONPATH", "PYTHONHASHSEED", *THREAD_VARIABLES,
            "CUDA_VISIBLE_DEVICES")  # fmt: skip
HOME = "/tmp/home"  # the kernel's ~, on the box's own /tmp
REFUSAL = (
    "rmcourse grade: no box for student kernels can be made on this machine ({why}): install "
    "bubblewrap (apt-get install bubblewrap), or run the grader in a container, or pass "
    "--no-sandbox to grade with student code running as you"
)


class BoxUnavailableError(RuntimeError):
    """No box can be made on this machine (the message is one line saying what to do)."""


def _works(command: list[str]) -> bool:
    try:
        done = subprocess.run(command, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@functools.cache
def usable(kind: str) -> bool:
    """Whether a box of ``kind`` can be made here (a trial run of ``true`` in one)."""
    if not sys.platform.startswith("linux") or kind not in KINDS:
        return False
    if not shutil.which("bwrap" if kind == BUBBLEWRAP else "unshare"):
        return False
    with tempfile.TemporaryDirectory(prefix="rmcourse-box-") as folder:
        return _works(wrap(kind, ["true"], Path(folder), Path(folder)))


def available() -> tuple[str | None, str]:
    """(the best box this machine can make, or None; why not, when None).

    Examples
    --------
    >>> kind, why = available()
    >>> kind in KINDS or why != ""
    True
    """
    if not sys.platform.startswith("linux"):
        return None, f"{sys.platform} has no Linux namespaces"
    for kind in KINDS:
        if usable(kind):
            return kind, ""
    found = "bwrap fails" if shutil.which("bwrap") else "no bwrap"
    return None, f"{found}, and unprivileged user namespaces are not available"


def resolve(kind: str | None) -> str | None:
    """``kind`` checked: "auto" is the best available box; None means no box (--no-sandbox)."""
    if kind is None:
        return None
    if kind == "auto":
        best, why = available()
        if best is None:
            raise BoxUnavailableError(REFUSAL.format(why=why))
        return best
    if kind not in KINDS:
        raise ValueError(f"box must be 'auto', None or one of {KINDS}, got {kind!r}")
    return kind


def remove_tree(path: Path) -> str:
    """Remove ``path`` and everything under it, however deep and whatever its modes: coreutils'
    ``chmod -R`` and ``rm -rf`` walk a tree with file descriptors, not recursion (a student's
    5,000 nested folders made ``shutil.rmtree`` raise ``RecursionError``), and never follow a
    link. Returns "" when it is gone, else a line saying what is left, for the log."""
    path = Path(path)
    if not os.path.lexists(path):
        return ""
    if path.is_symlink() or not path.is_dir():
        path.unlink()
        return ""
    for command in (["chmod", "-R", "u+rwx", "--", str(path)], ["rm", "-rf", "--", str(path)]):
        try:
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=600, check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{path} was not removed: {type(exc).__name__}: {exc}"
    return f"{path} was not removed: rm -rf left it" if os.path.lexists(path) else ""


def _package_dir() -> Path:
    spec = importlib.util.find_spec("rmcourse")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def _environment() -> list[str]:
    """Host paths the kernel needs read-only: the Python prefixes and site-packages, the other
    ``sys.path`` folders and the rmcourse package folder; of those, never one inside, or
    holding, the home, the working directory or rmcourse's checkout (an editable install's
    repository root also holds solutions/, and its tests/ or benchmarks/ may be on sys.path)."""
    package = _package_dir()
    prefixes = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    prefixes += [*site.getsitepackages(), str(Path(sys.executable).resolve().parent)]
    if site.ENABLE_USER_SITE and site.getusersitepackages() in sys.path:
        prefixes.append(site.getusersitepackages())
    roots = [Path(p).resolve() for p in prefixes if p and os.path.exists(p)]
    guarded = [Path.home().resolve(), Path.cwd().resolve()]
    if package.parent not in roots:
        guarded.append(package.parent)

    def near_guarded(path: Path) -> bool:
        return any(path == g or g in path.parents or path in g.parents for g in guarded)

    paths = [package] + [r for r in roots if not any(r == g or r in g.parents for g in guarded)]
    for entry in sys.path:
        if not entry or not os.path.exists(entry):
            continue
        path = Path(entry).resolve()
        if not any(r == path or r in path.parents for r in roots) and not near_guarded(path):
            paths.append(path)
    kept: list[str] = []
    for path in sorted(set(paths), key=lambda p: len(p.parts)):
        if not any(Path(k) == path or Path(k) in path.parents for k in kept):
            kept.append(str(path))
    return kept


def kernel_pythonpath() -> str:
    """The kernel's ``PYTHONPATH``: the folder holding the grader's rmcourse first, then the
    grader's own ``PYTHONPATH``. The kernel then imports the package the grader runs (and the
    box shows) even where the grader found it by its working folder or an editable install's
    import hook; in the box that folder holds nothing but the package."""
    entries = [str(_package_dir().parent), *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
    return os.pathsep.join(dict.fromkeys(e for e in entries if e))


def kernel_threads() -> dict[str, str]:
    """The thread counts a kernel gets beyond the grader's environment: one compute thread for
    torch's and NumPy's libraries where that environment sets none of :data:`THREAD_VARIABLES`
    to a value (any it sets reaches the kernel as it is, and no other is added).

    The exercises' models are small enough that their training is fastest on one thread, and
    the kernels graded side by side (``--jobs``, by default one per CPU) then share the cores
    instead of crowding them with waiting threads.
    """
    if any(os.environ.get(name, "").strip() for name in THREAD_VARIABLES):
        return {}
    return dict.fromkeys(THREAD_VARIABLES, "1")


def _environment_variables() -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if k in KEPT_ENV or k.startswith("LC_")}
    kept = {**kept, **kernel_threads()}  # after: where it sets any, it sets them over empty ones
    return {**kept, "PYTHONPATH": kernel_pythonpath(), "HOME": HOME, "TMPDIR": "/tmp"}


def _bubblewrap(command: list[str], readable: list[str], writable: list[str]) -> list[str]:
    args = [
        "bwrap",
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--cap-drop",
        "ALL",
    ]
    for name, value in _environment_variables().items():
        args += ["--setenv", name, value]
    # The fresh /tmp first: a read-only path under the host's /tmp (a checkout and its .venv
    # there) is bound on top of it, not hidden by it.
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for path in [*SYSTEM, *readable]:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            args += ["--ro-bind", path, path]
    for path in SECRETS:
        if os.path.isfile(path):
            args += ["--ro-bind", "/dev/null", path]
    args += ["--dir", HOME]
    for path in writable:
        args += ["--bind", path, path]
    return args + ["--remount-ro", "/", "--chdir", writable[0] if writable else "/", *command]


def _unshare(command: list[str], spec: dict) -> list[str]:
    spec = {**spec, "env": _environment_variables()}
    return [
        "unshare", "--user", "--map-root-user", "--mount", "--net", "--pid", "--ipc", "--uts",
        "--fork", "--kill-child", "--", sys.executable, "-I", "-S", __file__, json.dumps(spec),
        "--", *command,
    ]  # fmt: skip


def wrap(kind: str, command: list[str], scratch: Path, private: Path) -> list[str]:
    """``command`` (a kernel's) wrapped in a box of ``kind``, working in ``scratch``.

    ``scratch`` (the submission's copy) and ``private`` (the kernel's socket folder, its
    connection file) are the only host folders it can write; ``private`` must be empty but
    for them, as the ``unshare`` box builds its root in ``private/root``.
    """
    writable = [str(Path(scratch).resolve()), str(Path(private).resolve())]
    readable = _environment()
    if kind == BUBBLEWRAP:
        return _bubblewrap(command, readable, writable)
    root = Path(private).resolve() / "root"
    root.mkdir(exist_ok=True)
    spec = {"readable": [*SYSTEM, *readable], "writable": writable, "root": str(root)}
    return _unshare(command, spec)


# --- the unshare box's first process: mounts, then exec of the kernel ----------------------
MS_RDONLY, MS_NOSUID, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 32, 4096, 16384, 1 << 18
MNT_DETACH, CLONE_NEWUSER = 2, 0x10000000
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "arm64": 41}  # the call's number per machine


def _mount(libc: ctypes.CDLL, source: str | None, target: str, kind: str | None, flags: int):
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    if libc.mount(enc(source), enc(target), enc(kind), flags, None) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


def _bind(libc: ctypes.CDLL, path: str, writable: bool) -> None:
    source = "/oldroot" + path
    if os.path.islink(source):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(os.readlink(source), path)
        return
    if not os.path.exists(source):
        return
    if os.path.isdir(source):
        os.makedirs(path, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "a").close()
    _mount(libc, source, path, None, MS_BIND | (0 if writable else MS_REC))
    if not writable:
        _mount(libc, None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)


def _enter(spec: dict, command: list[str]) -> None:
    """Build the box's root in ``spec["root"]``, pivot into it and exec ``command``."""
    libc = ctypes.CDLL(None, use_errno=True)
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    root = spec["root"]
    _mount(libc, "tmpfs", root, "tmpfs", 0)
    os.mkdir(f"{root}/oldroot")
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None or libc.syscall(number, root.encode(), f"{root}/oldroot".encode()) != 0:
        raise OSError(ctypes.get_errno(), f"pivot_root failed on {platform.machine()}")
    os.chdir("/")
    for path in ("/proc", "/dev/shm", "/tmp"):
        os.makedirs(path, exist_ok=True)
    _mount(libc, "proc", "/proc", "proc", 0)
    _mount(libc, "tmpfs", "/dev/shm", "tmpfs", 0)
    _mount(libc, "tmpfs", "/tmp", "tmpfs", 0)  # first: read-only paths under /tmp go on top
    for path in spec["readable"]:
        _bind(libc, path, writable=False)
    for path in SECRETS:
        if os.path.isfile(path):
            _mount(libc, "/oldroot/dev/null", path, None, MS_BIND)
    os.makedirs(HOME, exist_ok=True)
    for device in DEVICES:
        _bind(libc, device, writable=True)
    for path in spec["writable"]:
        _bind(libc, path, writable=True)
    if libc.umount2(b"/oldroot", MNT_DETACH) != 0:
        raise OSError(ctypes.get_errno(), "umount of the host's root failed")
    os.rmdir("/oldroot")
    _mount(libc, None, "/", None, MS_REMOUNT | MS_RDONLY | MS_BIND)
    # A user namespace of its own: the kernel keeps no capability over the box's mounts.
    if libc.unshare(CLONE_NEWUSER) != 0:
        raise OSError(ctypes.get_errno(), "unshare of the user namespace failed")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text("0 0 1")
    Path("/proc/self/gid_map").write_text("0 0 1")
    os.chdir(spec["writable"][0] if spec["writable"] else "/")
    os.execvpe(command[0], command, spec["env"])


if __name__ == "__main__":
    _enter(json.loads(sys.argv[1]), sys.argv[3:])
