"""Checks for the exercises of chapter 6.2, financial news."""

from __future__ import annotations

import torch

from ._report import exercise, expect_close, expect_tensor, fail, test


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


def _correct(n: int, p: float) -> torch.Tensor:
    """``(n,)`` bool: which of ``n`` test examples a model got right, each with probability ``p``."""
    return torch.rand(n) < p


def _gaps(correct_a, correct_b, reps, seed, *, independent=False, without_replacement=False):
    """The reference answers: the first one is right, the others are typical mistakes."""
    g = torch.Generator().manual_seed(seed)
    n = len(correct_a)
    if without_replacement:
        idx = torch.stack([torch.randperm(n, generator=g) for _ in range(reps)])  # (reps, N)
    else:
        idx = torch.randint(0, n, (reps, n), generator=g)  # (reps, N)
    idx_b = torch.randint(0, n, (reps, n), generator=g) if independent else idx
    return correct_a[idx].double().mean(1) - correct_b[idx_b].double().mean(1)  # (reps,)


@exercise("06_2_financial_news", 2, "how sure is a gap on one test set?")
def bootstrap_gap(bootstrap_gap):
    """``bootstrap_gap(correct_a (N,) bool, correct_b (N,) bool, reps, generator) -> (reps,)``: the
    accuracy of model A minus that of model B on ``reps`` resamples of the test set."""
    for n, reps, pa, pb, seed in [(200, 50, 0.8, 0.7, 0), (1000, 300, 0.85, 0.84, 1), (7, 20, 0.5, 0.5, 2)]:
        with test(f"{n} test examples, {reps} resamples: the same draws as one "
                  f"torch.randint(0, N, (reps, N), generator=generator)"):
            a, b = _correct(n, pa), _correct(n, pb)
            got = bootstrap_gap(a, b, reps, torch.Generator().manual_seed(seed))
            got = expect_tensor(got, shape=(reps,), what=f"bootstrap_gap(a, b, {reps}, generator)")
            expect_close(got, _gaps(a, b, reps, seed), what=f"bootstrap_gap(a, b, {reps}, generator)", hints={
                "resample the examples, not the models separately: one index matrix for both, so that "
                "each resample compares A and B on the same reviews": _gaps(a, b, reps, seed, independent=True),
                "A minus B, not B minus A": -_gaps(a, b, reps, seed),
                "draw with replacement (torch.randint), not a permutation: a permutation of the whole test "
                "set gives the same accuracy every time": _gaps(a, b, reps, seed, without_replacement=True),
            })
    with test("two copies of one model: a gap of exactly 0 in every resample"):
        a = _correct(300, 0.8)
        expect_close(bootstrap_gap(a, a.clone(), 40, torch.Generator().manual_seed(3)),
                     torch.zeros(40, dtype=torch.float64), what="bootstrap_gap(a, a, 40, generator)")
    with test("A right wherever B is, and on 30 more of 300: every gap is positive, 0.1 on average"):
        b = _correct(300, 0.6)
        a = b.clone()
        a[(~b).nonzero()[:30, 0]] = True
        got = expect_tensor(bootstrap_gap(a, b, 500, torch.Generator().manual_seed(4)), shape=(500,),
                            what="bootstrap_gap(a, b, 500, generator)")
        if not (got > 0).all():
            fail(f"bootstrap_gap(a, b, 500, generator) has {int((got <= 0).sum())} gaps <= 0: every resample "
                 "should favour A, which is right wherever B is (did you resample A and B separately?)")
        expect_close(got.mean(), torch.tensor(0.1, dtype=torch.float64), atol=0.01,
                     what="the mean gap over 500 resamples")
    with test("correct_a and correct_b are left unchanged"):
        a, b = _correct(50, 0.7), _correct(50, 0.6)
        a0, b0 = a.clone(), b.clone()
        bootstrap_gap(a, b, 10, torch.Generator().manual_seed(5))
        expect_close(a, a0, what="correct_a after the call")
        expect_close(b, b0, what="correct_b after the call")
