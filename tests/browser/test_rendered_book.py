"""Open every page of the built book in headless Chromium, offline, and check what a reader sees.

Run after `make book` (`make test-browser`). The book is served from localhost; every request to
another host is blocked, as on a machine without internet. Screenshots go to _build/browser/.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import book_files  # noqa: E402

HTML = Path(os.environ.get("COURSE_ATTN_BOOK_HTML", ROOT / "_build" / "html"))
SHOTS = ROOT / "_build" / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

if not (HTML / "index.html").exists():
    pytest.skip(f"no built book at {HTML}: run `make book` first", allow_module_level=True)
if CHROMIUM is None:
    pytest.skip("no Chromium on PATH: install Debian's `chromium` to run the browser test",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements.txt)")

PAGES = [p.relative_to(ROOT).with_suffix(".html").as_posix() for p in book_files.toc_files()]


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A page whose non-localhost requests are blocked and whose console errors are recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.blocked, page.errors = [], []

    def route(r):
        if urlparse(r.request.url).hostname in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            page.blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("response", lambda r: page.errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    yield page
    context.close()


def _open(page, url: str) -> None:
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_offline(page, server, name):
    _open(page, f"{server}/{name}")
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
    _open(page, f"{server}/search.html?q=attention")
    results = page.locator("#search-results li")
    results.first.wait_for(timeout=30_000)
    assert results.count() >= min(5, len(PAGES)), "most chapters are about attention"
    page.screenshot(path=SHOTS / "search.png")
    assert page.errors == [], f"JavaScript console errors: {page.errors}"
