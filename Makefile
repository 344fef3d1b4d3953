# Two commands for a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The lock pins every transitive version so a fresh install is reproducible.
STAMP := $(VENV)/.installed

.PHONY: install demo test test-slow lint clean

$(STAMP): pyproject.toml requirements-lock.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "kerasssl needs Python >= 3.11 (set PYTHON=python3.11)"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements-lock.txt -e '.[cpu,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/kerasssl train --config=recipes/supervised_digits.py --workdir=runs/demo

test: install
	$(PY) -m pytest -q

test-slow: install
	$(PY) -m pytest -q --run-slow

lint: install
	$(VENV)/bin/ruff check kerasssl tests recipes tools

clean:
	rm -rf $(VENV) runs .pytest_cache
