"""What the built book's launch buttons and download button give a reader: the student editions.

Run after `make book` (`make test-browser`); it reads the built files and needs no browser. The launch
buttons (Colab, Binder) must open student/<page>.ipynb of the repository (repository.path_to_book in
_config.yml) and the download button must offer that same file; neither may hold a solution.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import assignments  # noqa: E402
import book_files  # noqa: E402

HTML = Path(os.environ.get("COURSE_ATTN_BOOK_HTML", ROOT / "_build" / "html"))
LAUNCH = re.compile(r'href="(https://(?:colab\.research\.google\.com|mybinder\.org)/[^"]+)"')

if not (HTML / "index.html").exists():
    pytest.skip(f"no built book at {HTML}: run `make book` first", allow_module_level=True)


def read(path: Path):
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("chapter", book_files.toc_notebooks(), ids=lambda p: p.stem)
def test_launch_and_download_buttons_give_the_student_edition(chapter):
    page = chapter.relative_to(ROOT)
    html = (HTML / page.with_suffix(".html")).read_text()
    edition = book_files.launch_folder() / page
    links = LAUNCH.findall(html)
    assert len(links) == 2, f"a Colab and a Binder button, found {links}"
    for link in links:
        assert link.endswith("/" + edition.relative_to(ROOT).as_posix()), link
    assert assignments.solution_leaks(read(edition), read(chapter)) == [], "what the launch buttons open"
    assert f'href="../_sources/{page.as_posix()}"' in html, "the download button offers the page's source"
    download = HTML / "_sources" / page
    assert download.read_bytes() == edition.read_bytes(), "the download is the student edition"


def test_no_notebook_of_the_built_book_holds_a_solution():
    found = sorted(HTML.rglob("*.ipynb"))
    assert found, "the download button offers .ipynb files"
    for path in found:  # _sources/ of the English edition and zh/_sources/ of the Chinese one
        sources = next(parent for parent in path.parents if parent.name == "_sources")
        chapter = ROOT / path.relative_to(sources)
        assert assignments.solution_leaks(read(path), read(chapter)) == [], path.relative_to(HTML)
