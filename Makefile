# budget-sim: `make run` to try it, `make test` to check it. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HTMX := static/vendor/htmx.min.js
HOST ?= 127.0.0.1
PORT ?= 8000
# Python dependencies, pinned with their hashes (from pyproject.toml by `make lock`): what the
# site runs on, and that plus the development tools.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
UV_VERSION := 0.13.9
LOCK_OPTIONS := --generate-hashes --universal --python-version 3.11 \
	--index-url https://pypi.org/simple --custom-compile-command "make lock" --quiet

.PHONY: run test lint install dev-install vendor db dist lock clean

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

$(VENV)/.installed: pyproject.toml $(LOCK)
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --require-hashes -r $(LOCK)
	$(PIP) install --no-deps -e .
	$(BIN)/python -m pip check  # a dependency added to pyproject.toml but not locked fails here
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed $(DEV_LOCK)
	$(PIP) install --require-hashes -r $(DEV_LOCK)
	touch $@

lock:  ## Re-resolve the Python dependencies (PyPI) into $(LOCK) and $(DEV_LOCK), with hashes
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile pyproject.toml $(LOCK_OPTIONS) -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --extra dev --constraint $(LOCK) $(LOCK_OPTIONS) -o $(DEV_LOCK)
	# uv writes no extras, but pip --require-hashes treats "fonttools[woff]" (asked for by
	# WeasyPrint) as a requirement of its own and refuses it unless the pin names the extra
	# (tests/test_lock_files.py finds any other such extra).
	sed -i -E 's/^fonttools==/fonttools[woff]==/' $(LOCK) $(DEV_LOCK)

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
