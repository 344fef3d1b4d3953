"""Every notebook's code cells run top to bottom (in smoke mode) without Jupyter."""

import json
import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_code_cells_run(notebook, monkeypatch):
    monkeypatch.setenv("KERASSSL_NOTEBOOK_SMOKE", "1")
    monkeypatch.setenv("KERASSSL_REPO", str(REPO_ROOT))
    namespace = {"__name__": "__main__"}
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        # Shell and magic lines (`!pip ...`, `%matplotlib`) are Colab set-up, not library code.
        source = "".join(
            line for line in cell["source"] if not line.lstrip().startswith(("!", "%"))
        )
        exec(compile(source, f"{notebook.name}", "exec"), namespace)  # noqa: S102
