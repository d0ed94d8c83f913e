# Quick start: `make run` scores the bundled sample month; `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MONTH ?= 2025-03

.PHONY: run test lint typecheck unit sample docs bench clean

$(BIN)/kpi: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: $(BIN)/kpi
	$(BIN)/kpi score --month $(MONTH)

test: lint typecheck unit

lint: $(BIN)/kpi
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/kpi
	$(BIN)/mypy

unit: $(BIN)/kpi
	$(BIN)/pytest

sample: $(BIN)/kpi
	$(BIN)/python sample_data/generate.py

# The README's picture of the HTML report, from the current code (needs chromium).
docs: $(BIN)/kpi
	$(BIN)/python docs/make_screenshot.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Benchmark (not part of `make test`): kpi score vs a DuckDB SQL query vs the read-only floor,
# with a check that kpi's numbers agree with DuckDB's. See bench/README.md.
BENCH_CASES ?= 1000000
BENCH_FORMATS ?= parquet,csv
BENCH_RUNS ?= 7

bench: $(BIN)/kpi
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/generate.py --cases $(BENCH_CASES) --formats $(BENCH_FORMATS)
	$(BIN)/python bench/run.py --cases $(BENCH_CASES) --formats $(BENCH_FORMATS) --runs $(BENCH_RUNS)
