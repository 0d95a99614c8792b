"""Small fixes to the HTML that Jupyter Book v1 writes, so that its pages log no JavaScript errors.

* sphinx-thebe adds its inline configuration script twice ("Identifier 'THEBE_JS_URL' has already
  been declared"): keep each script once.
* sphinx-book-theme leaves pydata-sphinx-theme's ``default_mode`` empty, which its JavaScript
  reports as "Got invalid theme mode": use "auto" (follow the reader's system setting).
* On pages with widgets, the Jupyter widget manager (ipywidgets 8) is loaded with require.js from
  ``_static/vendor/html-manager``; require.js must be told that path, or the manager looks for its
  fonts beside the page. It also typesets labels with the MathJax 2 API (``MathJax.Hub.Queue``),
  which MathJax 3 lacks: give MathJax 3 a ``Hub`` that forwards to ``MathJax.typesetPromise``.

And one that is not about errors: the launch buttons open ``<path_to_book>/<page>.ipynb`` of the
repository, the student edition of a notebook (student/, see _config.yml), so the download button
offers that same file instead of the page's source with its solutions.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.util import logging

logger = logging.getLogger(__name__)

WIDGETS_JS = """
var require = {paths: {"@jupyter-widgets/html-manager/dist": new URL(
  document.documentElement.dataset.content_root + "_static/vendor/html-manager", location.href).href}};
(function () {
  const hub = {Queue: (job) => window.MathJax.typesetPromise && window.MathJax.typesetPromise([job[2]])};
  let current = window.MathJax;
  if (current && !current.Hub) current.Hub = hub;
  Object.defineProperty(window, "MathJax", {  // MathJax 3 replaces the global object when it loads
    configurable: true,
    get: () => current,
    set: (value) => { current = value; if (value && !value.Hub) value.Hub = hub; },
  });
})();
"""


def _fix_page(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        # an inline script has no file name (None or ""), its code is in attributes["body"]
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"][:] = unique  # in place: handlers after this one append to the list
    if not context.get("default_mode"):
        context["default_mode"] = "auto"
    if NbMetadataCollector.get_js_files(app.env, pagename):  # myst-nb loads the widget manager
        app.add_js_file(None, body=WIDGETS_JS, priority=100)  # before require.js (priority 500)


def _student_downloads(app, exception):
    """Put the student edition in place of each notebook page's source in _sources/ (the download)."""
    folder = app.config.html_theme_options.get("path_to_docs", "").strip("/")
    if exception or not folder or app.builder.format != "html":
        return
    for docname in sorted(app.env.found_docs):
        page = Path(app.env.doc2path(docname)).relative_to(app.srcdir)
        if page.suffix != ".ipynb":
            continue
        edition, download = Path(app.srcdir, folder, page), Path(app.outdir, "_sources", page)
        if not edition.exists():
            logger.warning(f"{folder}/{page} is missing: the launch buttons of {docname} lead nowhere; "
                           "run `make student`")
        elif download.exists():  # Sphinx copied the source there for the download button
            shutil.copyfile(edition, download)


def setup(app):
    # Early (default priority is 500): a theme's handler may end the event by returning a template.
    app.connect("html-page-context", _fix_page, priority=100)
    app.connect("build-finished", _student_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
