"""The notebooks' shared header (Colab badge + setup cell), and their full re-execution.

    .venv/bin/python tools/notebooks.py execute            # every notebook, full run, in place
    .venv/bin/python tools/notebooks.py execute quickstart # one notebook
    .venv/bin/python tools/notebooks.py sync-headers       # rewrite badges and setup cells

Every notebook opens with a markdown cell whose first line is the "Open in Colab" badge and a
setup code cell; both are generated here from `GITHUB_REPOSITORY`, the one place that names
the GitHub repository (`tests/test_notebooks.py` checks the notebooks agree with it). The
setup cell finds the repository by walking up from the notebook's folder (Jupyter runs a
kernel in the notebook's folder), or in Colab clones and installs it, and says what to
install when kerasssl or the `notebooks` extra is missing.
"""

import argparse
import os
import pathlib
import resource
import sys
import time

# Placeholder: the project has no public GitHub home yet. Change it here, then run
# `tools/notebooks.py sync-headers` to update every badge and clone URL.
GITHUB_REPOSITORY = "kerasssl/kerasssl"

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
SMOKE_VARIABLE = "KERASSSL_NOTEBOOK_SMOKE"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
# A full run of the slowest notebook (DivideMix, four 60-epoch runs) takes 16 minutes of
# CPU time (35 minutes beside other jobs on 2 cores); the limit only stops a hung cell.
CELL_TIMEOUT_SECONDS = 3600

SETUP_CELL = '''\
# Setup: finds the kerasssl repository (in Colab: clones and installs it) and checks that
# kerasssl and the `notebooks` extra (matplotlib) are importable.
import importlib.util
import os
import pathlib
import subprocess
import sys

GITHUB_REPOSITORY = "{github_repository}"  # placeholder name, see tools/notebooks.py
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up log lines
IN_COLAB = "google.colab" in sys.modules
# {smoke_variable}=1 shrinks every run to seconds (what the test suite executes).
SMOKE = os.environ.get("{smoke_variable}") == "1"


def find_repo(start):
    """`start` or the nearest folder above it holding kerasssl's sources; None if none (never /)."""
    for folder in (start, *start.parents):
        if folder == folder.parent:  # the filesystem root is never the repository
            return None
        if (folder / "recipes").is_dir() and (folder / "kerasssl" / "__init__.py").is_file():
            return folder
    return None


REPO = find_repo(pathlib.Path(os.environ.get("KERASSSL_REPO", os.getcwd())).resolve())
if REPO is None and IN_COLAB:
    REPO = pathlib.Path("/content/kerasssl")
    if not REPO.is_dir():
        url = f"https://github.com/{{GITHUB_REPOSITORY}}.git"
        subprocess.run(["git", "clone", "--depth=1", url, str(REPO)], check=True)
if REPO is None:
    raise FileNotFoundError(
        f"no kerasssl repository at or above {{os.getcwd()}} (nor at $KERASSSL_REPO): clone it "
        f"(git clone https://github.com/{{GITHUB_REPOSITORY}}.git) and open this notebook from "
        "its notebooks/ folder, or set KERASSSL_REPO to the clone."
    )
missing = [name for name in ("kerasssl", "matplotlib") if importlib.util.find_spec(name) is None]
if missing and IN_COLAB:
    gpu = pathlib.Path("/dev/nvidia0").exists()
    if not gpu and importlib.util.find_spec("tensorflow") is not None:
        # Colab's `tensorflow` and `tensorflow-cpu` would share one folder: keep one.
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "-q", "-y", "tensorflow"])
    extras = "gpu,notebooks" if gpu else "cpu,notebooks"
    pip = [sys.executable, "-m", "pip", "install", "-q", "-e", f"{{REPO}}[{{extras}}]"]
    subprocess.run(pip, check=True)
    print("Installed kerasssl; restarting the session so the new TensorFlow and NumPy load.")
    print("When Colab has reconnected, run all cells again (this cell then takes a second).")
    os.kill(os.getpid(), 9)  # Colab restarts a kernel that exits
if missing:
    raise ModuleNotFoundError(
        f"{{' and '.join(missing)}} not importable from {{sys.executable}}: install kerasssl "
        f"with its notebooks extra, `pip install -e '{{REPO}}[cpu,notebooks]'` (or `make "
        "install` in the repository, which includes it), then restart the kernel."
    )
print(f"kerasssl repository: {{REPO}}")
print(f"smoke mode: {{SMOKE}}")
'''


def colab_url(name):
    return (
        f"https://colab.research.google.com/github/{GITHUB_REPOSITORY}/blob/main/notebooks/"
        f"{name}.ipynb"
    )


def badge_line(name):
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(name)})"


def setup_cell_source():
    return SETUP_CELL.format(
        github_repository=GITHUB_REPOSITORY, smoke_variable=SMOKE_VARIABLE
    ).rstrip("\n")


def notebook_paths(names=()):
    paths = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    if names:
        known = {path.stem: path for path in paths}
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise SystemExit(f"error: no notebook named {unknown}; notebooks: {sorted(known)}")
        paths = [known[name] for name in names]
    return paths


def header_problems(notebook, name):
    """What differs between a notebook's first two cells and the generated header."""
    cells = notebook.cells
    problems = []
    if len(cells) < 2 or cells[0].cell_type != "markdown" or cells[1].cell_type != "code":
        return ["the first cells must be the badge (markdown) and the setup cell (code)"]
    if cells[0].source.splitlines()[0] != badge_line(name):
        problems.append(f"cell 1 must start with the badge line {badge_line(name)!r}")
    if cells[1].source != setup_cell_source():
        problems.append("cell 2 is not the setup cell of tools/notebooks.py")
    return problems


def sync_headers(paths):
    import nbformat

    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        lines = notebook.cells[0].source.splitlines()
        if lines and "colab-badge" in lines[0]:
            lines = lines[1:]
        notebook.cells[0].source = "\n".join([badge_line(path.stem), *lines])
        if notebook.cells[1].source != setup_cell_source():
            notebook.cells[1].source = setup_cell_source()
            notebook.cells[1].outputs = []
        nbformat.write(notebook, path)
        print(f"{path.name}: header synced")


def execute(path, smoke=False, timeout=CELL_TIMEOUT_SECONDS, output_path=None):
    """Runs every cell of `path` in a fresh kernel started in the notebook's folder.

    Writes the executed notebook to `output_path` (None: nowhere) and returns it with the
    wall time and the kernel's CPU time in seconds (on a shared machine the CPU time says more
    than the wall time). A cell error raises `nbclient.exceptions.CellExecutionError`.
    """
    import jupyter_client
    import nbclient
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager

    notebook = nbformat.read(path, as_version=4)
    previous = os.environ.get(SMOKE_VARIABLE)
    # The kernel inherits this process's environment.
    os.environ[SMOKE_VARIABLE] = "1" if smoke else "0"
    start = time.perf_counter()
    cpu_start = _finished_children_cpu_seconds()
    try:
        # The kernel runs this interpreter (ipykernel's native spec), never a "python3"
        # kernelspec of another environment that a user folder may hold.
        manager = jupyter_client.AsyncKernelManager(
            kernel_name="python3",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[], ensure_native_kernel=True),
        )
        client = nbclient.NotebookClient(
            notebook,
            km=manager,
            timeout=timeout,
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute(cleanup_kc=True)  # shut the kernel down: `km` was given, not owned
    finally:
        if previous is None:
            os.environ.pop(SMOKE_VARIABLE)
        else:
            os.environ[SMOKE_VARIABLE] = previous
    seconds = time.perf_counter() - start
    # The kernel has exited and been reaped by now (cleanup_kc), so its CPU time is counted.
    cpu_seconds = _finished_children_cpu_seconds() - cpu_start
    drop_tensorflow_log_lines(notebook)
    if output_path is not None:
        nbformat.write(notebook, output_path)
    return notebook, seconds, cpu_seconds


def _finished_children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def drop_tensorflow_log_lines(notebook):
    """Removes from the stderr outputs the TensorFlow C++ lines the `kerasssl` command hides.

    They reach the kernel's file descriptor 2 directly (the oneDNN notice, absl's banner, the
    harmless use_unbounded_threadpool error; see `kerasssl.tensorflow_logs`) and say nothing
    about the notebook. Real errors are kept.
    """
    from kerasssl.tensorflow_logs import keep_line

    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            if output.output_type == "stream" and output.name == "stderr":
                lines = output.text.splitlines(keepends=True)
                output.text = "".join(line for line in lines if keep_line(line.encode()))
                if not output.text:
                    continue
            outputs.append(output)
        cell.outputs = outputs


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("execute", help="run notebooks in full and store their outputs")
    run.add_argument("names", nargs="*", help="notebook names without .ipynb (default: all)")
    run.add_argument("--smoke", action="store_true", help="smoke mode, outputs not stored")
    sync = commands.add_parser("sync-headers", help="rewrite badges and setup cells")
    sync.add_argument("names", nargs="*")
    arguments = parser.parse_args(argv)
    paths = notebook_paths(arguments.names)
    if arguments.command == "sync-headers":
        sync_headers(paths)
        return
    for path in paths:
        output = None if arguments.smoke else path
        _, seconds, cpu_seconds = execute(path, smoke=arguments.smoke, output_path=output)
        mode = " in smoke mode" if arguments.smoke else ""
        print(f"{path.name}: executed{mode} in {seconds:.0f} s ({cpu_seconds:.0f} s of kernel CPU)")


if __name__ == "__main__":
    main(sys.argv[1:])
