"""The book's two editions, English and Chinese (中文), built from the same sources (tools/i18n.py).

* A link on every page to the same page in the other language (English <-> 中文). The English
  edition is the site's root and the Chinese one is under ``zh/``, so a page has the same name in
  both. The link is a plain ``<a href>`` in the article header, left of the theme's buttons: it
  works without JavaScript, takes the keyboard focus like any link, and takes its colours from the
  theme's variables (light and dark mode). The page head gets ``<link rel="alternate" hreflang>``.
* The captions of the table of contents ("Start here", …) translated: sphinx-external-toc inserts
  its toctrees after Sphinx's i18n transform has run, so they would stay English.
"""

from __future__ import annotations

from pathlib import Path

from sphinx import addnodes
from sphinx.locale import init as init_locale
from sphinx.transforms import SphinxTransform
from sphinx.util.i18n import docname_to_domain

SUBDIR = {"en": "", "zh-CN": "zh/"}  # where each edition lives in the site
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"  # editions.css


def edition(language: str | None) -> str:
    """``"zh-CN"`` for the Chinese build (``language`` zh_CN), ``"en"`` for every other."""
    return "zh-CN" if (language or "").lower().startswith("zh") else "en"


def twin_url(pagename: str, language: str | None) -> str:
    """The URL of ``pagename`` in the other edition, relative to ``pagename``'s own page."""
    here = edition(language)
    other = "en" if here == "zh-CN" else "zh-CN"
    up = "../" * (pagename.count("/") + (1 if SUBDIR[here] else 0))  # to the site's root
    return f"{up}{SUBDIR[other]}{pagename}.html"


def _config(app, config):
    options = dict(config.html_theme_options or {})
    end = options.get("article_header_end", ["article-header-buttons.html"])
    end = [end] if isinstance(end, str) else list(end)
    if "language-switch.html" not in end:
        options["article_header_end"] = ["language-switch.html", *end]
    config.html_theme_options = options
    config.templates_path = [*config.templates_path, str(TEMPLATES)]
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def _page(app, pagename, templatename, context, doctree):
    here = edition(app.config.language)
    other = "en" if here == "zh-CN" else "zh-CN"
    url = twin_url(pagename, app.config.language)
    context["language_switch"] = {
        "url": url, "lang": other,
        "text": "English" if other == "en" else "中文",
        "title": "Read this page in English" if other == "en" else "阅读本页的中文版",
    }
    context["metatags"] = context.get("metatags", "") + (
        f'\n<link rel="alternate" hreflang="{other}" href="{url}" />')


class TranslateTocCaptions(SphinxTransform):
    """Translate the captions of the toctrees that sphinx-external-toc inserts (priority 100)."""

    default_priority = 101

    def apply(self, **kwargs) -> None:
        if not self.config.language or self.config.language == "en":
            return
        toctrees = [t for t in self.document.findall(addnodes.toctree) if t.get("caption")]
        if not toctrees:
            return
        domain = docname_to_domain(self.env.docname, self.config.gettext_compact)
        dirs = [Path(self.env.srcdir, d) for d in self.config.locale_dirs]
        catalog, _ = init_locale(dirs, self.config.language, domain)
        for toctree in toctrees:
            toctree["caption"] = catalog.gettext(toctree["caption"])


def setup(app):
    app.add_transform(TranslateTocCaptions)
    app.connect("config-inited", _config)
    app.connect("html-page-context", _page)
    app.add_css_file("editions.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
