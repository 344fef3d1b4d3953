"""The notebooks: one generated header, stored outputs of a full run, and a smoke-mode execution.

Each notebook runs in a real Jupyter kernel (nbclient) with KERASSSL_NOTEBOOK_SMOKE=1; a cell
error fails the test with the cell's traceback, and so does a plot cell (one calling
`plt.show()`) that produced no image.
"""

import base64
import importlib.util
import json
import os
import pathlib
import re

import nbformat
import pytest

from kerasssl import recipe_catalog

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
# One per method.
EXPECTED = {
    "quickstart",
    "noisy_student",
    "meta_pseudo_labels",
    "divide_mix",
    "find_label_issues",
    "efficient_net_scaling",
    "fixmatch",
}
MAX_NOTEBOOK_BYTES = 1_000_000
MAX_PNG_BYTES = 150_000


# Loaded at import (not through the load_tool fixture): the parametrization below needs it.
tool = recipe_catalog.load_module(REPO_ROOT / "tools" / "notebooks.py")
by_name = pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])


def plot_cells(notebook):
    return [
        cell for cell in notebook.cells if cell.cell_type == "code" and "plt.show()" in cell.source
    ]


def pngs(cell):
    return [
        base64.b64decode(output.data["image/png"])
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]


def test_every_method_has_a_notebook():
    assert EXPECTED <= {path.stem for path in NOTEBOOKS}


@by_name
def test_header_is_the_generated_badge_and_setup_cell(path):
    notebook = nbformat.read(path, as_version=4)
    assert tool.header_problems(notebook, path.stem) == []
    assert tool.GITHUB_REPOSITORY in notebook.cells[0].source


@by_name
def test_stored_outputs_are_a_full_run_with_small_figures(path):
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES, "store smaller figures (dpi, figsize)"
    notebook = nbformat.read(path, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code_cells), "run every cell"
    outputs = [output for cell in code_cells for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    setup_text = "".join(output.get("text", "") for output in code_cells[0].outputs)
    assert "smoke mode: False" in setup_text, "store the outputs of a full run (make notebooks)"
    assert plot_cells(notebook), "every notebook shows at least one plot"
    for cell in plot_cells(notebook):
        images = pngs(cell)
        assert images, f"plot cell without a stored image:\n{cell.source[:200]}"
        assert all(len(image) < MAX_PNG_BYTES for image in images), [len(i) for i in images]


def run_setup_cell(monkeypatch, folder):
    monkeypatch.chdir(folder)
    namespace = {}
    exec(compile(tool.setup_cell_source(), "setup cell", "exec"), namespace)  # noqa: S102
    return namespace


def test_setup_cell_finds_the_repository_above_the_notebook(monkeypatch):
    monkeypatch.delenv("KERASSSL_REPO", raising=False)
    namespace = run_setup_cell(monkeypatch, REPO_ROOT / "notebooks")
    assert namespace["REPO"] == REPO_ROOT
    assert namespace["find_repo"](pathlib.Path("/")) is None


def test_setup_cell_outside_a_clone_says_to_clone_and_never_takes_root(monkeypatch, tmp_path):
    monkeypatch.delenv("KERASSSL_REPO", raising=False)
    clone = tmp_path / "clone"
    (clone / "recipes").mkdir(parents=True)
    (clone / "kerasssl").mkdir()
    (clone / "kerasssl" / "__init__.py").touch()
    (clone / "notebooks").mkdir()
    find_repo = run_setup_cell(monkeypatch, REPO_ROOT / "notebooks")["find_repo"]
    assert find_repo(clone / "notebooks") == clone
    assert find_repo(pathlib.Path("/")) is None
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    clone_command = re.escape(f"git clone https://github.com/{tool.GITHUB_REPOSITORY}.git")
    with pytest.raises(FileNotFoundError, match=clone_command):
        run_setup_cell(monkeypatch, outside)


def test_setup_cell_without_the_notebooks_extra_says_what_to_install(monkeypatch):
    monkeypatch.delenv("KERASSSL_REPO", raising=False)
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "matplotlib" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ModuleNotFoundError, match=r"matplotlib.*\[cpu,notebooks\]"):
        run_setup_cell(monkeypatch, REPO_ROOT / "notebooks")


def test_tensorflow_start_up_lines_are_dropped_and_the_rest_kept():
    cell = nbformat.v4.new_code_cell("import kerasssl")
    cell.outputs = [
        nbformat.v4.new_output(
            "stream",
            name="stderr",
            text="WARNING: All log messages before absl::InitializeLog() is called are written\n"
            "I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on.\n"
            "UserWarning: a real warning\n",
        ),
        nbformat.v4.new_output(
            "stream",
            name="stderr",
            text="E0000 00:00:1.0 1 node_def_util.cc:682] NodeDef mentions attribute "
            "use_unbounded_threadpool which is not in the op definition\n",
        ),
        nbformat.v4.new_output(
            "stream", name="stderr", text="E0000 00:00:1.0 1 cuda_dnn.cc:8] a real error\n"
        ),
        nbformat.v4.new_output("stream", name="stdout", text="I0000 is not stderr\n"),
    ]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    tool.drop_tensorflow_log_lines(notebook)
    assert [output.text for output in cell.outputs] == [
        "UserWarning: a real warning\n",
        "E0000 00:00:1.0 1 cuda_dnn.cc:8] a real error\n",
        "I0000 is not stderr\n",
    ]


# A kernel run takes 20-65 s on 2 cores: the long tier (--run-long; CI runs it). The default
# suite checks the notebooks' header, stored outputs and set-up cell above.
@pytest.mark.notebooks
@pytest.mark.long
@by_name
def test_notebook_runs_in_smoke_mode_and_every_plot_cell_draws(path, monkeypatch, tmp_path):
    monkeypatch.delenv("KERASSSL_REPO", raising=False)  # found from the notebook's folder
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the kernel's run folders (tempfile.mkdtemp)
    smoke_before = os.environ.get(tool.SMOKE_VARIABLE)
    notebook, _, _ = tool.execute(path, smoke=True)
    assert os.environ.get(tool.SMOKE_VARIABLE) == smoke_before
    setup_text = "".join(output.get("text", "") for output in notebook.cells[1].outputs)
    assert "smoke mode: True" in setup_text
    for cell in plot_cells(notebook):
        assert pngs(cell), f"plot cell produced no image:\n{cell.source[:200]}"


def test_notebooks_are_valid_json_with_a_python_kernel():
    for path in NOTEBOOKS:
        notebook = json.loads(path.read_text())
        nbformat.validate(nbformat.from_dict(notebook))
        assert notebook["metadata"]["kernelspec"]["name"] == "python3", path.name


def test_readme_lists_every_notebook_with_its_colab_link():
    readme = (REPO_ROOT / "README.md").read_text()
    for path in NOTEBOOKS:
        assert f"(notebooks/{path.name})" in readme, path.name
        assert f"({tool.colab_url(path.stem)})" in readme, path.name
