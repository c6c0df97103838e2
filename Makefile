# Two commands on a fresh machine:
#   make demo   create .venv, install loopml, run the demo
#   make test   install test dependencies and services (PostgreSQL, Prometheus), run ruff, mypy and pytest
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
PYTEST_ARGS ?=

.PHONY: demo test venv install install-dev services lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -U pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(PIP) install -e .
	touch $@

# torch first, pinned to the CPU build these machines keep on disk: an unpinned range would
# pull a multi-GB CUDA build.
$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PIP) install 'torch==2.13.0'
	$(PIP) install -e '.[dev]'
	touch $@

venv: $(BIN)/python
install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/loopml demo

services:
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-prometheus.sh

lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install-dev
	$(BIN)/mypy

pytest: install-dev services
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

test: lint typecheck pytest

bench: install-dev
	$(BIN)/python benchmarks/tracking.py
	$(BIN)/python benchmarks/drift.py --repeat 3
	$(BIN)/python benchmarks/pipelines.py --repeat 3
	$(BIN)/python benchmarks/models.py --repeat 5
	$(BIN)/python benchmarks/serving.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache loopml-demo*
