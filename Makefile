# Two commands matter: `make run` (the site on http://127.0.0.1:8000, or PORT=, with nothing else running)
# and `make test` (the whole suite against a real PostgreSQL and Redis). See README.md.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# `make test` only. The test database URL is passed to Django as DATABASE_URL, so a
# DATABASE_URL in your shell never points the tests at your data.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cpukb
REDIS_URL ?= redis://127.0.0.1:6379/0
# `make run PORT=8001` when 8000 is taken.
PORT ?= 8000
PYTEST_ARGS ?=

# The stamps make pip run again only when pyproject.toml changes.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint format worker clean screenshots fuzz load architecture

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[dev]'
	touch $@ $(RUN_STAMP)

# Local development: DEBUG on, SQLite under var/ and tasks in-process unless you exported
# DATABASE_URL or REDIS_URL yourself (then those are used, and REDIS_URL needs `make worker`).
run: export DEBUG = 1
run: $(RUN_STAMP)
	$(BIN)/python manage.py migrate --noinput
	if $(BIN)/python manage.py help seed_catalog >/dev/null 2>&1; then \
		$(BIN)/python manage.py seed_catalog; \
	fi
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# DEBUG stays off so the tests see production-shaped settings; the key is a test-only value.
test: $(DEV_STAMP)
	$(BIN)/python scripts/check_services.py \
		--database-url '$(TEST_DATABASE_URL)' --redis-url '$(REDIS_URL)'
	DEBUG=0 SECRET_KEY=test-only-not-secret \
		DATABASE_URL='$(TEST_DATABASE_URL)' REDIS_URL='$(REDIS_URL)' \
		$(BIN)/pytest $(PYTEST_ARGS)

# Full-page PNGs of the main pages into docs/screenshots/, taken by the browser tests
# (needs PostgreSQL, Redis and /usr/bin/chromium, like `make test`).
screenshots: $(DEV_STAMP)
	$(BIN)/python scripts/check_services.py \
		--database-url '$(TEST_DATABASE_URL)' --redis-url '$(REDIS_URL)'
	DEBUG=0 SECRET_KEY=test-only-not-secret CPUKB_SCREENSHOTS=1 \
		DATABASE_URL='$(TEST_DATABASE_URL)' REDIS_URL='$(REDIS_URL)' \
		$(BIN)/pytest tests/e2e -q

# Every parser fuzzed with random bytes and mutated real dumps at 50x the unit tests' budget.
fuzz: $(DEV_STAMP)
	DEBUG=1 CPUKB_FUZZ_EXAMPLES=20000 $(BIN)/pytest tests/cpuid/test_errors.py -q -k "random_bytes or mutated"

# HTTP load on gunicorn + PostgreSQL (docs/performance.md); LOAD_DATABASE_URL is created and
# seeded when missing, and kept for the next run.
LOAD_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cpukb_load
load: $(DEV_STAMP)
	$(BIN)/python bench/load.py --database-url '$(LOAD_DATABASE_URL)'

# The diagrams of docs/architecture.md, redrawn from the imports (standard library only;
# tests/kbsite/test_architecture_doc.py fails while they are out of date).
architecture:
	$(PYTHON) scripts/architecture.py

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# A Celery worker for `make run` with REDIS_URL exported (same database as `make run`).
worker: export DEBUG = 1
worker: $(RUN_STAMP)
	REDIS_URL='$(REDIS_URL)' $(BIN)/celery -A kbsite worker --beat --loglevel=INFO

clean:
	rm -rf $(VENV) staticfiles
