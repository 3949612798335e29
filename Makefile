# The two set-up commands of the README: `make demo` and `make test`.
# Each creates .venv on first use, installs restorekit into it, and runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-compiled e2e lab lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/restorekit demo

test: $(STAMP)
	$(BIN)/ruff check restorekit tests benchmarks build_support setup.py
	$(BIN)/ruff format --check restorekit tests benchmarks build_support setup.py
	$(BIN)/mypy
	$(BIN)/python -m pytest

# The tests again on the optional compiled build (RESTOREKIT_COMPILE=1, see setup.py).
test-compiled: $(STAMP)
	build_support/test_compiled.sh -p no:cacheprovider

# Restores with the real CASA pipeline; needs RESTOREKIT_PIPELINE_DIR (see the README).
e2e: $(STAMP)
	$(BIN)/python -m pytest -m e2e tests/e2e -s

# Prints the URL (with its token) to open; as root (common in containers) too.
lab: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[lab]'
	@root=$$([ "$$(id -u)" = 0 ] && echo --allow-root); \
	echo "restorekit: starting JupyterLab; open the http://127.0.0.1:8888/lab?token=... URL it prints"; \
	$(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=8888 $$root notebooks/

clean:
	rm -rf $(VENV) records .pytest_cache build *.egg-info
