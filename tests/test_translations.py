"""The Chinese edition cannot drift from the English one: every English message of the book has a
current Chinese translation (tools/i18n.py, CONTRIBUTING.md "Translating").

The first test extracts the English messages afresh with Sphinx's gettext builder (execution off,
about 20 s) and compares them with locale/zh_CN/LC_MESSAGES/*.po. Pages listed in locale/PENDING are
still being translated: their problems are reported as a warning with a count, not a failure.
"""

from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tools" / "sphinx_ext"))
import editions  # noqa: E402
import i18n  # noqa: E402

pytest.importorskip("sphinx_intl", reason="sphinx-intl is not installed (requirements.txt)")


@pytest.fixture(scope="module")
def english(tmp_path_factory):
    """The book's English messages, freshly extracted: one .pot per page."""
    with warnings.catch_warnings():  # Sphinx extensions' own deprecation warnings
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return i18n.extract(tmp_path_factory.mktemp("gettext") / "gettext", quiet=True)


def test_every_message_has_a_current_translation(english):
    report = i18n.compare(english, i18n.CATALOGUES, i18n.pending_docs())
    print(i18n.summary(report))
    if report.warnings:
        warnings.warn(f"{len(report.warnings)} messages of the {len(report.pending)} pages in "
                      f"locale/PENDING have no current translation yet", UserWarning, stacklevel=1)
    assert not report.errors, i18n.summary(report)
    assert sum(report.messages.values()) > 1000  # the extraction really read the book


def _write(path: Path, entries: list[tuple[str, str, bool]]) -> None:
    """A catalogue of (msgid, msgstr, fuzzy) entries."""
    from babel.messages import Catalog, pofile

    catalog = Catalog(locale="zh_CN")
    for msgid, msgstr, fuzzy in entries:
        catalog.add(msgid, msgstr, flags=["fuzzy"] if fuzzy else [])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        pofile.write_po(f, catalog)


ENGLISH = [
    "Self-attention",
    "The factor $1/\\sqrt{d_k}$ keeps the {ref}`scores <math-scaling>` small; see `ca.device()`.",
    "Read [the paper](https://arxiv.org/abs/1706.03762).",
    "自注意力",  # already Chinese (a key-term table cell): needs no translation
]
GOOD = [
    ("Self-attention", "自注意力", False),
    (ENGLISH[1], "因子 $1/\\sqrt{d_k}$ 让{ref}`分数 <math-scaling>`保持较小；见 `ca.device()`。", False),
    (ENGLISH[2], "请读[这篇论文](https://arxiv.org/abs/1706.03762)。", False),
    ("自注意力", "", False),
]


@pytest.fixture
def planted(tmp_path):
    pot, po = tmp_path / "pot", tmp_path / "po"
    _write(pot / "chapters" / "page.pot", [(m, "", False) for m in ENGLISH])
    _write(pot / "chapters" / "other.pot", [("Other", "", False)])
    _write(po / "chapters" / "other.po", [("Other", "其他", False)])
    return pot, po


def test_complete_catalogues_pass(planted):
    pot, po = planted
    _write(po / "chapters" / "page.po", GOOD)
    report = i18n.compare(pot, po, pending=[])
    assert report.errors == [] and report.messages == {"chapters/other": 1, "chapters/page": 4}


@pytest.mark.parametrize("change, problem", [
    (lambda g: g.__setitem__(0, ("Self-attention", "", False)), "untranslated"),
    (lambda g: g.__setitem__(0, ("Self-attention", "自注意力", True)), "fuzzy"),
    (lambda g: g.pop(2), "not in the catalogue"),
    (lambda g: g.append(("An old English sentence", "一句旧的英文", False)), "no longer in the English"),
    (lambda g: g.__setitem__(1, (ENGLISH[1], GOOD[1][1].replace("d_k", "d"), False)), "formula differs"),
    (lambda g: g.__setitem__(1, (ENGLISH[1], GOOD[1][1].replace("math-scaling", "math"), False)),
     "role target differs"),
    (lambda g: g.__setitem__(1, (ENGLISH[1], GOOD[1][1].replace("`ca.device()`", "ca.device()"), False)),
     "code differs"),
    (lambda g: g.__setitem__(2, (ENGLISH[2], "请读[这篇论文](https://arxiv.org/)。", False)), "URL differs"),
])
def test_a_planted_violation_fails_unless_the_page_is_pending(planted, change, problem):
    pot, po = planted
    entries = list(GOOD)
    change(entries)
    _write(po / "chapters" / "page.po", entries)
    report = i18n.compare(pot, po, pending=[])
    assert len(report.errors) == 1 and problem in report.errors[0], report.errors
    pending = i18n.compare(pot, po, pending=["chapters/page"])
    assert pending.errors == [] and len(pending.warnings) == 1 and problem in pending.warnings[0]


def test_missing_and_orphaned_catalogues_fail(planted):
    pot, po = planted
    _write(po / "chapters" / "gone.po", [("Gone", "没了", False)])
    report = i18n.compare(pot, po, pending=["chapters/nonexistent"])
    assert len(report.errors) == 3, report.errors
    assert any("page.po: missing (4 messages)" in e for e in report.errors)
    assert any("gone.po: a catalogue for a page the book no longer has" in e for e in report.errors)
    assert any("PENDING lists 'chapters/nonexistent'" in e for e in report.errors)


def test_a_planted_violation_in_the_real_catalogues_fails(english, tmp_path):
    """Blank one translated message of a finished page: the check of the real book fails on it."""
    from babel.messages import pofile

    finished = [d for d in i18n.compare(english, i18n.CATALOGUES, []).messages
                if d not in i18n.pending_docs()]
    if not finished:
        pytest.skip("every page is still pending translation (locale/PENDING)")
    po = tmp_path / "po"
    shutil.copytree(i18n.CATALOGUES, po)
    path = po / f"{finished[0]}.po"
    with path.open("rb") as f:
        catalog = pofile.read_po(f)
    victim = next(m for m in catalog if m.id and m.string)
    victim.string = ""
    with path.open("wb") as f:
        pofile.write_po(f, catalog)
    report = i18n.compare(english, po, i18n.pending_docs())
    assert [e for e in report.errors if "untranslated" in e and finished[0] in e], report.errors


def test_api_docstrings_are_left_out_of_the_catalogue(english):
    """The package reference translates its own prose; autodoc's docstrings stay English."""
    from babel.messages import pofile

    with (english / "chapters" / "api.pot").open("rb") as f:
        messages = [m for m in pofile.read_po(f) if m.id]
    assert messages and all(path.endswith("api.md") for m in messages for path, _ in m.locations)
    assert "Package reference" in {m.id for m in messages}


@pytest.mark.parametrize("page, language, url", [
    ("intro", "en", "zh/intro.html"),
    ("chapters/04_math", "en", "../zh/chapters/04_math.html"),
    ("intro", "zh_CN", "../intro.html"),
    ("chapters/04_math", "zh_CN", "../../chapters/04_math.html"),
])
def test_language_switch_leads_to_the_same_page(page, language, url):
    assert editions.twin_url(page, language) == url


def test_search_dictionary_keeps_the_glossary_terms_whole():
    """The browser looks a query up whole: 多头注意力 must be one word of the Chinese search index."""
    words = i18n.search_dictionary()
    assert {"多头注意力", "自注意力", "缩放点积注意力", "位置编码", "层归一化"} <= set(words)
    assert all(" " not in w and len(w) >= 2 for w in words)
