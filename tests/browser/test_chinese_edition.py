"""Open every page of the Chinese edition (中文版, _build/html/zh) in headless Chromium, offline, as
test_rendered_book.py does for the English one; check that the interactive views speak Chinese;
follow the language switch both ways; search in Chinese. Run after `make book`, which builds both
editions. Screenshots: _build/browser/zh__*.png.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest

from _book import HTML, PAGES, ROOT, SHOTS, check_page, open_page

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
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    heading = page.inner_text("article h1")
    if name.removesuffix(".html") not in _pending():
        assert CJK.search(heading), f"the title is not translated: {heading!r}"

    check_page(page)

    switch = page.locator("a.language-switch")
    assert switch.count() == 1 and switch.inner_text().strip() == "English"
    assert urljoin(page.url, switch.get_attribute("href")) == f"{server}/{name}"

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{ZH}__{name.replace('/', '__')}.png", full_page=True)
    assert page.blocked == [], f"the page tried to reach the internet: {page.blocked}"
    assert page.errors == [], f"JavaScript console errors: {page.errors}"


def _pages_with_views() -> list[str]:
    found = [p for p in PAGES if (HTML / ZH / p).exists() and 'class="ca-view' in (HTML / ZH / p).read_text("utf-8")]
    return found or [pytest.param(None, marks=pytest.mark.skip(reason="no Chinese page has a course_attn view"))]


@pytest.mark.parametrize("name", _pages_with_views())
def test_views_speak_chinese(page, server, name):
    """The views' own words (controls, hints, readouts, titles, scheme names) are Chinese: views.js keeps
    a list of every text it had to show in English (courseAttnViews.untranslated)."""
    open_page(page, f"{server}/{ZH}/{name}")
    views = page.locator(".ca-view")
    for k in range(views.count()):
        view = views.nth(k)
        for select in view.locator("select").all():  # every sentence or scheme: each is drawn once
            for i in range(select.locator("option").count()):
                select.select_option(index=i)
        title = view.locator(".ca-v-title").inner_text()
        assert CJK.search(title), f"view {k}'s title is not Chinese: {title!r}"
        readout = view.locator(".ca-v-readout").inner_text()
        assert CJK.search(readout), f"view {k}'s readout is not Chinese: {readout!r}"
    assert page.evaluate("window.courseAttnViews.untranslated") == [], "texts views.js has no Chinese for"
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
