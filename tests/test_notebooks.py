"""Running lessons: refresh in place (the course build is tested in test_site.py)."""

import nbformat
import pytest

from rmcourse.notebooks import refresh

pytestmark = pytest.mark.kernel


def _write(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nbformat.write(nb, path)
    return path


def test_refresh_executes_in_order_from_the_notebooks_folder(tmp_path):
    (tmp_path / "data.txt").write_text("forty-two")
    path = _write(tmp_path / "01_a.ipynb", "x = 6 * 7", "print(x, open('data.txt').read())")
    refresh([path])
    nb = nbformat.read(path, as_version=4)
    assert [cell.execution_count for cell in nb.cells] == [1, 2]
    assert nb.cells[1].outputs[0].text == "42 forty-two\n"
    assert nb.metadata.kernelspec.name == "python3"
