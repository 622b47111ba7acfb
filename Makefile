# budget-sim: `make run` to try it, `make test` to check it. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HTMX := static/vendor/htmx.min.js
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint install dev-install vendor db dist clean

run: install vendor db  ## Set up and serve the default budget at http://127.0.0.1:8000
	$(BIN)/budget-sim serve --host $(HOST) --port $(PORT)

test: dev-install vendor  ## Install dev dependencies, lint, run the whole suite (browser tests included)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: dev-install
	$(BIN)/ruff check .

install: $(VENV)/.installed
dev-install: $(VENV)/.dev-installed
vendor: $(HTMX)

db: install
	$(BIN)/budget-sim db upgrade

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

$(HTMX): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $(HTMX)

dist: install vendor  ## Build the wheel (templates, static with htmx, budgets, migrations inside) into dist/
	rm -rf dist
	$(BIN)/python -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir dist .
	@ls dist/*.whl

clean:
	rm -rf $(VENV) node_modules static/vendor instance dist
