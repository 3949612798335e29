# The two set-up commands of the README: `make demo` and `make test`.
# Each creates .venv on first use, installs restorekit into it, and runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test e2e lab lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/restorekit demo

test: $(STAMP)
	$(BIN)/ruff check restorekit tests benchmarks
	$(BIN)/python -m pytest

# Restores with the real CASA pipeline; needs RESTOREKIT_PIPELINE_DIR (see the README).
e2e: $(STAMP)
	$(BIN)/python -m pytest -m e2e tests/e2e -s

lab: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[lab]'
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) records .pytest_cache build *.egg-info
