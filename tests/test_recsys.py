"""Ranking metrics against hand-computed values and a brute-force reference."""

import math

import pytest
import torch

from course_attn.recsys import full_ranks, hit_rate, ndcg, sampled_ranks


def brute_force_rank(scores, target, excluded):
    """One user: sort the candidates by score, worst case for ties, and find the target."""
    candidates = [i for i in range(len(scores)) if i not in excluded]
    own = scores[target]
    # every other candidate scoring at least as high comes first
    ahead = [i for i in candidates if i != target and scores[i] >= own]
    return len(ahead) + 1


def test_full_ranks_by_hand():
    scores = torch.tensor([[9.0, 0.5, 0.9, 0.1, 0.7],
                           [9.0, 0.5, 0.9, 0.1, 0.7]])
    target = torch.tensor([4, 4])
    # item 0 is padding and excluded in both rows; row 1 also excludes item 2 (seen)
    exclude = torch.tensor([[0, 0], [0, 2]])
    assert full_ranks(scores, target, exclude=exclude).tolist() == [2, 1]
    assert full_ranks(scores, target).tolist() == [3, 3], "without exclusion item 0 counts"


def test_ties_count_against_the_target():
    scores = torch.zeros(3, 6)
    target = torch.tensor([1, 2, 5])
    assert full_ranks(scores, target).tolist() == [6, 6, 6], "a constant scorer is ranked last"
    assert full_ranks(scores, target, exclude=torch.tensor([[0], [0], [0]])).tolist() == [5, 5, 5]
    scores = torch.tensor([[0.0, 1.0, 1.0, 2.0]])
    assert full_ranks(scores, torch.tensor([1])).tolist() == [3]


def test_full_ranks_match_brute_force():
    g = torch.Generator().manual_seed(1)
    N, I = 50, 30
    scores = torch.randint(0, 8, (N, I), generator=g).float()  # many ties
    seen = torch.randint(0, I, (N, 7), generator=g)
    target = torch.stack([torch.tensor([i for i in range(I) if i not in row.tolist()][0]) for row in seen])
    ranks = full_ranks(scores, target, exclude=seen)
    for n in range(N):
        assert ranks[n] == brute_force_rank(scores[n].tolist(), int(target[n]), set(seen[n].tolist()))
    # ids and the equivalent bool mask give the same ranks
    mask = torch.zeros(N, I, dtype=torch.bool).scatter_(1, seen, True)
    assert torch.equal(full_ranks(scores, target, exclude=mask), ranks)


def test_hit_rate_and_ndcg_by_hand():
    ranks = torch.tensor([1, 2, 11, 10])
    assert hit_rate(ranks, 10) == pytest.approx(0.75)
    assert hit_rate(ranks, 1) == pytest.approx(0.25)
    expected = (1 / math.log2(2) + 1 / math.log2(3) + 0 + 1 / math.log2(11)) / 4
    assert ndcg(ranks, 10) == pytest.approx(expected)
    assert ndcg(torch.ones(5, dtype=torch.long), 10) == pytest.approx(1.0)
    # NDCG@k with one relevant item equals the mean discounted gain of the sorted list
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(40, 25, generator=g)
    target = torch.randint(0, 25, (40,), generator=g)
    order = scores.argsort(dim=1, descending=True)[:, :10]  # top-10 list per user
    hits = order == target[:, None]  # (40, 10)
    dcg = (hits.double() / torch.log2(torch.arange(2, 12).double())).sum(1)
    assert ndcg(full_ranks(scores, target), 10) == pytest.approx(dcg.mean().item())
    assert hit_rate(full_ranks(scores, target), 10) == pytest.approx(hits.any(1).double().mean().item())


def test_sampled_ranks():
    g = torch.Generator().manual_seed(0)
    N, I = 400, 60
    scores = torch.randn(N, I, generator=g)
    target = torch.randint(1, I, (N,), generator=g)
    exclude = torch.zeros(N, 1, dtype=torch.long)  # item 0 is padding
    full = full_ranks(scores, target, exclude=exclude)
    # all 58 other items as negatives: the sampled rank is the full rank
    assert torch.equal(sampled_ranks(scores, target, I - 2, exclude=exclude, generator=g), full)
    # with n of the C = 58 negatives, E[rank - 1] = (full rank - 1) * n / C
    draws = torch.stack([sampled_ranks(scores, target, 10, exclude=exclude, generator=g) for _ in range(200)])
    assert draws.min() >= 1 and draws.max() <= 11
    mean = (draws - 1).double().mean(0)  # (N,)
    expected = (full - 1).double() * 10 / (I - 2)
    assert (mean - expected).abs().max() < 0.6  # sd of a mean of 200 draws is at most ~0.12
    # never samples an excluded item: giving item 0 the top score changes no sampled rank
    rigged = scores.clone()
    rigged[:, 0] = 100.0
    same_draws = [torch.Generator().manual_seed(5) for _ in range(2)]
    assert torch.equal(sampled_ranks(rigged, target, 20, exclude=exclude, generator=same_draws[0]),
                       sampled_ranks(scores, target, 20, exclude=exclude, generator=same_draws[1]))
    assert not torch.equal(full_ranks(rigged, target), full_ranks(scores, target))
    # deterministic with a seeded generator
    a = sampled_ranks(scores, target, 10, generator=torch.Generator().manual_seed(3))
    b = sampled_ranks(scores, target, 10, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_errors():
    scores, target = torch.randn(2, 5), torch.tensor([1, 2])
    with pytest.raises(ValueError, match="excluded"):
        full_ranks(scores, target, exclude=torch.tensor([[0, 1], [0, 3]]))
    with pytest.raises(ValueError, match="target"):
        full_ranks(scores, torch.tensor([1, 5]))
    with pytest.raises(TypeError, match="target must hold integers, got dtype torch.float32"):
        full_ranks(scores, torch.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="scores must hold floating-point values, got dtype torch.int64"):
        full_ranks(torch.randint(0, 3, (2, 5)), target)
    with pytest.raises(ValueError, match="NaN"):
        full_ranks(torch.full((2, 5), math.nan), target)
    with pytest.raises(ValueError, match="exclude"):
        full_ranks(scores, target, exclude=torch.zeros(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="exclude"):
        full_ranks(scores, target, exclude=torch.tensor([[0], [7]]))
    with pytest.raises(ValueError, match="num_negatives"):
        sampled_ranks(scores, target, 5)
    with pytest.raises(ValueError, match="num_negatives"):
        sampled_ranks(scores, target, 0)
    with pytest.raises(ValueError, match="k must be a positive int, got 0"):
        hit_rate(torch.tensor([1, 2]), 0)
    with pytest.raises(ValueError, match="ranks start at 1"):
        ndcg(torch.tensor([0, 2]), 10)
