# Shoal: `make run` starts the whole platform locally; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run test lint format bench events clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) -m shared.local

test: install
	$(PY) -m pytest -n 2 --dist loadfile

lint: install
	$(VENV)/bin/ruff check .

format: install
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) tests/bench/cold_start.py
	$(PY) tests/bench/list_latency.py
	$(PY) tests/bench/chat_ttfb.py
	$(PY) tests/bench/task_start.py

events: install
	$(PY) -m shared.events.catalogue

clean:
	rm -rf $(VENV) .pytest_cache
