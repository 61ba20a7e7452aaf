# One command each for run, test, lint and bench. Everything installs into .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-unit test-integration test-browser lint bench install install-test

$(BIN)/handover: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

install: $(BIN)/handover

$(VENV)/.test-deps: $(BIN)/handover pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install-test: $(VENV)/.test-deps
	scripts/ensure-test-tools

run: install
	$(BIN)/handover serve

test: install-test
	$(BIN)/python -m pytest

# the tiers on their own (`make test` runs them all): in-process, real processes and Redis, Chromium
test-unit: install-test
	$(BIN)/python -m pytest tests/unit

test-integration: install-test
	$(BIN)/python -m pytest tests/integration tests/e2e

test-browser: install-test
	$(BIN)/python -m pytest tests/browser

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy handover webhooks graph workers app desk
	$(BIN)/lint-imports

bench: install-test
	$(BIN)/python -m bench
