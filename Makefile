# Task runner. The README's two commands are `make book` and `make test`; both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
# Notebook kernels must find the venv's python first.
export PATH := $(BIN):$(PATH)
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: setup book test test-package test-notebooks test-book check-notebooks strip bench clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@start=$$(date +%s); $(PYTHON) -m venv $(VENV) && \
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -e . && \
	echo "[time] install: $$(( $$(date +%s) - start )) s"
	touch $@

## book: set up, then build the HTML book from scratch into _build/html (every notebook executed)
book: setup
	rm -rf _build
	$(BIN)/jupyter-book build . -W -n --keep-going

## test: set up, then the package tests, every notebook under nbval, and a strict clean book build
test: setup check-notebooks test-package test-notebooks test-book

check-notebooks: setup
	$(BIN)/python tools/book_files.py check

test-package: setup
	@start=$$(date +%s); $(BIN)/python -m pytest tests; status=$$?; \
	echo "[time] package tests: $$(( $$(date +%s) - start )) s"; exit $$status

test-notebooks: setup
	@start=$$(date +%s); \
	$(BIN)/python -m pytest --nbval-lax --nbval-cell-timeout=300 -p no:cacheprovider \
		$$($(BIN)/python tools/book_files.py notebooks); status=$$?; \
	echo "[time] notebooks under nbval: $$(( $$(date +%s) - start )) s"; exit $$status

test-book: setup
	@start=$$(date +%s); $(MAKE) --no-print-directory book; status=$$?; \
	echo "[time] clean strict book build: $$(( $$(date +%s) - start )) s"; exit $$status

## strip: remove outputs from the chapter notebooks before committing
strip: setup
	$(BIN)/python tools/book_files.py strip

## bench: attention benchmark (not part of the tests)
bench: setup
	$(BIN)/python benchmarks/bench_attention.py

clean:
	rm -rf _build .pytest_cache .hypothesis
