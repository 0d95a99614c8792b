"""What the browser tests share: where the built book and Chromium are, the book's pages, and how to
open a page. The fixtures (server, browser, page) are in conftest.py."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import book_files  # noqa: E402

HTML = Path(os.environ.get("COURSE_ATTN_BOOK_HTML", ROOT / "_build" / "html"))
SHOTS = ROOT / "_build" / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def needs_chromium():
    """Skip a test that drives the browser when there is no book, no Chromium or no playwright."""
    if not (HTML / "index.html").exists():
        pytest.skip(f"no built book at {HTML}: run `make book` first")
    if CHROMIUM is None:
        pytest.skip("no Chromium on PATH: install Debian's `chromium` to run the browser test")
    return pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements.txt)")


PAGES = [p.relative_to(ROOT).with_suffix(".html").as_posix() for p in book_files.toc_files()]


def open_page(page, url: str) -> None:
    """Go to ``url`` and wait until the network is idle (scripts loaded, widgets rendered)."""
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")


# Markdown or MyST left as text in the prose (not in code, outputs, formulas or signatures): a bold whose
# ** sits next to full-width punctuation (see CONTRIBUTING, "Translating"), a role or link that did not parse.
RAW_MARKUP = r"""() => {
  const skip = 'pre, code, kbd, script, style, .cell_output, .output, .ca-view, .math, mjx-container, .sig, .highlight';
  const walker = document.createTreeWalker(document.querySelector('article'), NodeFilter.SHOW_TEXT);
  const hits = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest(skip)) continue;
    const m = /\*\*|\{(ref|doc|numref|eq|term|glue(:\w+)?)\}|\]\(|`/.exec(n.textContent);
    if (m) hits.push(n.textContent.slice(Math.max(0, m.index - 40), m.index + 40));
  }
  return hits;
}"""


def check_page(page) -> None:
    """What a reader of any page, in either edition, must see: formulas typeset (no raw TeX), diagrams
    drawn, images loaded, ipywidgets rendered where a page saved some, every course_attn view drawn, and no
    markup left unrendered in the prose."""
    html = page.content()
    if page.locator(".math").count():  # Sphinx marks every formula with class "math"
        page.wait_for_function(
            "document.querySelectorAll('.math').length === document.querySelectorAll('.math mjx-container').length",
            timeout=20_000)
        body = page.inner_text("article")
        assert "$$" not in body and "\\frac" not in body, "raw TeX left on the page"

    diagrams = page.locator("pre.mermaid, div.mermaid")
    for i in range(diagrams.count()):
        diagrams.nth(i).locator("svg").first.wait_for(timeout=20_000)

    broken = page.evaluate(
        "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert broken == [], f"images that did not load: {broken}"

    if "application/vnd.jupyter.widget-view+json" in html:
        page.locator(".jupyter-widgets").first.wait_for(timeout=20_000)
        assert page.locator(".widget-slider, .widget-dropdown, .jupyter-widgets").count() > 0

    views = page.locator(".ca-view")
    undrawn = [k for k in range(views.count()) if views.nth(k).get_attribute("data-mounted") != "true"]
    assert undrawn == [], f"course_attn views not drawn: {undrawn} of {views.count()}"

    raw = page.evaluate(RAW_MARKUP)
    assert raw == [], f"markup left as text in the prose: {raw[:5]}"
