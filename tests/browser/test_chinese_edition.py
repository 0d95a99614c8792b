"""Open every page of the Chinese edition (中文版, _build/html/zh) in headless Chromium, offline, as
test_rendered_book.py does for the English one; follow the language switch both ways; search in
Chinese. Run after `make book`, which builds both editions. Screenshots: _build/browser/zh__*.png.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest

from _book import HTML, PAGES, ROOT, SHOTS, open_page

ZH = "zh"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _pending() -> set[str]:
    """Pages whose translation is still being written (locale/PENDING): their prose may be English."""
    path = ROOT / "locale" / "PENDING"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return {line.split("#", 1)[0].strip() for line in lines} - {""}


@pytest.fixture(autouse=True)
def _chinese_edition_built():
    if not (HTML / ZH / "index.html").exists():
        pytest.skip(f"no Chinese edition at {HTML / ZH}: run `make book`")


@pytest.mark.parametrize("name", PAGES)
def test_chinese_page_renders_offline(page, server, name):
    open_page(page, f"{server}/{ZH}/{name}")
    html = page.content()
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    heading = page.inner_text("article h1")
    if name.removesuffix(".html") not in _pending():
        assert CJK.search(heading), f"the title is not translated: {heading!r}"

    if page.locator(".math").count():
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

    switch = page.locator("a.language-switch")
    assert switch.count() == 1 and switch.inner_text().strip() == "English"
    assert urljoin(page.url, switch.get_attribute("href")) == f"{server}/{name}"

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{ZH}__{name.replace('/', '__')}.png", full_page=True)
    assert page.blocked == [], f"the page tried to reach the internet: {page.blocked}"
    assert page.errors == [], f"JavaScript console errors: {page.errors}"


@pytest.mark.parametrize("name", [PAGES[0], next(p for p in PAGES if p.startswith("chapters/04"))])
def test_language_switch_leads_to_the_same_page_both_ways(page, server, name):
    """English -> 中文 -> English with the keyboard only: Tab to the link, Enter."""
    open_page(page, f"{server}/{name}")
    english_title = page.inner_text("article h1")
    for target, text in ((f"{server}/{ZH}/{name}", "中文"), (f"{server}/{name}", "English")):
        switch = page.locator("a.language-switch")
        assert switch.inner_text().strip() == text
        switch.focus()
        assert page.evaluate("document.activeElement.classList.contains('language-switch')")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_load_state("networkidle")
        assert page.url == target
    assert page.inner_text("article h1") == english_title
    assert page.errors == [] and page.blocked == []


def test_language_switch_is_visible_in_dark_mode(page, server):
    open_page(page, f"{server}/{ZH}/{PAGES[0]}")
    page.evaluate("document.documentElement.dataset.theme = 'dark'")
    colours = page.evaluate("""() => {
        const link = document.querySelector('a.language-switch');
        let el = link, bg = 'rgba(0, 0, 0, 0)';
        while (el && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) {
            bg = getComputedStyle(el).backgroundColor; el = el.parentElement;
        }
        return [getComputedStyle(link).color, bg];
    }""")
    assert colours[0] != colours[1], f"the switch's text has its background's colour: {colours}"
    page.screenshot(path=SHOTS / f"{ZH}__dark.png")


@pytest.mark.parametrize("query, expected", [
    ("注意力", None),
    ("多头注意力", "chapters/02_core_concepts.html"),
])
def test_chinese_search_finds_the_pages(page, server, query, expected):
    """Sphinx's Chinese search splits words with jieba, in the index and in the query."""
    open_page(page, f"{server}/{ZH}/search.html?q={query}")
    results = page.locator("#search-results li")
    results.first.wait_for(timeout=30_000)
    links = [urljoin(page.url, a) for a in
             page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.getAttribute('href'))")]
    if expected is None:
        assert results.count() >= min(5, len(PAGES)), "most chapters are about 注意力"
    else:
        assert any(link.split("#")[0].split("?")[0] == f"{server}/{ZH}/{expected}" for link in links), links
    page.screenshot(path=SHOTS / f"{ZH}__search_{query}.png")
    assert page.errors == [], f"JavaScript console errors: {page.errors}"
