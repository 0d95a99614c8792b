"""Checks for the exercises of chapter 6.2, financial news."""

from __future__ import annotations

import torch

from ..data import finance
from ._report import exercise, expect_close, expect_tensor, fail, test
from .ch06_1 import expect_text


def _ewma_loop(neg, n, alpha):
    """The brute-force answer: one day after the other, in float64, for each topic."""
    T, D = neg.shape
    out = torch.empty(T, D, dtype=torch.float64)
    for t in range(T):
        num, den = float(neg[t, 0]), float(n[t, 0])
        for d in range(D):
            if d:
                num = alpha * float(neg[t, d]) + (1 - alpha) * num
                den = alpha * float(n[t, d]) + (1 - alpha) * den
            out[t, d] = num / max(den, 1e-9)
    return out.to(neg.dtype)


def _ewma_from_zero(neg, n, alpha):  # a typical mistake: N_0 = alpha * neg_0
    pad = torch.zeros(neg.shape[0], 1, dtype=neg.dtype)
    return _ewma_loop(torch.cat([pad, neg], 1), torch.cat([pad, n], 1), alpha)[:, 1:]


def _counts(T, D, *, empty_days=0):
    """Random daily counts: ``n`` headlines, ``neg`` of them negative, ``(T, D)`` float."""
    n = torch.randint(1, 12, (T, D)).float()
    n[:, :empty_days] = 0
    neg = (torch.rand(T, D) * (n + 1)).floor().clamp(max=n)
    return neg, n


@exercise("06_2_financial_news", 1, "an exponentially weighted signal")
def ewma_share(ewma_share):
    """``ewma_share(neg (T, D), n (T, D), alpha) -> (T, D)``: the ratio of two EWMAs of the daily counts."""
    for T, D, alpha in [(6, 40, 0.4), (2, 5, 1.0), (3, 25, 0.05)]:
        with test(f"{T} topics, {D} days, alpha = {alpha}: agrees with a loop over the days"):
            neg, n = _counts(T, D)
            daily = neg / n
            expect_close(ewma_share(neg, n, alpha), _ewma_loop(neg, n, alpha), what=f"ewma_share(neg, n, {alpha})",
                         hints={
                "alpha weighs the new day: N_d = alpha * neg_d + (1 - alpha) * N_(d-1), not the other way round":
                    _ewma_loop(neg, n, 1 - alpha),
                "start from the first day's counts, N_0 = neg_0 and M_0 = n_0, not from 0":
                    _ewma_from_zero(neg, n, alpha),
                "smooth the counts, then divide (N / M); an average of the daily shares neg / n weighs a day "
                "of 1 headline like a day of 10": _ewma_loop(daily, torch.ones_like(daily), alpha),
            })
    with test("a constant share of 0.25 stays 0.25 on every day"):
        counts = torch.full((2, 30), 8.0)
        expect_close(ewma_share(0.25 * counts, counts, 0.3), torch.full((2, 30), 0.25),
                     what="ewma_share(0.25 * counts, counts, 0.3)")
    with test("no headline on the first 3 days: share 0 there, no NaN (clamp M to at least 1e-9)"):
        neg, n = _counts(3, 12, empty_days=3)
        got = expect_tensor(ewma_share(neg, n, 0.4), shape=(3, 12), what="ewma_share(neg, n, 0.4)")
        if torch.isnan(got).any():
            fail("ewma_share(neg, n, 0.4) holds NaN on the days before the first headline: 0 / 0; "
                 "divide by M.clamp(min=1e-9)")
        expect_close(got, _ewma_loop(neg, n, 0.4), what="ewma_share(neg, n, 0.4)")
    with test("neg and n are left unchanged (work on copies)"):
        neg, n = _counts(2, 10)
        neg0, n0 = neg.clone(), n.clone()
        ewma_share(neg, n, 0.4)
        expect_close(neg, neg0, atol=0, rtol=0, what="neg after the call")
        expect_close(n, n0, atol=0, rtol=0, what="n after the call")


def _event_headlines():
    """Every (headline, expected) of the event construction: actor, frame, event."""
    affirm, negated, hedged = [], [], []
    for topic, actors in finance._ACTORS.items():
        for actor in actors:
            for event, _ in finance._EVENTS[topic]:
                for frame in finance._AFFIRM:
                    affirm.append((finance._cap(f"{actor} {frame} {event}"),
                                   finance._cap(f"{actor} rules out {event}")))
                negated += [(finance._cap(f"{actor} {frame} {event}"), None) for frame in finance._NEGATE]
                hedged += [(finance._cap(f"{actor} {frame} {event}"), None) for frame in finance._WEIGH]
    return affirm, negated, hedged


@exercise("06_2_financial_news", 2, "negated events")
def negate(negate):
    """``negate(text) -> str | None``: an affirming frame (announces, confirms, plans) becomes "rules out"."""
    none = "headlines without an affirming frame, or that already negate"
    with test("the examples of the exercise"):
        for text, expected in [("Orbis Bank announces dividend cut", "Orbis Bank rules out dividend cut"),
                               ("OPEC+ plans output cuts", "OPEC+ rules out output cuts"),
                               ("The Treasury confirms debt buyback", "The Treasury rules out debt buyback"),
                               ("Orbis Bank denies plans for dividend cut", None),
                               ("Bitcoin rises 2%", None)]:
            expect_text(negate(text), expected, what=f"negate({text!r})", none_means=none)
    affirm, negated, hedged = _event_headlines()
    with test(f"all {len(affirm)} event headlines with an affirming frame: the frame becomes 'rules out'"):
        for text, expected in affirm:
            expect_text(negate(text), expected, what=f"negate({text!r})", none_means=none)
    with test(f"all {len(negated)} event headlines that already negate ('rules out', 'denies plans for', "
              "'scraps'): None"):
        for text, expected in negated:
            expect_text(negate(text), expected, what=f"negate({text!r})", none_means=none, hints={
                "'denies plans for' already negates: look for the negating frames first and return None":
                    text.replace(" plans ", " rules out "),
            })
    with test(f"all {len(hedged)} hedged event headlines ('weighs', 'considers', 'is said to weigh'): None"):
        for text, expected in hedged:
            expect_text(negate(text), expected, what=f"negate({text!r})", none_means=none)
    data = finance.financial_headlines(300, generator=5)
    event = finance.CONSTRUCTIONS.index("event")
    others = [t for t, c in zip(data["texts"], data["construction"].tolist()) if c != event]
    with test(f"{len(others)} generated headlines of the other constructions (moves, contrasts...): None"):
        for text in others:
            expect_text(negate(text), None, what=f"negate({text!r})", none_means=none, hints={
                "return None, not the headline, when there is no frame to negate": text,
            })
