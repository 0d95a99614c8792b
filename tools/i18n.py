"""The Chinese edition: translation catalogues (locale/zh_CN) and the build that applies them.

    python tools/i18n.py extract     # the English messages of every page into _build/gettext/*.pot
    python tools/i18n.py update [DOC…]  # extract, then merge into locale/zh_CN/LC_MESSAGES/*.po
    python tools/i18n.py check       # fail if a message has no current translation (locale/PENDING: warn)
    python tools/i18n.py build-zh    # the Chinese edition into _build/html/zh (after the English build;
                                     # --execute off: without outputs, a quick look)

The English pages and notebooks are the only source; the Chinese text lives in one .po catalogue per
page, which Sphinx's own i18n applies at build time. Extraction needs no outputs, so it runs with
execution off. The Chinese build reads the executed outputs from the English build's jupyter-cache
(_build/.jupyter_cache): each notebook runs once per `make book`.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
LANGUAGE = "zh_CN"
CATALOGUES = LOCALE / LANGUAGE / "LC_MESSAGES"
PENDING = LOCALE / "PENDING"
TITLE = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["title"]
BUILD = ROOT / "_build"
CACHE = BUILD / ".jupyter_cache"  # where the English build (execute_notebooks: cache) keeps outputs

# Messages that stay English on purpose: the docstrings that autodoc renders on the package
# reference (chapters/api). They live in the source code, not in the book's pages, so extraction
# drops every message whose only locations are docstrings; the page's own prose is translated, and
# the Chinese page says that the reference itself is in English.
PAGE_SUFFIXES = (".md", ".ipynb")

# Settings shared by every i18n build (Sphinx names; they override _config.yml).
COMMON = {
    "locale_dirs": [str(LOCALE)],
    "gettext_compact": False,  # one catalogue per page
    "gettext_uuid": False,
    "gettext_location": True,  # where each message is (and which are docstrings: api)
    "gettext_additional_targets": [],  # code, literal blocks and raw HTML are never translated
}


def _build(builder: str, outdir: Path, doctrees: Path, overrides: dict, strict: bool, quiet: bool) -> int:
    """One Sphinx build of the book through Jupyter Book's configuration (as `jupyter-book build`)."""
    from jupyter_book.sphinx import build_sphinx

    result = build_sphinx(
        ROOT, outdir, noconfig=True, path_config=ROOT / "_config.yml", doctreedir=doctrees,
        confoverrides={"external_toc_path": str(ROOT / "_toc.yml"), "latex_individualpages": False,
                       "nitpicky": strict, **COMMON, **overrides},
        builder=builder, warningiserror=strict, keep_going=strict, quiet=quiet, really_quiet=quiet,
    )
    return result if isinstance(result, int) else 1


def extract(out: Path = BUILD / "gettext", quiet: bool = False) -> Path:
    """Write one .pot per page into ``out`` (execution off: extraction needs no outputs)."""
    shutil.rmtree(out, ignore_errors=True)
    status = _build("gettext", out, out / ".doctrees", {"nb_execution_mode": "off", "project": TITLE},
                    strict=False, quiet=quiet)
    if status:
        sys.exit(f"message extraction failed (status {status})")
    shutil.rmtree(out / ".doctrees", ignore_errors=True)
    for pot in out.rglob("*.pot"):
        _drop_docstrings(pot)
    return out


def _drop_docstrings(pot: Path) -> None:
    from babel.messages import pofile

    with pot.open("rb") as f:
        catalog = pofile.read_po(f)
    # a page's location is "../../chapters/api.md:12"; a docstring's "…/functional.py:docstring of …"
    docstrings = [m.id for m in catalog if m.id and m.locations
                  and not any(path.endswith(PAGE_SUFFIXES) for path, _ in m.locations)]
    if docstrings:
        for msgid in docstrings:
            del catalog[msgid]
        with pot.open("wb") as f:
            pofile.write_po(f, catalog, width=100)


def update(docs: list[str] | None = None) -> None:
    """Extract, then merge the English messages into locale/zh_CN: new messages empty, changed ones
    fuzzy with the old translation, removed ones dropped. ``docs`` (docnames): only those catalogues."""
    from sphinx_intl import catalog as c

    pot_dir = extract(quiet=True)
    pots = {p.relative_to(pot_dir).with_suffix("").as_posix(): p for p in sorted(pot_dir.rglob("*.pot"))}
    unknown = sorted(set(docs or []) - set(pots))
    if unknown:
        sys.exit(f"not pages of the book: {', '.join(unknown)}")
    for doc in docs or pots:
        template, po = c.load_po(str(pots[doc])), CATALOGUES / f"{doc}.po"
        if po.exists():
            catalog = c.load_po(str(po))
            before = {m.id for m in catalog if m.id}
            c.update_with_fuzzy(catalog, template)
            after = {m.id for m in catalog if m.id}
            if after == before:
                continue
            print(f"{doc}.po: {len(after - before)} new or changed, {len(before - after)} removed")
        else:
            catalog = template
            catalog.locale = LANGUAGE
            print(f"{doc}.po: created ({len(template)} messages)")
        c.dump_po(str(po), catalog, width=100, ignore_obsolete=True)


def _translated_title() -> str:
    """The book's title as intro.po translates it (the title of the landing page), else English."""
    from babel.messages import pofile

    with (CATALOGUES / "intro.po").open("rb") as f:
        message = pofile.read_po(f).get(TITLE)
    return message.string if message and message.string and not message.fuzzy else TITLE


def search_dictionary(glossary: Path = ROOT / "chapters" / "glossary.md") -> list[str]:
    """The Chinese terms of the glossary, as words for jieba: Sphinx's search splits each page's
    text with jieba, but the browser looks a query up whole, so a term such as 多头注意力 is only
    found if jieba keeps it as one word in the index (besides its parts, 多头 and 注意力)."""
    words = []
    for line in glossary.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3 or set(cells[1]) <= set("-: "):
            continue
        for word in re.split(r"[,，、/;；()（）]|\bvs\b|\s", cells[1]):
            if len(word) >= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", word) and word not in words:
                words.append(word)
    return words


def build_zh(out: Path = BUILD / "html" / "zh", execute: str = "cache") -> int:
    """Build the Chinese edition, strict like the English one, reading its outputs from the cache
    (``execute="off"``: without outputs, a quick look at the translation)."""
    staging = BUILD / "zh"
    start = time.time()
    staging.mkdir(parents=True, exist_ok=True)
    dictionary = staging / "jieba_dict.txt"
    dictionary.write_text("".join(f"{word}\n" for word in search_dictionary()), encoding="utf-8")
    status = _build("html", staging / "html", staging / ".doctrees", {
        "language": LANGUAGE,
        "html_title": _translated_title(),
        "html_search_language": "zh",  # Sphinx's Chinese search splits words with jieba
        "html_search_options": {"dict": str(dictionary)},
        "nb_execution_mode": execute,
        "nb_code_prompt_show": "显示代码",  # the folded solutions (hide-input): "Show code cell source"
        "nb_code_prompt_hide": "隐藏代码",
        "nb_execution_cache_path": str(CACHE),
    }, strict=True, quiet=False)
    shutil.rmtree(out, ignore_errors=True)
    if (staging / "html").exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staging / "html", out)
    print(f"[time] Chinese edition: {time.time() - start:.0f} s -> {out.relative_to(ROOT)}")
    return status


# ----- the check: every English message has a current translation ----------------------------------

MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.S)
ROLE = re.compile(r"\{([\w:.+-]+)\}`([^`]*)`")
CODE = re.compile(r"``.+?``|`[^`\n]+`")
URL = re.compile(r"\]\(([^)\s]+)\)|<(https?://[^>\s]+)>|(?<![(<])\b(https?://[^\s)>]+)")
HTML = re.compile(r"</?[a-zA-Z][^>]*>")


def untouchable(text: str) -> dict[str, set[str]]:
    """What a translation must copy from its English: formulas, role targets, code, URLs, HTML."""
    found = {"formula": set(MATH.findall(text))}
    rest = MATH.sub(" ", text)
    targets = set()
    for name, content in ROLE.findall(rest):
        labelled = re.fullmatch(r"(.*?)\s*<([^<>]+)>", content, re.S)
        targets.add(f"{{{name}}}" + (labelled.group(2) if labelled else content))
    found["role target"] = targets
    rest = ROLE.sub(" ", rest)
    found["code"] = set(CODE.findall(rest))
    rest = CODE.sub(" ", rest)
    found["URL"] = {next(g for g in groups if g) for groups in URL.findall(rest)}
    found["HTML"] = set(HTML.findall(URL.sub(" ", rest)))
    return found


def needs_translation(msgid: str) -> bool:
    """False for a message with no Latin letters outside formulas, code, roles, URLs and HTML."""
    prose = HTML.sub(" ", URL.sub(" ", CODE.sub(" ", ROLE.sub(" ", MATH.sub(" ", msgid)))))
    return re.search(r"[A-Za-z]", prose) is not None


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # problems of pages listed in locale/PENDING
    messages: dict[str, int] = field(default_factory=dict)  # docname -> messages in its .pot
    pending: list[str] = field(default_factory=list)


def pending_docs(path: Path = PENDING) -> list[str]:
    """The docnames listed in locale/PENDING (one a line, # comments)."""
    if not path.exists():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def compare(pot_dir: Path, po_dir: Path, pending: list[str]) -> Report:
    """Compare freshly extracted .pot files with the .po catalogues, page by page."""
    from babel.messages import pofile

    def load(path: Path):
        with path.open("rb") as f:
            return pofile.read_po(f)

    pots = {p.relative_to(pot_dir).with_suffix("").as_posix(): p for p in sorted(pot_dir.rglob("*.pot"))}
    pos = {p.relative_to(po_dir).with_suffix("").as_posix(): p for p in sorted(po_dir.rglob("*.po"))}
    report = Report(pending=list(pending))
    for doc in pending:
        if doc not in pots:
            report.errors.append(f"locale/PENDING lists {doc!r}, which is not a page of the book")
    for doc in sorted(set(pos) - set(pots)):
        report.errors.append(f"{doc}.po: a catalogue for a page the book no longer has; delete it")
    for doc, pot_path in pots.items():
        problems = report.warnings if doc in pending else report.errors
        english = [m.id for m in load(pot_path) if m.id]
        report.messages[doc] = len(english)
        if doc not in pos:
            problems.append(f"{doc}.po: missing ({len(english)} messages); run `make i18n-update`")
            continue
        catalogue = {m.id: m for m in load(pos[doc]) if m.id}
        stale = [m for m in catalogue if m not in set(english)]
        if stale:
            problems.append(f"{doc}.po: {len(stale)} messages no longer in the English source, e.g. "
                            f"{_short(stale[0])}; run `make i18n-update`")
        for msgid in english:
            message = catalogue.get(msgid)
            if message is None:
                problems.append(f"{doc}.po: not in the catalogue (run `make i18n-update`): {_short(msgid)}")
            elif message.fuzzy:
                problems.append(f"{doc}.po: fuzzy (revise, then drop the fuzzy flag): {_short(msgid)}")
            elif not message.string:
                if needs_translation(msgid):
                    problems.append(f"{doc}.po: untranslated: {_short(msgid)}")
            else:
                want, got = untouchable(msgid), untouchable(message.string)
                for kind in want:
                    lost, added = want[kind] - got[kind], got[kind] - want[kind]
                    if lost or added:
                        problems.append(f"{doc}.po: {kind} differs from the English"
                                        f"{' (missing ' + ', '.join(sorted(lost)) + ')' if lost else ''}"
                                        f"{' (not in the English: ' + ', '.join(sorted(added)) + ')' if added else ''}"
                                        f": {_short(msgid)}")
    return report


def _short(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def check(po_dir: Path = CATALOGUES) -> Report:
    """Extract the English messages afresh (into a temporary folder) and compare."""
    with tempfile.TemporaryDirectory() as tmp:
        return compare(extract(Path(tmp) / "gettext", quiet=True), po_dir, pending_docs())


def summary(report: Report) -> str:
    lines = [*report.errors]
    total = sum(report.messages.values())
    lines.append(f"{total} messages in {len(report.messages)} pages; {len(report.errors)} problems; "
                 f"{len(report.warnings)} problems in the {len(report.pending)} pages still pending "
                 f"translation (locale/PENDING)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["extract", "update", "check", "build-zh"])
    parser.add_argument("docs", nargs="*", help="update: only these pages (docnames, e.g. chapters/glossary)")
    parser.add_argument("--execute", choices=["cache", "off"], default="cache",
                        help="build-zh: outputs from the English build's cache, or none (a quick look)")
    args = parser.parse_args(argv)
    if args.command == "extract":
        print(extract())
    elif args.command == "update":
        update(args.docs)
    elif args.command == "build-zh":
        return build_zh(execute=args.execute)
    elif args.command == "check":
        start = time.time()
        report = check()
        print(summary(report))
        print(f"[time] translation check: {time.time() - start:.0f} s")
        return 1 if report.errors else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
