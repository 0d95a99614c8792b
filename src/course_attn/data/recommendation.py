"""Synthetic users and their item histories for sequential recommendation (the SASRec chapter).

The generator is a small, fully documented "world" in which a user's next item depends on both
**long-term taste** and **short-term context**, so that a recommender that reads the whole history
can beat one that looks only at the last item (a Markov chain) or at no history at all (popularity).

**The catalogue** (:func:`item_catalog`). Item ids are ``1 … num_items``; id ``0`` is padding.
Each item belongs to one of ``num_genres`` genres (equal-sized, assigned at random) and has a
popularity drawn from a Zipf law: the items are ranked in a random order and item of rank ``r``
(``1 …``) gets weight ``r ** -zipf``. Within each genre the items are cut, in a random order, into
**series** of ``series_len`` items (think of the episodes of a show): ``next_in_series[i]`` is the
item that follows ``i`` in its series, ``0`` for the last one.

**A user** (:func:`user_histories`) has a **taste**, a distribution over genres drawn from a
``Dirichlet(taste_alpha)`` (a small ``taste_alpha`` concentrates it on a few genres), and a history
of ``min_len … max_len`` interactions (uniform) with distinct items. The first item starts a
session: its genre is drawn from the taste and the item from that genre by popularity. After an
item ``x`` with session genre ``g``, the next step is exactly one of (``EVENTS``):

* ``"noise"``, with probability ``p_noise``: an item uniformly at random from the items the user has
  not seen, any genre. The session genre stays ``g``; a noise item is never continued as a series.
* ``"series"``, with probability ``p_series``, only where ``x`` was not noise and its successor
  ``next_in_series[x]`` exists and is unseen (so with probability ``(1 - p_noise) * p_series``
  at such a step): that successor. The session genre becomes its genre (the same as ``g`` unless
  ``x`` was drawn by the popularity fallback below).
* otherwise a popularity draw. With probability ``p_switch`` the session switches (``"switch"``):
  a new session genre is drawn from the user's taste (it may be the same one); otherwise
  (``"genre"``) it stays ``g``. The item is drawn from the unseen items of the session genre with
  probability proportional to popularity; if the user has seen every item of that genre it is drawn
  from all unseen items by popularity.

So: the *series* signal lives in the last item alone; the *session genre* in the last few
non-noise items; the *taste* (where a switch goes) only in the whole history; popularity in the
counts; and the noise items are unpredictable and mislead a model that trusts the last item.
:func:`next_item_probs` computes the exact distribution of the next item given the hidden state
(taste and session genre), the best any recommender could do.

:func:`leave_last_out` makes the standard split: the last item of each user is the test target,
the one before it the validation target, and the rest is for training.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._validate import integer, number, tensor
from ._common import as_generator

__all__ = ["EVENTS", "item_catalog", "user_histories", "next_item_probs", "leave_last_out"]

EVENTS = ("pad", "start", "series", "genre", "switch", "noise")
"""Names of the codes in ``user_histories(...)["events"]``: ``EVENTS[code]``."""
PAD, START, SERIES, GENRE, SWITCH, NOISE = range(len(EVENTS))
IGNORE = -100  # label value that a loss skips








def item_catalog(
    num_items: int = 400,
    num_genres: int = 10,
    *,
    series_len: int = 4,
    zipf: float = 1.0,
    generator: torch.Generator | int = 0,
) -> dict[str, Tensor]:
    """Items with a genre, a Zipf popularity and a place in a series (see the module docstring).

    ``num_items`` must be a multiple of ``num_genres`` and the genre size a multiple of
    ``series_len``. Returns tensors indexed by item id ``0 … num_items`` (row ``0`` is padding):

    * ``"genre"`` ``(num_items + 1,)`` long, ``0 … num_genres - 1``, and ``-1`` for padding;
    * ``"popularity"`` ``(num_items + 1,)`` float, sums to 1, ``0`` for padding;
    * ``"next_in_series"`` ``(num_items + 1,)`` long, the next item of the series or ``0``;
    * ``"series_position"`` ``(num_items + 1,)`` long, ``0 … series_len - 1`` (``-1`` for padding).
    """
    num_items = integer("num_items", num_items, minimum=2)
    num_genres = integer("num_genres", num_genres, minimum=1)
    series_len = integer("series_len", series_len, minimum=1)
    zipf = number("zipf", zipf, low=0)
    if num_items % num_genres:
        raise ValueError(f"num_items={num_items} must be a multiple of num_genres={num_genres}")
    per_genre = num_items // num_genres
    if per_genre % series_len:
        raise ValueError(f"items per genre ({per_genre}) must be a multiple of series_len={series_len}")
    g = as_generator(generator)
    order = torch.randperm(num_items, generator=g) + 1  # item ids, in genre blocks of per_genre
    genre = torch.full((num_items + 1,), -1, dtype=torch.long)
    genre[order] = torch.arange(num_items) // per_genre
    # consecutive ids in `order` within a genre block form a series
    next_in_series = torch.zeros(num_items + 1, dtype=torch.long)
    series_position = torch.full((num_items + 1,), -1, dtype=torch.long)
    position = torch.arange(num_items) % series_len  # (num_items,)
    series_position[order] = position
    has_next = position < series_len - 1
    next_in_series[order[:-1][has_next[:-1]]] = order[1:][has_next[:-1]]
    rank = torch.randperm(num_items, generator=g) + 1  # popularity rank of item id 1 …
    popularity = torch.zeros(num_items + 1)
    popularity[1:] = rank.double().pow(-float(zipf)).float()
    popularity /= popularity.sum()
    return {"genre": genre, "popularity": popularity, "next_in_series": next_in_series,
            "series_position": series_position}


def _check_catalog(catalog) -> tuple[int, int]:
    if not isinstance(catalog, dict) or not {"genre", "popularity", "next_in_series"} <= set(catalog):
        raise TypeError("catalog must be the dict returned by item_catalog()")
    num_items = catalog["genre"].shape[0] - 1
    return num_items, int(catalog["genre"].max()) + 1


def _check_histories(histories, keys: tuple[str, ...]) -> None:
    if not isinstance(histories, dict) or not set(keys) <= set(histories):
        raise TypeError(f"histories must be the dict returned by user_histories(), with {list(keys)}")


def _probabilities(p_noise, p_series, p_switch) -> tuple[float, float, float]:
    """The three step probabilities of the generating process, each checked to lie in [0, 1]."""
    names = ("p_noise", "p_series", "p_switch")
    return tuple(number(name, p, low=0, high=1) for name, p in zip(names, (p_noise, p_series, p_switch)))


def _draw(weights: Tensor, g: torch.Generator) -> Tensor:
    """One index per row of ``weights (N, K)`` (non-negative, every row with a positive sum), with
    probability proportional to the weights: inverse-CDF sampling → ``(N,)`` long."""
    cdf = weights.double().cumsum(dim=1)  # (N, K); float64, so that u * total < total
    u = torch.rand(weights.shape[0], 1, generator=g, dtype=cdf.dtype) * cdf[:, -1:]  # (N, 1)
    return torch.searchsorted(cdf, u, right=True).squeeze(1).clamp(max=weights.shape[1] - 1)


def _draw_unseen(table: Tensor, weights: Tensor, rows: Tensor, seen: Tensor, g: torch.Generator,
                 tries: int = 16) -> Tensor:
    """For each user ``n``, one item of ``table[rows[n]]`` that ``n`` has not seen, with probability
    proportional to ``weights[rows[n]]`` among those → ``(N,)`` long, ``-1`` where all are seen.

    ``table (R, K)`` item ids, ``weights (R, K)``, ``rows (N,)``, ``seen (N, I + 1)`` bool.
    Rejection sampling (draw from the whole row, retry where the item was seen) gives exactly the
    restricted distribution; the few users still without an item after ``tries`` get an exact draw.
    This keeps the cost per step ``O(N)`` instead of ``O(N * num_items)``.
    """
    N, K = len(rows), table.shape[1]
    cdf = weights.double().cumsum(dim=1)  # (R, K)
    out = torch.full((N,), -1, dtype=torch.long)
    todo = torch.arange(N)
    for _ in range(tries):
        if len(todo) == 0:
            return out
        c = cdf[rows[todo]]  # (n, K)
        u = torch.rand(len(todo), 1, generator=g, dtype=c.dtype) * c[:, -1:]  # (n, 1)
        k = torch.searchsorted(c, u, right=True).squeeze(1).clamp(max=K - 1)  # (n,)
        candidate = table[rows[todo], k]
        fresh = ~seen[todo, candidate]
        out[todo[fresh]] = candidate[fresh]
        todo = todo[~fresh]
    if len(todo):
        items = table[rows[todo]]  # (n, K)
        w = weights[rows[todo]] * ~seen[todo[:, None], items]  # (n, K)
        left = w.sum(dim=1) > 0
        out[todo[left]] = items[left].gather(1, _draw(w[left], g)[:, None]).squeeze(1)
    return out


def _genre_weights(catalog, session_genre: Tensor, unseen: Tensor) -> Tensor:
    """Popularity of the unseen items of each user's session genre, or of all unseen items where
    the user has seen the whole genre. ``session_genre (N,)``, ``unseen (N, I + 1)`` → ``(N, I + 1)``."""
    weights = catalog["popularity"][None, :] * unseen  # (N, I + 1)
    in_genre = weights * (catalog["genre"][None, :] == session_genre[:, None])  # (N, I + 1)
    empty = in_genre.sum(dim=1, keepdim=True) == 0  # (N, 1)
    return torch.where(empty, weights, in_genre)


def user_histories(
    catalog: dict[str, Tensor],
    num_users: int = 2000,
    *,
    min_len: int = 20,
    max_len: int = 50,
    taste_alpha: float = 0.2,
    p_noise: float = 0.15,
    p_series: float = 0.5,
    p_switch: float = 0.4,
    generator: torch.Generator | int = 0,
) -> dict[str, Tensor]:
    """Histories of ``num_users`` users in ``catalog`` (from :func:`item_catalog`), as documented in
    the module docstring.

    Returns, with ``N = num_users`` and ``T = max_len``:

    * ``"items"`` ``(N, T)`` long: item ids in order, right-padded with ``0``; no user has an item
      twice;
    * ``"lengths"`` ``(N,)`` long, in ``min_len … max_len``;
    * ``"events"`` ``(N, T)`` long: how each item was chosen, a code into :data:`EVENTS`
      (``0`` = padding);
    * ``"session_genre"`` ``(N, T)`` long: the session genre *after* each step (``-1`` = padding);
    * ``"taste"`` ``(N, num_genres)`` float: each user's genre distribution.

    An int ``generator`` seeds a fresh ``torch.Generator``; a ``torch.Generator`` is used (and
    advanced) as is.
    """
    num_items, num_genres = _check_catalog(catalog)
    num_users = integer("num_users", num_users, minimum=1)
    min_len = integer("min_len", min_len, minimum=2)
    max_len = integer("max_len", max_len, minimum=min_len)
    if max_len > num_items:
        raise ValueError(f"max_len={max_len} is more than the {num_items} items a user can see once each")
    taste_alpha = number("taste_alpha", taste_alpha, low=0, low_open=True)
    p_noise, p_series, p_switch = _probabilities(p_noise, p_series, p_switch)
    g = as_generator(generator)
    N, T = num_users, max_len
    users = torch.arange(N)
    # Dirichlet from Gammas, so that the torch.Generator drives it
    gammas = torch._standard_gamma(torch.full((N, num_genres), taste_alpha), generator=g)
    taste = gammas / gammas.sum(dim=1, keepdim=True)  # (N, G)
    taste = torch.where(taste.sum(1, keepdim=True) > 0, taste, torch.full_like(taste, 1.0 / num_genres))
    lengths = torch.randint(min_len, max_len + 1, (N,), generator=g)

    items = torch.zeros(N, T, dtype=torch.long)
    events = torch.zeros(N, T, dtype=torch.long)
    session = torch.zeros(N, T, dtype=torch.long)
    seen = torch.zeros(N, num_items + 1, dtype=torch.bool)
    seen[:, 0] = True  # padding is never drawn
    # sampling tables: the items of each genre with their popularity, and all items
    by_genre = catalog["genre"][1:].argsort(stable=True).view(num_genres, -1) + 1  # (G, I / G) ids
    genre_pop = catalog["popularity"][by_genre]  # (G, I / G)
    all_items = torch.arange(1, num_items + 1)[None, :]  # (1, I)
    all_pop, all_flat = catalog["popularity"][all_items], torch.ones(1, num_items)
    everyone = torch.zeros(N, dtype=torch.long)

    def popularity_draw(genre: Tensor) -> Tensor:  # unseen item of the genre, else any unseen item
        item = _draw_unseen(by_genre, genre_pop, genre, seen, g)
        exhausted = item < 0
        if exhausted.any():
            item[exhausted] = _draw_unseen(all_items, all_pop, everyone[exhausted], seen[exhausted], g)
        return item

    genre = _draw(taste, g)  # (N,)
    item = popularity_draw(genre)
    event = torch.full((N,), START)
    for t in range(T):
        if t > 0:
            u = torch.rand(N, 3, generator=g)
            noise = u[:, 0] < p_noise
            successor = catalog["next_in_series"][item]  # (N,) 0 = none
            can_continue = (successor > 0) & ~seen[users, successor] & (event != NOISE)
            series = ~noise & can_continue & (u[:, 1] < p_series)
            switch = ~noise & ~series & (u[:, 2] < p_switch)
            genre = torch.where(switch, _draw(taste, g), genre)
            uniform = _draw_unseen(all_items, all_flat, everyone, seen, g)
            item = torch.where(series, successor, torch.where(noise, uniform, popularity_draw(genre)))
            genre = torch.where(series, catalog["genre"][item], genre)
            event = torch.where(noise, NOISE, torch.where(series, SERIES, torch.where(switch, SWITCH, GENRE)))
        items[:, t], events[:, t], session[:, t] = item, event, genre
        seen[users, item] = True
    pad = torch.arange(T)[None, :] >= lengths[:, None]  # (N, T)
    return {
        "items": items.masked_fill(pad, 0),
        "lengths": lengths,
        "events": events.masked_fill(pad, PAD),
        "session_genre": session.masked_fill(pad, -1),
        "taste": taste,
    }


def next_item_probs(
    catalog: dict[str, Tensor],
    histories: dict[str, Tensor],
    position: Tensor | int,
    *,
    p_noise: float = 0.15,
    p_series: float = 0.5,
    p_switch: float = 0.4,
) -> Tensor:
    """The exact probability of every item at ``position`` of each history, given the items before it
    and the user's hidden state (taste and session genre) → ``(N, num_items + 1)``, rows sum to 1.

    This is the generating process of :func:`user_histories` (pass the same probabilities): the
    best any recommender could know. ``position`` is an int or an ``(N,)`` tensor of positions
    ``1 … lengths - 1`` (the first item has no history).
    """
    num_items, num_genres = _check_catalog(catalog)
    _check_histories(histories, ("items", "lengths", "events", "session_genre", "taste"))
    p_noise, p_series, p_switch = _probabilities(p_noise, p_series, p_switch)
    items, lengths = histories["items"], histories["lengths"]
    N, T = items.shape
    if isinstance(position, Tensor):
        tensor("position", position, dims=1, kind="int", shape="(N,)")
    else:
        position = torch.full((N,), integer("position", position))
    if position.shape != (N,) or (position < 1).any() or (position >= lengths).any():
        raise ValueError(f"position must be an int or an (N,) = ({N},) tensor in 1 … lengths - 1, got {position}")
    users = torch.arange(N)
    before = torch.arange(T)[None, :] < position[:, None]  # (N, T)
    seen = torch.zeros(N, num_items + 1, dtype=torch.bool)
    seen[users[:, None].expand(N, T)[before], items[before]] = True
    seen[:, 0] = True
    unseen = (~seen).float()  # (N, I + 1)
    prev = items[users, position - 1]
    prev_event = histories["events"][users, position - 1]
    genre = histories["session_genre"][users, position - 1]

    pop = catalog["popularity"][None, :] * unseen  # (N, I + 1)
    item_genre = catalog["genre"].clamp(min=0)  # padding has popularity 0 anyway
    one_hot = torch.nn.functional.one_hot(item_genre, num_genres).to(pop.dtype)  # (I + 1, G)
    mass = pop @ one_hot  # (N, G): unseen popularity per genre
    fallback = pop / pop.sum(1, keepdim=True)  # (N, I + 1): all unseen items, for exhausted genres
    # drawing from genre k puts pop / mass[k] on its unseen items, or `fallback` if mass[k] = 0
    within = pop / mass.gather(1, item_genre[None, :].expand(N, -1)).clamp(min=1e-30)  # (N, I + 1)
    stay_empty = mass[users, genre] == 0  # (N,)
    stay = torch.where(stay_empty[:, None], fallback,
                       within * (catalog["genre"][None, :] == genre[:, None]))
    taste = histories["taste"]
    empty_share = (taste * (mass == 0)).sum(1, keepdim=True)  # (N, 1)
    switch = within * taste.gather(1, item_genre[None, :].expand(N, -1)) + empty_share * fallback
    successor = catalog["next_in_series"][prev]
    can_continue = (successor > 0) & ~seen[users, successor] & (prev_event != NOISE)
    p_cont = (1 - p_noise) * p_series * can_continue.float()  # (N,)
    draw = 1 - p_noise - p_cont
    probs = p_noise * unseen / unseen.sum(1, keepdim=True)
    probs = probs + draw[:, None] * ((1 - p_switch) * stay + p_switch * switch)
    probs[users[can_continue], successor[can_continue]] += p_cont[can_continue]
    return probs


def leave_last_out(histories: dict[str, Tensor], max_len: int) -> dict[str, dict[str, Tensor]]:
    """Split each user's history: the last item is the test target, the one before it the validation
    target, the rest is training data.

    Sequences are **left-padded** to ``max_len`` (the most recent item always sits at position
    ``max_len - 1``, as in SASRec) and keep their last ``max_len`` items. Returns three dicts:

    * ``"train"``: ``input_ids (N, max_len)`` = items ``0 … n - 4``, ``labels (N, max_len)`` =
      items ``1 … n - 3`` (the next item at every position, ``-100`` at padding), ``key_mask``
      ``(N, max_len)`` bool, ``True`` for real items;
    * ``"valid"``: ``input_ids`` = items ``0 … n - 3``, ``key_mask``, ``target (N,)`` = item ``n - 2``,
      ``target_event (N,)`` its event code, ``input_events (N, max_len)`` the event code of each
      input item (``0`` at padding);
    * ``"test"``: ``input_ids`` = items ``0 … n - 2``, ``key_mask``, ``target (N,)`` = item ``n - 1``,
      ``target_event (N,)``, ``input_events (N, max_len)``.

    The event codes come from the generator and no recommender may read them; they are there to
    break results down by what happened (for example, "the last item was noise").

    where ``n`` is the user's length (at least 4 are needed).
    """
    max_len = integer("max_len", max_len, minimum=1)
    _check_histories(histories, ("items", "lengths", "events"))
    items, lengths, events = histories["items"], histories["lengths"], histories["events"]
    if int(lengths.min()) < 4:
        raise ValueError(f"leave_last_out needs histories of at least 4 items, got a length of {int(lengths.min())}")
    N, T = items.shape
    users = torch.arange(N)

    def left_pad(end: Tensor, shift: int = 0, source: Tensor = items) -> tuple[Tensor, Tensor]:
        """``source`` at steps ``start + shift … end - 1 + shift`` with ``start = max(0, end - max_len)``,
        right-aligned in ``(N, max_len)`` with ``0`` in front, and the mask of real steps."""
        offsets = torch.arange(max_len) - max_len  # (max_len,): -max_len … -1
        index = end[:, None] + offsets[None, :]  # (N, max_len)
        real = index >= 0
        values = source[users[:, None], (index + shift).clamp(0, T - 1)].masked_fill(~real, 0)
        return values, real

    train_ids, train_mask = left_pad(lengths - 3)
    train_labels, _ = left_pad(lengths - 3, shift=1)
    valid_ids, valid_mask = left_pad(lengths - 2)
    test_ids, test_mask = left_pad(lengths - 1)
    return {
        "train": {"input_ids": train_ids, "labels": train_labels.masked_fill(~train_mask, IGNORE),
                  "key_mask": train_mask},
        "valid": {"input_ids": valid_ids, "key_mask": valid_mask, "target": items[users, lengths - 2],
                  "target_event": events[users, lengths - 2],
                  "input_events": left_pad(lengths - 2, source=events)[0]},
        "test": {"input_ids": test_ids, "key_mask": test_mask, "target": items[users, lengths - 1],
                 "target_event": events[users, lengths - 1],
                 "input_events": left_pad(lengths - 1, source=events)[0]},
    }
