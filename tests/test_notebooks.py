"""Every cookbook notebook runs top to bottom without error (nbclient, offline).

Parametrized by file, so a notebook added to ``cookbooks/`` is picked up without touching
this module. Each runs in its own temporary working directory with
``$MEM_INTEGRATIONS_URI`` pointing there, so nothing is written into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="pip install nbformat nbclient ipykernel")
nbclient = pytest.importorskip("nbclient", reason="pip install nbformat nbclient ipykernel")
pytest.importorskip("ipykernel", reason="pip install ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "cookbooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 300


def test_notebooks_are_saved_without_outputs() -> None:
    dirty = [
        nb.name
        for nb in NOTEBOOKS
        for cell in nbformat.read(nb, as_version=4).cells
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count)
    ]
    assert not dirty, f"clear outputs before committing: {sorted(set(dirty))}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEM_INTEGRATIONS_URI", str(tmp_path / "store"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
        allow_errors=False,
    )
    client.execute(cwd=str(tmp_path), env=dict(os.environ))
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]  # fmt: skip
    assert not errors
    assert not list(tmp_path.glob("*.ipynb"))  # executed in memory, never saved
