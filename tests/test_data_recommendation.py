"""The synthetic recommendation world: its documented structure, rates, determinism and errors."""

import pytest
import torch

from course_attn.data.recommendation import (
    EVENTS,
    item_catalog,
    leave_last_out,
    next_item_probs,
    user_histories,
)

SERIES, GENRE, SWITCH, NOISE = (EVENTS.index(name) for name in ("series", "genre", "switch", "noise"))


@pytest.fixture(scope="module")
def world():
    g = torch.Generator().manual_seed(0)
    catalog = item_catalog(400, 10, series_len=4, generator=g)
    histories = user_histories(catalog, 1500, min_len=20, max_len=50, generator=g)
    return catalog, histories


def real_steps(histories):
    """(user, t) pairs with t >= 1 inside each history, as two flat tensors."""
    T = histories["items"].shape[1]
    t = torch.arange(T)[None, :].expand_as(histories["items"])
    keep = (t >= 1) & (t < histories["lengths"][:, None])
    users = torch.arange(len(histories["items"]))[:, None].expand_as(t)
    return users[keep], t[keep]


# --- item_catalog ------------------------------------------------------------------------------


def test_catalog_genres_series_and_popularity():
    c = item_catalog(120, 6, series_len=5, zipf=1.0, generator=3)
    genre, nxt, pos, pop = c["genre"], c["next_in_series"], c["series_position"], c["popularity"]
    assert genre[0] == -1 and nxt[0] == 0 and pop[0] == 0 and pos[0] == -1, "id 0 is padding"
    assert torch.equal(torch.bincount(genre[1:]), torch.full((6,), 20)), "equal-sized genres"
    # series: chains of 5 items inside one genre, positions 0 … 4 along the chain
    starts = (pos == 0).nonzero().squeeze(1)
    assert len(starts) == 120 // 5
    covered = []
    for start in starts.tolist():
        chain = [start]
        while nxt[chain[-1]] != 0:
            chain.append(int(nxt[chain[-1]]))
        assert len(chain) == 5 and pos[chain].tolist() == list(range(5))
        assert len(set(genre[chain].tolist())) == 1, "a series stays inside its genre"
        covered += chain
    assert sorted(covered) == list(range(1, 121)), "every item is in exactly one series"
    # Zipf: sorted popularity is proportional to 1 / rank
    ranked = pop[1:].sort(descending=True).values
    assert torch.allclose(pop.sum(), torch.tensor(1.0))
    assert torch.allclose(ranked / ranked[0], 1.0 / torch.arange(1, 121).float(), rtol=1e-4)


def test_catalog_errors():
    with pytest.raises(ValueError, match="multiple of num_genres"):
        item_catalog(101, 10)
    with pytest.raises(ValueError, match="series_len"):
        item_catalog(100, 10, series_len=3)
    with pytest.raises(TypeError, match="generator"):
        item_catalog(80, 10, generator="seed")
    with pytest.raises(ValueError, match="zipf"):
        item_catalog(80, 10, zipf=-1.0)


# --- user_histories ----------------------------------------------------------------------------


def test_histories_shapes_padding_and_no_repeats(world):
    catalog, h = world
    items, lengths, events = h["items"], h["lengths"], h["events"]
    assert items.shape == events.shape == h["session_genre"].shape == (1500, 50)
    assert h["taste"].shape == (1500, 10) and torch.allclose(h["taste"].sum(1), torch.ones(1500))
    assert lengths.min() >= 20 and lengths.max() <= 50
    real = torch.arange(50)[None, :] < lengths[:, None]
    assert ((items > 0) == real).all() and ((events > 0) == real).all(), "0 = padding, right-padded"
    assert (items <= 400).all()
    for row, n in zip(items, lengths):
        assert len(set(row[:n].tolist())) == n, "no user sees an item twice"
    assert (events[:, 0] == EVENTS.index("start")).all()


def test_series_transitions_happen_at_the_documented_rate(world):
    catalog, h = world
    users, t = real_steps(h)
    prev, item, event = h["items"][users, t - 1], h["items"][users, t], h["events"][users, t]
    successor = catalog["next_in_series"][prev]
    # every series step continues the previous item's series
    assert torch.equal(item[event == SERIES], successor[event == SERIES])
    # where a continuation is possible it happens with probability (1 - p_noise) * p_series
    # (the defaults: p_noise = 0.15, p_series = 0.5, p_switch = 0.4)
    when = torch.full((len(h["items"]), 401), 10**6)  # when = step at which a user saw an item
    when.scatter_(1, h["items"], torch.arange(50).expand(len(h["items"]), 50))
    seen_before = when[users, successor] < t
    possible = (successor > 0) & ~seen_before & (h["events"][users, t - 1] != NOISE)
    rate = (event[possible] == SERIES).float().mean().item()
    assert abs(rate - 0.85 * 0.5) < 0.015, f"series rate {rate:.3f}, expected 0.425"
    assert (event[~possible] != SERIES).all(), "no series step where none is possible"
    noise = (event == NOISE).float().mean().item()
    assert abs(noise - 0.15) < 0.01, f"noise rate {noise:.3f}, expected 0.15"
    # popularity draws keep the session genre unless the user has seen the whole genre
    draws = (event == GENRE) | (event == SWITCH)
    same = catalog["genre"][item[draws]] == h["session_genre"][users[draws], t[draws]]
    assert same.float().mean() > 0.99


def test_sessions_stay_and_switches_follow_taste(world):
    catalog, h = world
    users, t = real_steps(h)
    event = h["events"][users, t]
    genre_now, genre_before = h["session_genre"][users, t], h["session_genre"][users, t - 1]
    stay = event == GENRE
    assert torch.equal(genre_now[stay], genre_before[stay]), "a 'genre' step keeps the session genre"
    switch = event == SWITCH
    share = switch.sum().item() / (stay.sum() + switch.sum()).item()
    assert abs(share - 0.4) < 0.015, f"switch share {share:.3f}, expected p_switch = 0.4"
    # the genre a switch lands on is drawn from the user's taste: its expected taste weight
    # E[taste[g]] = E[sum_g taste^2] is far above the 1 / num_genres of a uniform genre
    landed = h["taste"][users[switch], genre_now[switch]].mean().item()
    expected = (h["taste"][users[switch]] ** 2).sum(1).mean().item()
    assert abs(landed - expected) < 0.02 and expected > 0.3


def test_taste_persists_over_the_history(world):
    catalog, h = world
    genre = catalog["genre"][h["items"]]  # (N, T), -1 at padding
    half = h["lengths"][:, None] // 2
    t = torch.arange(50)[None, :]

    def histogram(part):
        counts = torch.zeros(len(genre), 10)
        counts.scatter_add_(1, genre.clamp(min=0), part.float())
        return counts / counts.sum(1, keepdim=True)

    first = histogram((t < half) & (genre >= 0))
    second = histogram((t >= half) & (genre >= 0))
    same_user = 0.5 * (first - second).abs().sum(1).mean()
    other_user = 0.5 * (first - second.roll(1, dims=0)).abs().sum(1).mean()
    assert same_user < 0.75 * other_user, f"taste persists: {same_user:.2f} vs {other_user:.2f}"
    # and follows the hidden taste
    whole = histogram(genre >= 0)
    assert 0.5 * (whole - h["taste"]).abs().sum(1).mean() < 0.35


def test_popular_items_are_chosen_more(world):
    catalog, h = world
    counts = torch.bincount(h["items"][h["items"] > 0], minlength=401).float()
    order = catalog["popularity"][1:].argsort(descending=True) + 1
    top, bottom = counts[order[:40]].mean(), counts[order[-40:]].mean()
    # (each user sees an item at most once, which caps the most popular ones)
    assert top > 3 * bottom, f"Zipf popularity: top-10% items {top:.0f} vs bottom {bottom:.0f}"


def test_histories_are_deterministic():
    c = item_catalog(80, 4, generator=5)
    a = user_histories(c, 30, min_len=5, max_len=12, generator=7)
    b = user_histories(c, 30, min_len=5, max_len=12, generator=torch.Generator().manual_seed(7))
    assert all(torch.equal(a[k], b[k]) for k in a)
    other = user_histories(c, 30, min_len=5, max_len=12, generator=8)
    assert not torch.equal(a["items"], other["items"])
    assert torch.equal(item_catalog(80, 4, generator=5)["popularity"], c["popularity"])


def test_histories_errors():
    c = item_catalog(40, 5, generator=0)
    with pytest.raises(ValueError, match="max_len"):
        user_histories(c, 5, min_len=5, max_len=41)
    with pytest.raises(ValueError, match="p_noise"):
        user_histories(c, 5, min_len=5, max_len=10, p_noise=1.5)
    with pytest.raises(ValueError, match="taste_alpha"):
        user_histories(c, 5, min_len=5, max_len=10, taste_alpha=0)
    with pytest.raises(TypeError, match="catalog"):
        user_histories({"genre": None}, 5)


# --- next_item_probs ---------------------------------------------------------------------------


def test_next_item_probs_are_the_generating_distribution(world):
    catalog, h = world
    N = len(h["items"])
    users = torch.arange(N)
    predicted_successor = predicted_genre = observed_successor = observed_genre = 0.0
    for t in (1, 5, 10, 19):
        probs = next_item_probs(catalog, h, t)  # (N, I + 1)
        assert torch.allclose(probs.sum(1), torch.ones(N, dtype=probs.dtype), atol=1e-5)
        assert (probs[:, 0] == 0).all()
        before = h["items"][:, :t]
        assert (probs.gather(1, before) == 0).all(), "seen items have probability 0"
        actual = h["items"][:, t]
        # E[1{x_t = s}] = P(x_t = s): compare sums over users
        successor = catalog["next_in_series"][h["items"][:, t - 1]]
        predicted_successor += probs[users, successor].masked_fill(successor == 0, 0).sum().item()
        observed_successor += ((actual == successor) & (successor > 0)).sum().item()
        top = h["taste"].argmax(1)
        predicted_genre += (probs * (catalog["genre"][None, :] == top[:, None])).sum().item()
        observed_genre += (catalog["genre"][actual] == top).sum().item()
    # about 4 * 1500 draws: a few standard errors are ~60 counts
    assert abs(predicted_successor - observed_successor) < 70, (predicted_successor, observed_successor)
    assert abs(predicted_genre - observed_genre) < 90, (predicted_genre, observed_genre)


def test_next_item_probs_errors(world):
    catalog, h = world
    with pytest.raises(ValueError, match="position"):
        next_item_probs(catalog, h, 0)
    with pytest.raises(ValueError, match="position"):
        next_item_probs(catalog, h, h["lengths"])


# --- leave_last_out ----------------------------------------------------------------------------


def test_leave_last_out_split_and_left_padding():
    c = item_catalog(80, 4, generator=1)
    h = user_histories(c, 20, min_len=6, max_len=12, generator=2)
    s = leave_last_out(h, max_len=8)
    for n in range(20):
        items, length = h["items"][n], int(h["lengths"][n])
        assert s["test"]["target"][n] == items[length - 1]
        assert s["valid"]["target"][n] == items[length - 2]
        assert s["test"]["target_event"][n] == h["events"][n, length - 1]
        for split, end in (("train", length - 3), ("valid", length - 2), ("test", length - 1)):
            ids, mask = s[split]["input_ids"][n], s[split]["key_mask"][n]
            keep = min(end, 8)
            assert mask.tolist() == [False] * (8 - keep) + [True] * keep, "left-padded"
            assert ids[mask].tolist() == items[end - keep:end].tolist(), "the last max_len items"
            assert (ids[~mask] == 0).all()
            if split != "train":
                events = s[split]["input_events"][n]
                assert events[mask].tolist() == h["events"][n, end - keep:end].tolist()
                assert (events[~mask] == 0).all()
        labels = s["train"]["labels"][n]
        keep = min(length - 3, 8)
        assert labels[-keep:].tolist() == items[length - 2 - keep:length - 2].tolist(), "next items"
        assert (labels[:-keep] == -100).all()
    with pytest.raises(ValueError, match="at least 4"):
        leave_last_out({"items": torch.ones(1, 3, dtype=torch.long), "lengths": torch.tensor([3]),
                        "events": torch.ones(1, 3, dtype=torch.long)}, 5)
