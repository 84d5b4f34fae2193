"""Running the lessons: execute a notebook headless, strip volatile metadata, write HTML.

Used by ``rmcourse course`` (all lessons to HTML under ``build/``) and by ``rmcourse refresh``
(``make notebooks``: re-execute the committed lessons in place after a library change). Knows
notebooks, not ML.
"""

from __future__ import annotations

import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import nbformat

# Cell metadata that changes on every run or every click, and is kept out of committed notebooks.
VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")
VOLATILE_NOTEBOOK_METADATA = ("widgets", "toc", "varInspector")
# A widget's view output refers to a model that lives only in a running kernel (or in saved widget
# state, which changes on every run): committed notebooks keep the plain-text/HTML forms instead.
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
# The HTML pages typeset their formulas with a MathJax copied beside them, not from a CDN, so the
# course reads offline.
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"  # a configuration that package ships


def clean_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove volatile metadata (timings, widget state, UI state) in place and return ``nb``.

    Outputs that display a widget view are dropped too: without the kernel or the saved state
    they would show "model not found".

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(metadata={"widgets": {"state": {}}})
    >>> view = nbformat.v4.new_output("display_data", data={WIDGET_VIEW_MIME: {"model_id": "a"}})
    >>> nb.cells.append(nbformat.v4.new_code_cell("1", metadata={"scrolled": True},
    ...                                           outputs=[view]))
    >>> nb = clean_notebook(nb)
    >>> "widgets" in nb.metadata, dict(nb.cells[0].metadata), nb.cells[0].outputs
    (False, {}, [])
    """
    for key in VOLATILE_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    nb.metadata.pop("language_info", None)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if WIDGET_VIEW_MIME not in o.get("data", {})]
            for output in cell.outputs:
                output.get("metadata", {}).pop("execution", None)
    return nb


def execute_notebook(
    path: Path, timeout: int = 600, store_widget_state: bool = False
) -> nbformat.NotebookNode:
    """Execute the notebook at ``path`` in a fresh kernel, run from the notebook's folder.

    Raises ``nbclient.exceptions.CellExecutionError`` naming the failing cell when a cell raises
    (cells tagged ``raises-exception`` may raise).
    """
    from jupyter_client import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    # Local sockets (IPC) rather than TCP: nothing listens on the network, and the kernel has
    # no reason to warn about unencrypted TCP on every start.
    with tempfile.TemporaryDirectory(prefix="rmcourse-kernel-") as sockets:
        manager = KernelManager(
            kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "kernel")
        )
        client = NotebookClient(
            nb,
            km=manager,
            timeout=timeout,
            resources={"metadata": {"path": str(Path(path).parent.resolve())}},
            store_widget_state=store_widget_state,
        )
        try:
            client.execute()
        finally:  # the client only shuts down kernels it made itself
            if manager.has_kernel:
                manager.shutdown_kernel()
    return nb


def refresh(paths: Sequence[Path], timeout: int = 600) -> None:
    """Re-execute each notebook in place and write it back without volatile metadata."""
    for path in paths:
        start = time.perf_counter()
        nb = clean_notebook(execute_notebook(Path(path), timeout=timeout))
        nbformat.validate(nb)
        nbformat.write(nb, path)
        print(f"executed {path} in {time.perf_counter() - start:.1f} s")


def build_course(notebook_dir: Path, out_dir: Path, timeout: int = 600) -> int:
    """Execute every lesson of ``notebook_dir`` headless and write each as HTML in ``out_dir``.

    The committed notebooks are not modified. Returns 0, or 1 when a lesson failed (the others
    are still built).
    """
    from nbconvert import HTMLExporter

    lessons = sorted(Path(notebook_dir).glob("[0-9]*.ipynb"))
    if not lessons:
        print(f"no lessons (NN_name.ipynb) found in {notebook_dir}", file=sys.stderr)
        return 1
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(mathjax_url=_copy_mathjax(out_dir))
    failed = []
    pages = []
    for path in lessons:
        start = time.perf_counter()
        try:
            nb = execute_notebook(path, timeout=timeout, store_widget_state=True)
        except Exception as exc:  # report every lesson, then fail
            failed.append(path.name)
            print(f"FAILED   {path.name}: {type(exc).__name__}: {str(exc)[-500:]}", file=sys.stderr)
            continue
        body, _ = exporter.from_notebook_node(nb)
        page = out_dir / (path.stem + ".html")
        page.write_text(body, encoding="utf-8")
        pages.append(page)
        print(f"built    {page}  ({time.perf_counter() - start:.1f} s)")
    _write_index(out_dir, pages)
    print(f"\nThe course is in {out_dir.resolve() / 'index.html'}")
    print(f"To work through it interactively: {jupyter_lab_command(notebook_dir)}")
    if failed:
        print(f"{len(failed)} lesson(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def jupyter_lab_command(notebook_dir: Path) -> str:
    """The shell command that opens ``notebook_dir`` in the JupyterLab of this interpreter.

    Examples
    --------
    >>> jupyter_lab_command(Path("notebooks")).endswith("-m jupyter lab notebooks")
    True
    """
    return shlex.join([sys.executable, "-m", "jupyter", "lab", str(notebook_dir)])


def _copy_mathjax(out_dir: Path) -> str:
    """Copy MathJax (from the jupyter_server_mathjax package) into ``out_dir``; its page URL."""
    import jupyter_server_mathjax

    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(static, out_dir / "mathjax", dirs_exist_ok=True)
    return f"mathjax/MathJax.js?config={MATHJAX_CONFIG}"


def _write_index(out_dir: Path, pages: Sequence[Path]) -> None:
    items = "\n".join(f'<li><a href="{p.name}">{p.stem.replace("_", " ")}</a></li>' for p in pages)
    html = (
        "<!doctype html><html><head><meta charset='utf-8'><title>rmcourse</title></head><body>"
        "<h1>The pair-wise ranking loss of RLHF reward models</h1>"
        f"<ol>{items}</ol></body></html>"
    )
    (out_dir / "index.html").write_text(html, encoding="utf-8")
