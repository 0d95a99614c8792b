"""Checks for the exercises of chapter 6.1, customer service."""

from __future__ import annotations

import re

from ..data.customer_service import URGENCY_CUES, customer_messages
from ._report import exercise, fail, test

# The constants of the exercises, as the notebook defines them above each stub.
TIMES = ["today", "tonight", "right now", "next week", "next month", "later"]
URGENT = ["urgent", "emergency", "asap", "hurry", "today", "tonight", "right now", "can not wait", "can't wait",
          "fraud"]
_GAP = re.compile(r"[\s,.!?-]*(?:please[\s,.!?-]*)?", re.IGNORECASE)  # what may stand between a time and "not"


def expect_text(got, expected: str | None, *, what: str, none_means: str,
                hints: dict[str, str | None] | None = None) -> None:
    """Fail unless ``got`` is the string ``expected``, or ``None`` where ``expected`` is ``None``.

    ``none_means`` says when the function should return ``None``; ``hints`` maps a sentence to a
    typical wrong answer, added to the message when ``got`` is that answer.
    """
    if got is None and expected is not None:
        fail(f"{what} is None: did you forget to `return` it? Expected {expected!r} (None is only for {none_means})")
    if got is not None and not isinstance(got, str):
        fail(f"{what} is a {type(got).__name__}, expected a str or None")
    if got == expected:
        return
    message = (f"{what} is {got!r}, expected None ({none_means})" if expected is None
               else f"{what} is {got!r}, expected {expected!r}")
    for sentence, wrong in (hints or {}).items():
        if got == wrong:
            message += f"\nhint: {sentence}"
            break
    fail(message)


def _is_word(text: str, i: int) -> bool:
    return 0 <= i < len(text) and (text[i].isalnum() or text[i] == "_")


def _phrase_at(text: str, i: int, phrase: str) -> bool:
    """``phrase`` (lower case) at position ``i`` of ``text``, in any case, as whole words."""
    return (text[i:i + len(phrase)].lower() == phrase and not _is_word(text, i - 1)
            and not _is_word(text, i + len(phrase)))


def _swap_times_search(text: str) -> str | None:
    """The brute-force answer: try every time at every position, left to right; the first that fits wins."""
    for i in range(len(text)):
        for a in TIMES:
            if text[i:i + len(a)].lower() != a or _is_word(text, i - 1):
                continue
            j = i + len(a)  # the gap, then "not ", then the second time
            k = _GAP.match(text, j).end()
            if text[k:k + 4].lower() != "not ":
                continue
            for b in TIMES:
                if _phrase_at(text, k + 4, b):
                    end = k + 4 + len(b)
                    return text[:i] + text[k + 4:end] + text[j:k + 3] + " " + text[i:j] + text[end:]
    return None


def _keyword_search(text: str) -> int:
    """The brute-force answer: look for each phrase at every position, as whole words."""
    return int(any(_phrase_at(text, i, p) for p in URGENT for i in range(len(text))))


@exercise("06_1_customer_service", 1, "swap the times")
def swap_times(swap_times):
    """``swap_times(text) -> str | None``: swap the two times of an order cue "<time>, not <time>"."""
    none = "messages without the pattern <time>, not <time>"
    cases = [
        ("an order cue", "i need it today, not next week", "i need it next week, not today"),
        ("'please' and punctuation in between", "today please, not tonight", "tonight please, not today"),
        ("any case, kept as written", "Hi, please fix it later - NOT right now!",
         "Hi, please fix it right now - NOT later!"),
        ("a lone time before the pattern stays", "i checked today. i need it later, not right now",
         "i checked today. i need it right now, not later"),
        ("capitals in the times", "Today, not next month", "next month, not Today"),
    ]
    for label, text, expected in cases:
        with test(f"{label}: {text!r} -> {expected!r}"):
            expect_text(swap_times(text), expected, what=f"swap_times({text!r})", none_means=none, hints={
                "keep the message as written: match in any case (re.IGNORECASE) instead of lower-casing it":
                    expected.lower(),
                "the two times change places; everything between them (punctuation, 'please', 'not') stays":
                    text,
            })
    for text in ["my parcel is late", "i need it tody, not next week", "not today", "today or tomorrow, not later"]:
        with test(f"no such pattern: {text!r} -> None"):
            expect_text(swap_times(text), None, what=f"swap_times({text!r})", none_means=none, hints={
                "return None, not the message, when there is nothing to swap": text,
            })
    data = customer_messages(400, generator=11)
    order = URGENCY_CUES.index("order")
    for label, texts in [
        ("order-cue messages", [t for t, c in zip(data["texts"], data["urgency_cue"].tolist()) if c == order]),
        ("other messages", [t for t, c in zip(data["texts"], data["urgency_cue"].tolist()) if c != order][:150]),
    ]:
        with test(f"{len(texts)} generated {label} (greetings, typos, NOT): agree with a brute-force search"):
            for text in texts:
                expect_text(swap_times(text), _swap_times_search(text), what=f"swap_times({text!r})",
                            none_means=none)


@exercise("06_1_customer_service", 2, "a keyword rule")
def keyword_urgency(keyword_urgency):
    """``keyword_urgency(text) -> 1 or 0``: 1 if the message contains a phrase of ``URGENT`` as whole words."""
    def expect_flag(got, expected, what, hints=None):
        if got is None:
            fail(f"{what} is None: did you forget to `return` it?")
        if not isinstance(got, int) or got not in (0, 1):  # True and False pass: they are 1 and 0
            fail(f"{what} is {got!r}, expected 0 or 1" if isinstance(got, int)
                 else f"{what} is a {type(got).__name__}, expected 0 or 1")
        if got != expected:
            message = f"{what} is {int(got)}, expected {expected}"
            for sentence, applies in (hints or {}).items():
                if applies:
                    message += f"\nhint: {sentence}"
                    break
            fail(message)

    cases = [
        ("a phrase in capitals", "Please HURRY, my card is gone", 1,
         "lower-case the message before you look for the phrases"),
        ("a phrase of two words", "i need it right now", 1, ""),
        ("an apostrophe inside the phrase", "It can't wait!", 1, ""),
        ("a phrase next to punctuation", "asap!! my card is blocked", 1, ""),
        ("a negated phrase (a keyword rule cannot read negation)", "this is not urgent", 1, ""),
        ("'now' inside 'know'", "i know it can wait", 0, ""),
        ("'urgent' inside 'urgently'", "please reply urgently", 0,
         "match whole words: \\b on both sides of the phrase, re.search(rf\"\\b{re.escape(p)}\\b\", text)"),
        ("'fraud' inside 'fraudulent'", "a fraudulent charge", 0,
         "match whole words: \\b on both sides of the phrase, re.search(rf\"\\b{re.escape(p)}\\b\", text)"),
        ("no phrase at all", "take your time, it is a small thing", 0, ""),
        ("an empty message", "", 0, ""),
    ]
    for label, text, expected, hint in cases:
        with test(f"{label}: {text!r} -> {expected}"):
            expect_flag(keyword_urgency(text), expected, f"keyword_urgency({text!r})", {hint: bool(hint)})
    data = customer_messages(400, generator=12)
    with test("400 generated messages: agree with a brute-force search for each phrase"):
        for text in data["texts"]:
            expect_flag(keyword_urgency(text), _keyword_search(text), f"keyword_urgency({text!r})")
