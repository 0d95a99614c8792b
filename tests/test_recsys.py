"""Ranking metrics against hand-computed values and a brute-force reference."""

import math

import pytest
import torch

from course_attn.recsys import (
    ItemKNN, Markov, MarkovKNN, Popularity, evaluate, full_ranks, grid_search, hit_rate, leave_one_out, left_pad,
    ndcg, next_item_windows, sampled_ranks, user_sequences,
)


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


# ----- sequences, split and training windows


def test_user_sequences_sort_by_time_and_keep_input_order_on_ties():
    user = torch.tensor([2, 1, 2, 1, 2, 1])
    item = torch.tensor([5, 9, 3, 8, 7, 1])
    time = torch.tensor([30, 10, 10, 10, 20, 5])
    seqs = user_sequences(user, item, time)
    # user 1: item 1 at t=5, then 9 and 8 both at t=10 in input order; user 2: 3, 7, 5
    assert [s.tolist() for s in seqs] == [[1, 9, 8], [3, 7, 5]]
    # relabelling the items does not change the order (ties are not broken by id)
    relabelled = user_sequences(user, 100 - item, time)
    assert [s.tolist() for s in relabelled] == [[99, 91, 92], [97, 93, 95]]


def test_left_pad_and_leave_one_out_by_hand():
    seqs = [torch.tensor([4, 5, 6, 7]), torch.tensor([1, 2, 3])]
    ids, mask = left_pad(seqs, 3)
    assert ids.tolist() == [[5, 6, 7], [1, 2, 3]] and mask.all()
    ids, mask = left_pad(seqs, 5)
    assert ids.tolist() == [[0, 4, 5, 6, 7], [0, 0, 1, 2, 3]]
    assert mask.tolist() == [[False, True, True, True, True], [False, False, True, True, True]]
    split = leave_one_out(seqs)
    assert [s.tolist() for s in split["train"]] == [[4, 5], [1]]
    assert split["valid"]["history"].tolist() == [[4, 5], [0, 1]]
    assert split["valid"]["target"].tolist() == [6, 2]
    assert split["test"]["history"].tolist() == [[4, 5, 6], [0, 1, 2]]
    assert split["test"]["target"].tolist() == [7, 3]


def test_next_item_windows_hold_every_pair_once():
    g = torch.Generator().manual_seed(0)
    seqs = [torch.randint(1, 30, (int(n),), generator=g) for n in torch.randint(2, 25, (40,), generator=g)]
    windows = next_item_windows(seqs, 6)
    ids, mask, labels = windows["input_ids"], windows["key_mask"], windows["labels"]
    assert torch.equal(mask, ids > 0) and torch.equal(labels == -100, ~mask)
    found = sorted(zip(ids[mask].tolist(), labels[mask].tolist()))
    expected = sorted((a, b) for s in seqs for a, b in zip(s[:-1].tolist(), s[1:].tolist()))
    assert found == expected
    # by hand: 7 items = 6 pairs = one full window; 8 items = a window of 6 and one of 1
    w = next_item_windows([torch.arange(1, 9)], 6)
    assert w["input_ids"].tolist() == [[2, 3, 4, 5, 6, 7], [0, 0, 0, 0, 0, 1]]
    assert w["labels"].tolist() == [[3, 4, 5, 6, 7, 8], [-100] * 5 + [2]]


# ----- baselines


def brute_force_knn(seqs, num_items, history, decay, neighbours=None):
    """Item-KNN from loops: cosine over user sets, top neighbours per item, recency weights."""
    sets = [set(s.tolist()) for s in seqs]
    count = lambda *items: sum(all(i in s for i in items) for s in sets)  # noqa: E731
    sim = torch.zeros(num_items, num_items, dtype=torch.float64)
    for i in range(1, num_items):
        for j in range(1, num_items):
            if i != j and count(i, j):
                sim[i, j] = count(i, j) / math.sqrt(max(count(i), 1) * max(count(j), 1))
    if neighbours is not None:
        for i in range(num_items):
            keep = sorted(range(num_items), key=lambda j: -sim[i, j])[:neighbours]
            sim[i, [j for j in range(num_items) if j not in keep]] = 0
    out = torch.zeros(len(history), num_items, dtype=torch.float64)
    for n, row in enumerate(history.tolist()):
        real = [x for x in row if x > 0]
        for age, item in enumerate(reversed(real)):
            out[n] += decay ** age * sim[item]
        out[n] /= max(out[n].sum().item(), 1e-30)
    return out


def test_item_knn_by_hand():
    # users: {1, 2}, {1, 2, 3}, {3}; c11 = 2, c22 = 2, c33 = 2, c12 = 2, c13 = 1, c23 = 1
    seqs = [torch.tensor([1, 2]), torch.tensor([1, 2, 3]), torch.tensor([3])]
    knn = ItemKNN().fit(seqs, 5)
    assert knn.similarity[1, 2].item() == pytest.approx(1.0)
    assert knn.similarity[1, 3].item() == pytest.approx(0.5)
    assert knn.similarity[2, 2].item() == 0.0
    # history [1] scores 2 (sim 1) and 3 (sim 0.5): distribution 2/3, 1/3
    scores = knn.scores(torch.tensor([[0, 1]]))
    assert scores[0, 2].item() == pytest.approx(2 / 3) and scores[0, 3].item() == pytest.approx(1 / 3)
    # item 4 was never seen: it only gets the popularity tie-break (0 here), below everything
    assert scores[0, 4].item() == 0.0 and scores[0, 0].item() == 0.0
    # decay 0.5 on history [3, 1]: 1 is recent (weight 1), 3 is older (weight 0.5)
    scores = ItemKNN(decay=0.5).fit(seqs, 5).scores(torch.tensor([[3, 1]]))
    raw = {2: 1.0 + 0.5 * 0.5, 1: 0.5 * 0.5, 3: 0.5}  # 2: sim(1,2) + .5 sim(3,2); 1: .5 sim(3,1); 3: sim(1,3)
    total = sum(raw.values())
    for item, value in raw.items():
        assert scores[0, item].item() == pytest.approx(value / total, abs=1e-6)


@pytest.mark.parametrize("neighbours,decay", [(None, 1.0), (None, 0.7), (3, 0.5)])
def test_item_knn_matches_brute_force(neighbours, decay):
    g = torch.Generator().manual_seed(2)
    I = 12
    seqs = [torch.randperm(I - 1, generator=g)[: int(n)] + 1 for n in torch.randint(2, 7, (25,), generator=g)]
    history = left_pad(seqs[:10], 8)[0]
    knn = ItemKNN(neighbours, decay).fit(seqs, I)
    expected = brute_force_knn(seqs, I, history, decay, neighbours)
    assert torch.allclose(knn.scores(history), expected, atol=1e-6)


def test_markov_by_hand_and_brute_force():
    seqs = [torch.tensor([1, 2, 3]), torch.tensor([1, 2]), torch.tensor([1, 3])]
    markov = Markov().fit(seqs, 5)
    # after 1: 2 twice, 3 once; after 2: 3 once; nothing ever follows 3
    assert markov.transitions[1, 2].item() == pytest.approx(2 / 3)
    assert markov.transitions[1, 3].item() == pytest.approx(1 / 3)
    assert markov.transitions[2, 3].item() == pytest.approx(1.0)
    scores = markov.scores(torch.tensor([[2, 1], [0, 3]]))  # last items 1 and 3
    assert scores[0, 2] > scores[0, 3] > scores[0, 1] > scores[0, 4]
    # after 3 nothing is known: popularity orders the items (1 three times, 2 and 3 twice, 4 never)
    assert scores[1, 1] > scores[1, 2] == scores[1, 3] > scores[1, 4] == 0
    # decay mixes the rows of the last items, brute force
    g = torch.Generator().manual_seed(3)
    I = 9
    seqs = [torch.randint(1, I, (int(n),), generator=g) for n in torch.randint(2, 9, (30,), generator=g)]
    counts = torch.zeros(I, I, dtype=torch.float64)
    for s in seqs:
        for a, b in zip(s[:-1].tolist(), s[1:].tolist()):
            counts[a, b] += 1
    rows = counts / counts.sum(1, keepdim=True).clamp(min=1)
    history = left_pad(seqs[:6], 5)[0]
    expected = torch.zeros(6, I, dtype=torch.float64)
    for n, row in enumerate(history.tolist()):
        for age, item in enumerate(reversed([x for x in row if x > 0])):
            expected[n] += 0.6 ** age * rows[item]
    expected /= expected.sum(1, keepdim=True)
    assert torch.allclose(Markov(0.6).fit(seqs, I).scores(history), expected, atol=1e-6)


def test_popularity_and_the_mix():
    seqs = [torch.tensor([1, 2, 3]), torch.tensor([1, 2]), torch.tensor([1, 3]), torch.tensor([4, 1])]
    history = torch.tensor([[0, 2], [3, 1]])
    pop = Popularity().fit(seqs, 6).scores(history)
    assert pop[0].tolist() == pytest.approx([0, 4 / 9, 2 / 9, 2 / 9, 1 / 9, 0], abs=1e-8)
    assert torch.equal(pop[0], pop[1]), "the same list for everyone"
    markov, knn = Markov().fit(seqs, 6), ItemKNN(decay=0.5).fit(seqs, 6)
    for weight in (0.0, 0.3, 1.0):
        mix = MarkovKNN(weight, Markov(), ItemKNN(decay=0.5)).fit(seqs, 6).scores(history)
        expected = weight * markov.scores(history) + (1 - weight) * knn.scores(history)
        assert torch.allclose(mix, expected, atol=1e-8)
        ready = MarkovKNN(weight, markov, knn).scores(history)  # parts already fitted: no refit needed
        assert torch.equal(ready, mix)


def test_grid_search():
    best, table = grid_search(lambda a, b: -(a - 2) ** 2 - abs(b), {"a": [1, 2, 3], "b": [-1, 0]})
    assert best == {"a": 2, "b": 0}
    assert [p for p, _ in table][:3] == [{"a": 1, "b": -1}, {"a": 1, "b": 0}, {"a": 2, "b": -1}]
    assert table[3] == ({"a": 2, "b": 0}, 0.0)
    best, _ = grid_search(lambda a: 1.0, {"a": [5, 6]})
    assert best == {"a": 5}, "the first of equal values"


def test_evaluate_is_hr_and_ndcg_of_the_full_ranks():
    g = torch.Generator().manual_seed(4)
    scores, target = torch.randn(30, 20, generator=g), torch.randint(1, 20, (30,), generator=g)
    ranks = full_ranks(scores, target, exclude=torch.zeros(30, 1, dtype=torch.long))
    got = evaluate(scores, target, exclude=torch.zeros(30, 1, dtype=torch.long), k=5)
    assert got == {"HR@5": hit_rate(ranks, 5), "NDCG@5": ndcg(ranks, 5)}


def test_baseline_and_split_errors():
    seqs = [torch.tensor([1, 2, 3])]
    with pytest.raises(RuntimeError, match="not fitted"):
        ItemKNN().scores(torch.tensor([[1, 2]]))
    with pytest.raises(ValueError, match=r"sequences\[0\] must hold item ids in \[0, 3\)"):
        Markov().fit(seqs, 3)
    with pytest.raises(ValueError, match="history must hold item ids"):
        Popularity().fit(seqs, 4).scores(torch.tensor([[1, 9]]))
    with pytest.raises(TypeError, match="history must hold integers"):
        Popularity().fit(seqs, 4).scores(torch.tensor([[1.0, 2.0]]))
    with pytest.raises(ValueError, match="decay must be a finite number in \\(0, 1\\], got 0.0"):
        ItemKNN(decay=0.0)
    with pytest.raises(ValueError, match="decay must be a finite number in \\[0, 1\\), got 1.0"):
        Markov(decay=1.0)
    with pytest.raises(ValueError, match="neighbours must be a positive int, got 0"):
        ItemKNN(neighbours=0)
    with pytest.raises(ValueError, match="weight must be a finite number in \\[0, 1\\], got 1.5"):
        MarkovKNN(1.5, Markov(), ItemKNN())
    with pytest.raises(TypeError, match="knn must be a recsys.ItemKNN, got Markov"):
        MarkovKNN(0.5, Markov(), Markov())
    with pytest.raises(TypeError, match="sequences must be a non-empty list"):
        leave_one_out(torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match=r"sequences\[1\] has 2 items; at least 3 are needed"):
        leave_one_out([torch.tensor([1, 2, 3]), torch.tensor([1, 2])])
    with pytest.raises(ValueError, match="item ids must be >= 1"):
        leave_one_out([torch.tensor([0, 2, 3])])
    with pytest.raises(ValueError, match="timestamp must have the shape of user"):
        user_sequences(torch.tensor([1, 2]), torch.tensor([1, 2]), torch.tensor([1]))
    with pytest.raises(TypeError, match="item must hold integers"):
        user_sequences(torch.tensor([1, 2]), torch.tensor([1.0, 2.0]), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="max_len must be a positive int, got 0"):
        next_item_windows(seqs, 0)
    with pytest.raises(ValueError, match=r"grid\['a'\] must be a non-empty list"):
        grid_search(lambda a: 0.0, {"a": []})
    with pytest.raises(ValueError, match="must return a finite number"):
        grid_search(lambda a: float("nan"), {"a": [1]})
