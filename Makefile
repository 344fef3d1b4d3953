# Two commands for a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The lock pins every transitive version so a fresh install is reproducible.
STAMP := $(VENV)/.installed

.PHONY: install demo test test-long test-slow lint notebooks clean

$(STAMP): pyproject.toml setup.py requirements-lock.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "kerasssl needs Python >= 3.11 (set PYTHON=python3.11)"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements-lock.txt -e '.[cpu,dev]'
	touch $(STAMP)

install: $(STAMP)

# The demo keeps the lines that matter (the teacher's and each round's student's test accuracy,
# the run folder); pipefail keeps a failed run failing.
demo: install
	bash -o pipefail -c "$(VENV)/bin/kerasssl train --config=recipes/noisy_student_digits.py \
		--workdir=runs/demo | grep -E '^(teacher_test_accuracy|student_test_accuracy_per_round|test_accuracy|run folder)'"

# Both cores (pytest-xdist); a file's tests stay on one worker, so module fixtures are shared.
# Files go out in collection order, the heaviest first (tests/conftest.py: HEAVIEST_FILES).
PYTEST := $(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

test: install
	$(PYTEST)

# The long tier (every recipe's CLI smoke, every notebook's kernel run): CI runs it after `test`.
test-long: install
	$(PYTEST) --only-long

test-slow: install
	$(PYTEST) --run-slow

# Re-executes every notebook in full and stores its outputs (about 40 minutes of CPU time on 2
# cores; over an hour when other jobs share them);
# `tools/notebooks.py execute <name>` runs one.
notebooks: install
	$(PY) tools/notebooks.py execute

lint: install
	$(VENV)/bin/ruff check kerasssl tests recipes tools

clean:
	rm -rf $(VENV) runs .pytest_cache
