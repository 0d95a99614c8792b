"""Open every page of the built book in headless Chromium, offline, and check what a reader sees.

Run after `make book` (`make test-browser`). The book is served from localhost; every request to
another host is blocked, as on a machine without internet. Screenshots go to _build/browser/.
"""

from __future__ import annotations

import pytest

from _book import PAGES, SHOTS, open_page


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_offline(page, server, name):
    open_page(page, f"{server}/{name}")
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

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / (name.replace("/", "__") + ".png"), full_page=True)
    assert page.blocked == [], f"the page tried to reach the internet: {page.blocked}"
    assert page.errors == [], f"JavaScript console errors: {page.errors}"


def test_search_finds_attention(page, server):
    open_page(page, f"{server}/search.html?q=attention")
    results = page.locator("#search-results li")
    results.first.wait_for(timeout=30_000)
    assert results.count() >= min(5, len(PAGES)), "most chapters are about attention"
    page.screenshot(path=SHOTS / "search.png")
    assert page.errors == [], f"JavaScript console errors: {page.errors}"
