# Every target builds its own virtual environment from scratch when it is missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck scenarios docs bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## The service (HTTP API + scheduler) on the embedded SQLite store under ./var/
run: $(STAMP)
	mkdir -p var
	$(BIN)/seatledger serve --store sqlite:///var/seatledger.db

## Every test, on SQLite and on PostgreSQL, plus lint and type checks
test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy .

scenarios: $(STAMP)
	$(BIN)/seatledger scenario run ../shared/scenarios tests/scenarios

## The event catalog and the traceability matrix (docs/), generated from the code
docs: $(STAMP)
	$(BIN)/seatledger audit docs

## Benchmarks on PostgreSQL (not part of test): figures against baselines measured in the
## same run; writes bench/results.json, prints a table, fails when a target is missed
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache *.egg-info
