"""Running the lessons: execute a notebook headless, strip volatile metadata.

Used by ``rmcourse course`` (every lesson executed, then the course site built from them by
:mod:`rmcourse.site`) and by ``rmcourse refresh``
(``make notebooks``: re-execute the committed lessons in place after a library change). Knows
notebooks, not ML.
"""

from __future__ import annotations

import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import nbformat

# Cell metadata that changes on every run or every click, and is kept out of committed notebooks.
VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")
VOLATILE_NOTEBOOK_METADATA = ("widgets", "toc", "varInspector")
# A code cell with this tag shows the answer of a your-turn task asked above it: committed lessons
# keep it without outputs, so that opening a lesson shows no answer the student has not given.
# Its printed text moves to the cell's metadata (no notebook view shows it), where the test of the
# numbers quoted in <details> reveals reads it.
ANSWER_REVEAL_TAG = "answer-reveal"
REVEALED_KEY = "rmcourse_revealed_text"
# A widget's view output refers to a model that lives only in a running kernel (or in saved widget
# state, which changes on every run): committed notebooks keep the plain-text/HTML forms instead.
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"


def clean_notebook(nb: nbformat.NotebookNode, executed: bool = False) -> nbformat.NotebookNode:
    """Remove volatile metadata (timings, widget state, UI state) in place and return ``nb``.

    Outputs that display a widget view are dropped too: without the kernel or the saved state
    they would show "model not found". Cells tagged ``answer-reveal`` lose all their outputs:
    they show the answer of a task asked above them, which the student runs them to see. Their
    printed text (streams and plain-text results, not images) is kept in the cell's metadata under
    ``REVEALED_KEY``, which no notebook view displays, so that the numbers a ``<details>`` reveal
    quotes can still be checked against what the code printed. With ``executed=True`` (``nb`` was
    just run) the kept text is only what this run printed: a text kept from an earlier run goes.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(metadata={"widgets": {"state": {}}})
    >>> view = nbformat.v4.new_output("display_data", data={WIDGET_VIEW_MIME: {"model_id": "a"}})
    >>> nb.cells.append(nbformat.v4.new_code_cell("1", metadata={"scrolled": True},
    ...                                           outputs=[view]))
    >>> nb = clean_notebook(nb)
    >>> "widgets" in nb.metadata, dict(nb.cells[0].metadata), nb.cells[0].outputs
    (False, {}, [])
    >>> printed = nbformat.v4.new_output("stream", text="0.835685")
    >>> nb.cells.append(nbformat.v4.new_code_cell("print(loss)", outputs=[printed],
    ...                                           metadata={"tags": [ANSWER_REVEAL_TAG]}))
    >>> cell = clean_notebook(nb).cells[1]
    >>> cell.outputs, cell.metadata[REVEALED_KEY]
    ([], ['0.835685'])
    >>> REVEALED_KEY in clean_notebook(nb, executed=True).cells[1].metadata  # printed nothing
    False
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
        if executed:
            cell.metadata.pop(REVEALED_KEY, None)
        if cell.cell_type == "code" and ANSWER_REVEAL_TAG in cell.metadata.get("tags", []):
            if cell.outputs:  # a cell cleaned before keeps the text it had
                cell.metadata[REVEALED_KEY] = _printed_text(cell.outputs)
            cell.outputs = []
        elif cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if WIDGET_VIEW_MIME not in o.get("data", {})]
            for output in cell.outputs:
                output.get("metadata", {}).pop("execution", None)
    return nb


def _printed_text(outputs: Sequence[nbformat.NotebookNode]) -> list[str]:
    """The text of each run of stream outputs and of each plain-text result among ``outputs``.

    A kernel splits what a cell prints into stream outputs wherever it flushes, which varies
    from run to run: consecutive stream outputs are joined before the text is stripped.

    >>> chunks = [nbformat.v4.new_output("stream", text=t) for t in ("a: ", "1.5\\n", "b: 2\\n")]
    >>> _printed_text(chunks)
    ['a: 1.5\\nb: 2']
    """
    texts, stream = [], ""
    for output in outputs:
        text = output.get("text") or output.get("data", {}).get("text/plain", "")
        text = text if isinstance(text, str) else "".join(text)
        if output.get("output_type") == "stream":
            stream += text
            continue
        if stream.strip():
            texts.append(stream.strip())
        stream = ""
        if text.strip():
            texts.append(text.strip())
    if stream.strip():
        texts.append(stream.strip())
    return texts


def execute_notebook(path: Path, timeout: int = 600) -> nbformat.NotebookNode:
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
        nb = clean_notebook(execute_notebook(Path(path), timeout=timeout), executed=True)
        nbformat.validate(nb)
        nbformat.write(nb, path)
        print(f"executed {path} in {time.perf_counter() - start:.1f} s")


def jupyter_lab_command(notebook_dir: Path) -> str:
    """The command that opens ``notebook_dir`` in JupyterLab with this interpreter's Jupyter.

    Examples
    --------
    >>> jupyter_lab_command(Path("notebooks")).endswith(" lab notebooks")
    True
    """
    jupyter = Path(sys.executable).with_name("jupyter")
    prefix = [str(jupyter)] if jupyter.exists() else [sys.executable, "-m", "jupyter"]
    return shlex.join([*prefix, "lab", str(notebook_dir)])
