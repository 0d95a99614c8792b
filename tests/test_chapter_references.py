"""No hand-typed references to the book's own sections.

Sections of the book are referred to with MyST labels (``{ref}`label``` / ``{numref}`label```,
targets written ``(label)=``), never by a typed number: numbers move when the table of contents
does, and the source article's own section numbers sit in the same sentences.

The rule, applied to the markdown cells of every notebook and to every .md page that _toc.yml
lists (headings, code spans, fenced code, math and MyST roles are left out):

* ``§`` followed by a digit, or the words Section/Chapter/Part (any case, singular or plural)
  followed by a number, or ``第 N 章/节``, is a **numbered reference**;
* it is allowed only when it points outside the book: when, in the same sentence and before it,
  there is a source marker: the word "source" (the source article: "the source's §4.1",
  "Correction of the source (§4.1, §4.2)", "Source: §3 …"), 源文 or 原文, or a paper citation
  ("et al." or a year such as 2017: "Vaswani et al. (2017, §3.2.1)"); or when it is followed
  at once by "of the source" / "in the source" ("Section 6 of the source article");
* every other numbered reference is hand-typed and fails the test.
"""

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import book_files  # noqa: E402

NUMBERED = re.compile(
    r"§\s*\d"
    r"|\b(?:sections?|chapters?|parts?|sect\.)\s+\d"
    r"|第\s*\d+\s*[章节]",
    re.IGNORECASE,
)
MARKER = re.compile(r"\bsource\b|源文|原文|\bet al\b|\b(?:19|20)\d\d\b", re.IGNORECASE)
# "Section 6 of the source article", "§2 in the source"
SOURCE_AFTER = re.compile(r"[\d.]*\s+(?:of|in) the source\b", re.IGNORECASE)
# What a sentence ends with: a full stop, question or exclamation mark before a space, or a
# blank line; abbreviations that contain a full stop are rewritten first.
SENTENCE_END = re.compile(r"[.?!。？！]\s|\n\s*\n")
ABBREVIATIONS = re.compile(r"\bet al\.|\be\.g\.|\bi\.e\.|\bcf\.|\bvs\.|\bsect\.", re.IGNORECASE)
SKIP = [
    re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL),  # fenced code and directives' code
    re.compile(r"\$\$.*?\$\$", re.DOTALL),  # display math
    re.compile(r"\{[a-z]+\}`[^`]*`"),  # MyST roles: {ref}`…`, {numref}`…`
    re.compile(r"`[^`\n]*`"),  # code spans
    re.compile(r"\$[^$\n]+\$"),  # inline math
    re.compile(r"^\s*#.*$", re.MULTILINE),  # headings (they are targets, not references)
]


def prose(text: str) -> str:
    for pattern in SKIP:
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    return ABBREVIATIONS.sub(lambda m: m.group().replace(".", " "), text)


def hand_typed_references(text: str) -> list[str]:
    """The numbered references of ``text`` that point at the book itself, with some context."""
    text = prose(text)
    found = []
    for match in NUMBERED.finditer(text):
        before = text[: match.start()]
        ends = list(SENTENCE_END.finditer(before))
        sentence = before[ends[-1].end():] if ends else before
        after = text[match.end(): match.end() + 40]
        if not MARKER.search(sentence) and not SOURCE_AFTER.match(after):
            start = max(0, match.start() - 40)
            found.append(" ".join(text[start: match.end() + 20].split()))
    return found


def book_pages() -> list[Path]:
    return [p for p in book_files.toc_files() if p.suffix in (".ipynb", ".md")]


def markdown_of(path: Path) -> list[tuple[str, str]]:
    if path.suffix == ".md":
        return [(path.name, path.read_text())]
    nb = nbformat.read(path, as_version=4)
    return [(f"{path.name} cell {i}", c.source) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]


@pytest.mark.parametrize("path", book_pages(), ids=lambda p: p.name)
def test_no_hand_typed_references_to_the_book(path):
    problems = [f"{where}: …{hit}…" for where, text in markdown_of(path) for hit in hand_typed_references(text)]
    assert problems == [], (
        "refer to the book's sections with {ref}`label` (targets: (label)=), not a typed number; "
        "say 'the source's §4.1' for the source article:\n" + "\n".join(problems)
    )


@pytest.mark.parametrize(
    "text",
    [
        "The gradient vanishes, as §3 shows.",
        "See §2.1 for the derivation.",
        "Section 4.2 measures it.",
        "This is done in Chapter 5.",
        "(see chapters 3 and 4)",
        "见第 3 章。",
        "The source's §4.1 is wrong. The softmax (§3) is taken row by row.",
    ],
)
def test_rule_fails_on_a_planted_violation(text):
    assert hand_typed_references(text), text


@pytest.mark.parametrize(
    "text",
    [
        "the source's §4.1 writes the formula without the factor",
        ":::{admonition} Correction of the source (§4.1, §4.2)\n:class: warning\nIt is wrong.\n:::",
        "Source: §3 核心算法原理 (3.1 原理概述).",
        "源文 §4.1 的公式",
        "Vaswani et al. (2017, §3.2.1) scale the dot product.",
        "as {ref}`the section on scaling <math-scaling>` shows",
        "## 3 One model per task\nThe code `x[§3]` and $§3$ are not prose.",
        "The source lists it in §3.3 and again in §8.",
        "Section 6 of the source article lists four fields.",
    ],
)
def test_rule_allows_the_source_papers_and_labels(text):
    assert hand_typed_references(text) == [], text
