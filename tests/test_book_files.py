"""The book's notebooks are committed without outputs and all listed in _toc.yml."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import book_files  # noqa: E402


def test_repository_notebooks_are_clean_and_listed():
    assert book_files.toc_notebooks(), "the book lists no notebook"
    assert book_files.notebook_problems() == []


def write_book(tmp_path, cells):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n- file: chapters/a\n")
    (tmp_path / "intro.md").write_text("# Intro\n")
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "chapters" / "a.ipynb").write_text(json.dumps(nb))
    (tmp_path / "chapters" / "b.ipynb").write_text(json.dumps({**nb, "cells": []}))


def test_check_finds_outputs_and_unlisted_notebooks(tmp_path):
    write_book(tmp_path, [{"cell_type": "code", "source": "1", "outputs": [{"x": 1}], "execution_count": 3}])
    problems = book_files.notebook_problems(tmp_path)
    assert problems == [
        "chapters/a.ipynb: cells [0] carry outputs; run `python tools/book_files.py strip`",
        "chapters/b.ipynb: not listed in _toc.yml",
    ]
    book_files.strip(tmp_path)
    assert book_files.notebook_problems(tmp_path) == ["chapters/b.ipynb: not listed in _toc.yml"]


def test_missing_toc_entry_is_an_error(tmp_path):
    write_book(tmp_path, [])
    (tmp_path / "chapters" / "a.ipynb").unlink()
    with pytest.raises(FileNotFoundError, match="_toc.yml names 'chapters/a'"):
        book_files.toc_files(tmp_path)
