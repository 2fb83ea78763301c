# Punchcard: build, run and test.
#
#   make run          migrate, load demo data on first start, serve on http://$(HOST):$(PORT)/ with a job
#                     worker and a once-a-minute tick (Ctrl-C stops all three)
#   make test         run the tests on SQLite, then on PostgreSQL (see scripts/test.sh)
#   make check        lint (ruff), format check and the layer contracts (import-linter); part of `make test`
#   make lock         recompile requirements/*.txt (fully pinned, with hashes) from requirements/*.in
#   make bench        benchmarks (bench-quick: a short run)
#   make fonts        install the receipt PDFs' fonts when missing (apt-get; part of `make run` and `make test`)
#   make clean        remove the virtualenv and build/test leftovers (never the data dir)
#
# Variables (set on the command line or in the environment):
#   PORT=8000                    port for `make run`
#   HOST=127.0.0.1               address for `make run`
#   PUNCHCARD_DATA=./var         data dir: SQLite database, collected static files
#   PYTEST_ARGS=                 extra pytest arguments, e.g. PYTEST_ARGS='-x -k redeem'
#   DBS=sqlite,postgres          databases `make test` runs against ("sqlite" to skip PostgreSQL)
#   PUNCHCARD_TEST_POSTGRES=postgresql://postgres@127.0.0.1:5432/test   server for the PostgreSQL run
#   CI=true                      make an unreachable PostgreSQL a test failure instead of a skip
#   PYTHON=python3.11            interpreter for a new virtualenv (falls back to python3)

PORT ?= 8000
HOST ?= 127.0.0.1
PUNCHCARD_DATA ?= $(CURDIR)/var
DBS ?= sqlite,postgres
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv

export PUNCHCARD_DATA PYTEST_ARGS HOST PORT
export PUNCHCARD_TEST_DATABASES := $(DBS)

.PHONY: venv fonts run test check lock bench bench-quick clean

# --- virtualenv -----------------------------------------------------------------------------
# A stamp per requirements set: pip only runs again when a requirements file or pyproject.toml
# changes (the editable install picks up the console script and package data from pyproject).
# requirements/*.txt pin every package, transitive ones included, with hashes: pip refuses anything else.
venv: $(VENV)/.installed-base

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-base: requirements/base.txt pyproject.toml | $(VENV)/bin/python
$(VENV)/.installed-test: requirements/test.txt requirements/base.txt pyproject.toml | $(VENV)/bin/python
$(VENV)/.installed-%:
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements/$*.txt
	$(VENV)/bin/pip install --quiet -e . --no-deps
	@touch $@

# The fonts receipt PDFs embed (Debian's fonts-dejavu-core and fonts-noto-core), installed when missing.
fonts:
	@scripts/fonts.sh

# --- run ------------------------------------------------------------------------------------
run: venv fonts
	@mkdir -p "$(PUNCHCARD_DATA)"
	$(VENV)/bin/punchcard migrate
	$(VENV)/bin/punchcard demo --if-empty
	$(VENV)/bin/punchcard collectstatic --noinput --verbosity 0
	@echo
	@echo "  Punchcard is starting on http://$(HOST):$(PORT)/"
	@echo "    API docs:  http://$(HOST):$(PORT)/api/v1/docs"
	@echo "    Admin:     http://$(HOST):$(PORT)/admin/"
	@echo "    Data dir:  $(PUNCHCARD_DATA)"
	@echo "    Jobs:      a worker and a once-a-minute tick run alongside (Ctrl-C stops all)"
	@echo "    Email:     $${PUNCHCARD_EMAIL_URL:-written to $(PUNCHCARD_DATA)/mail/}"
	@echo
	exec $(VENV)/bin/punchcard serve --host $(HOST) --port $(PORT) --workers 2

# --- tests and benchmarks -------------------------------------------------------------------
test: check fonts
	scripts/test.sh

check: $(VENV)/.installed-test
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check --quiet src tests bench
	$(VENV)/bin/lint-imports

# pip-tools runs in a virtualenv of its own, so it never shares a resolver with the project's packages.
lock:
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet pip-tools==7.6.2
	.venv-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-find-links \
		--no-emit-index-url -o requirements/base.txt requirements/base.in
	.venv-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-find-links \
		--no-emit-index-url -o requirements/test.txt requirements/test.in

bench: venv
	$(VENV)/bin/python bench/run.py

bench-quick: venv
	$(VENV)/bin/python bench/run.py --quick

clean:
	rm -rf $(VENV) .venv-lock build src/*.egg-info .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
