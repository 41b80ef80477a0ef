# Every target installs what it needs into .venv first, so each works on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?= -n 2 --durations=15

.PHONY: install test lint format bench docs demo clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	@# Bytecode once (~13 s): every step process of the tests starts from .pyc even where
	@# PYTHONDONTWRITEBYTECODE is set (halves the suite on a fresh machine). Kedro's project
	@# templates are not Python, so compileall reports them: that is expected.
	-$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null 2>&1
	touch $@

install: $(BIN)/.installed

test: install  ## the test suite (what CI runs)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install  ## print start-up, throughput, local-mode, compile, grouping and skip-unchanged ratios
	$(BIN)/uv pip install --quiet --python $(BIN)/python 'kedro-airflow>=0.11,<0.12'  # compared against; benchmark only
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/bench_store.py
	$(BIN)/python benchmarks/bench_local.py
	$(BIN)/python benchmarks/bench_compile.py
	$(BIN)/python benchmarks/bench_grouping.py
	$(BIN)/python benchmarks/bench_skip_unchanged.py

docs: install  ## regenerate the generated reference pages, build the site (strict) in site/
	$(BIN)/python -m kedro_argo.docgen docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

demo: install  ## compile the sample project and run it end to end on this machine
	cd examples/spaceflights && KEDRO_DISABLE_TELEMETRY=true ../../$(BIN)/kedro argo run-local

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info
