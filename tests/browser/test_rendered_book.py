"""Open every page of the built book in headless Chromium, offline, and check what a reader sees.

Run after `make book` (`make test-browser`). The book is served from localhost; every request to
another host is blocked, as on a machine without internet. Screenshots go to _build/browser/.
"""

from __future__ import annotations

import pytest

from _book import PAGES, SHOTS, check_page, open_page


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_offline(page, server, name):
    open_page(page, f"{server}/{name}")
    check_page(page)

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
