# The two commands of the README: `make run` and `make test`. Both set up what they
# need (a virtualenv in .venv with the project installed) on first use.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test test-sqlite test-postgresql lint bench-queue

$(VENV)/.run-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/.run-installed
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

## Run the whole service: web server, Celery worker and beat, with embedded defaults.
run: $(VENV)/.run-installed
	$(PY) -m ehrenamt.launch

## Run the tests on SQLite, then on PostgreSQL (needs PostgreSQL, Redis and Chromium;
## .ci/run installs and starts them on a fresh machine).
test: test-sqlite test-postgresql

test-sqlite: $(VENV)/.dev-installed
	EHRENAMT_TEST_DATABASE=sqlite $(PY) -m pytest $(PYTEST_ARGS)

test-postgresql: $(VENV)/.dev-installed
	EHRENAMT_TEST_DATABASE=postgresql $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check ehrenamt workers tests bench
	$(VENV)/bin/ruff format --check ehrenamt workers tests bench

## Benchmarks (see bench/README.md).
bench-queue: $(VENV)/.dev-installed
	$(PY) -m bench.queue
