# Kaifang — make demo | make test | make lint | make bench
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo install test test-pg test-browser lint bench messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	KAIFANG_ENVIRONMENT=demo $(BIN)/kaifang demo --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/pytest -q -m "not browser" -n 2 $(PYTEST_ARGS)

test-pg: $(STAMP)
	@test -n "$$KAIFANG_TEST_DATABASE_URL" || { echo "set KAIFANG_TEST_DATABASE_URL"; exit 2; }
	$(BIN)/pytest -q -m "not browser" -n 2 $(PYTEST_ARGS)

test-browser: $(STAMP)
	$(BIN)/pytest -q -m browser -p no:xdist $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	mkdir -p var && rm -f var/alembic-check.db
	$(BIN)/alembic upgrade head >/dev/null
	$(BIN)/alembic check

bench: $(STAMP)
	$(BIN)/python -m bench.run

# Re-extract translatable strings; untranslated ones are listed by tests/unit/test_translations.py.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ --no-location -o var/messages.pot .

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
