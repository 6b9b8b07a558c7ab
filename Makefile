# `make run` starts the local mock; `make test` runs the whole suite.
# Both set up .venv first, and reinstall only when a requirements file changes.

PYTHON ?= python3
VENV := .venv

.PHONY: run test clean

run: $(VENV)/.installed-run
	$(VENV)/bin/python app.py

test: $(VENV)/.installed-dev
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

$(VENV)/.installed-run: requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

clean:
	rm -rf $(VENV)
