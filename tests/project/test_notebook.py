"""train.ipynb runs top to bottom on the embedded history, and is committed clean."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOK = ROOT / "train.ipynb"


def test_notebook_is_committed_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "the notebook has no code"
    for cell in code:
        assert cell.outputs == [], "clear the outputs before committing"
        assert cell.execution_count is None, "clear the execution counts before committing"


@pytest.mark.slow
def test_notebook_runs_top_to_bottom(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    parameters = notebook.cells[1].source
    assert 'SOURCE = "embedded"' in parameters  # offline by default
    # A failing cell raises CellExecutionError and fails the test; the timeout bounds each cell.
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    markdown = "\n".join(o.data["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {}))
    # The conclusions are formatted from computed numbers, so they name the models and the measured ratios.
    for phrase in (
        "plain Prophet",
        "the service anchors Prophet",
        "Kruskal–Wallis",
        "Augmented Dickey–Fuller",
        "× the naive",
    ):
        assert phrase in markdown
    plots = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(plots) >= 6
    nbformat.write(notebook, tmp_path / "executed.ipynb")  # kept for a look when the test fails
