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

__all__ = ["EVENTS", "item_catalog", "user_histories", "next_item_probs", "leave_last_out"]

EVENTS = ("pad", "start", "series", "genre", "switch", "noise")
"""Names of the codes in ``user_histories(...)["events"]``: ``EVENTS[code]``."""
PAD, START, SERIES, GENRE, SWITCH, NOISE = range(len(EVENTS))
IGNORE = -100  # label value that a loss skips


def _check_int(name: str, value, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def _check_prob(name: str, value) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")


def _as_generator(generator: torch.Generator | int) -> torch.Generator:
    if isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, int) and not isinstance(generator, bool):
        return torch.Generator().manual_seed(generator)
    raise TypeError(f"generator must be a torch.Generator or an int seed, got {type(generator).__name__}")


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
    _check_int("num_items", num_items, 2)
    _check_int("num_genres", num_genres, 1)
    _check_int("series_len", series_len, 1)
    if not isinstance(zipf, (int, float)) or isinstance(zipf, bool) or zipf < 0:
        raise ValueError(f"zipf must be a number >= 0, got {zipf!r}")
    if num_items % num_genres:
        raise ValueError(f"num_items={num_items} must be a multiple of num_genres={num_genres}")
    per_genre = num_items // num_genres
    if per_genre % series_len:
        raise ValueError(f"items per genre ({per_genre}) must be a multiple of series_len={series_len}")
    g = _as_generator(generator)
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


def _popularity_draw(catalog, session_genre: Tensor, unseen: Tensor, g: torch.Generator) -> Tensor:
    """One item per user from the unseen items of its session genre, by popularity; falls back to
    all unseen items when the genre is exhausted. ``session_genre (N,)``, ``unseen (N, I + 1)``."""
    weights = catalog["popularity"][None, :] * unseen  # (N, I + 1)
    in_genre = weights * (catalog["genre"][None, :] == session_genre[:, None])  # (N, I + 1)
    empty = in_genre.sum(dim=1, keepdim=True) == 0  # (N, 1)
    weights = torch.where(empty, weights, in_genre)
    return torch.multinomial(weights, 1, generator=g).squeeze(1)  # (N,)


def user_histories(
    catalog: dict[str, Tensor],
    num_users: int = 2000,
    *,
    min_len: int = 20,
    max_len: int = 50,
    taste_alpha: float = 0.3,
    p_noise: float = 0.1,
    p_series: float = 0.5,
    p_switch: float = 0.3,
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
    _check_int("num_users", num_users, 1)
    _check_int("min_len", min_len, 2)
    _check_int("max_len", max_len, min_len)
    if max_len > num_items:
        raise ValueError(f"max_len={max_len} is more than the {num_items} items a user can see once each")
    if not isinstance(taste_alpha, (int, float)) or isinstance(taste_alpha, bool) or taste_alpha <= 0:
        raise ValueError(f"taste_alpha must be a number > 0, got {taste_alpha!r}")
    for name, p in (("p_noise", p_noise), ("p_series", p_series), ("p_switch", p_switch)):
        _check_prob(name, p)
    g = _as_generator(generator)
    N, T = num_users, max_len
    users = torch.arange(N)
    # Dirichlet from Gammas, so that the torch.Generator drives it
    gammas = torch._standard_gamma(torch.full((N, num_genres), float(taste_alpha)), generator=g)
    taste = gammas / gammas.sum(dim=1, keepdim=True)  # (N, G)
    taste = torch.where(taste.sum(1, keepdim=True) > 0, taste, torch.full_like(taste, 1.0 / num_genres))
    lengths = torch.randint(min_len, max_len + 1, (N,), generator=g)

    items = torch.zeros(N, T, dtype=torch.long)
    events = torch.zeros(N, T, dtype=torch.long)
    session = torch.zeros(N, T, dtype=torch.long)
    seen = torch.zeros(N, num_items + 1, dtype=torch.bool)
    seen[:, 0] = True  # padding is never drawn
    genre = torch.multinomial(taste, 1, generator=g).squeeze(1)  # (N,)
    item = _popularity_draw(catalog, genre, ~seen, g)
    event = torch.full((N,), START)
    for t in range(T):
        if t > 0:
            u = torch.rand(N, 3, generator=g)
            noise = u[:, 0] < p_noise
            successor = catalog["next_in_series"][item]  # (N,) 0 = none
            can_continue = (successor > 0) & ~seen[users, successor] & (event != NOISE)
            series = ~noise & can_continue & (u[:, 1] < p_series)
            draw = ~noise & ~series
            switch = draw & (u[:, 2] < p_switch)
            new_genre = torch.multinomial(taste, 1, generator=g).squeeze(1)  # (N,)
            genre = torch.where(switch, new_genre, genre)
            by_popularity = _popularity_draw(catalog, genre, ~seen, g)
            uniform = torch.multinomial((~seen).float(), 1, generator=g).squeeze(1)
            item = torch.where(series, successor, torch.where(noise, uniform, by_popularity))
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
    p_noise: float = 0.1,
    p_series: float = 0.5,
    p_switch: float = 0.3,
) -> Tensor:
    """The exact probability of every item at ``position`` of each history, given the items before it
    and the user's hidden state (taste and session genre) → ``(N, num_items + 1)``, rows sum to 1.

    This is the generating process of :func:`user_histories` (pass the same probabilities): the
    best any recommender could know. ``position`` is an int or an ``(N,)`` tensor of positions
    ``1 … lengths - 1`` (the first item has no history).
    """
    num_items, num_genres = _check_catalog(catalog)
    items, lengths = histories["items"], histories["lengths"]
    N, T = items.shape
    position = torch.as_tensor(position, dtype=torch.long).expand(N) if not isinstance(position, Tensor) else position
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

    def by_popularity(genres: Tensor) -> Tensor:  # (N,) → (N, I + 1), rows sum to 1
        weights = catalog["popularity"][None, :] * unseen
        in_genre = weights * (catalog["genre"][None, :] == genres[:, None])
        weights = torch.where(in_genre.sum(1, keepdim=True) == 0, weights, in_genre)
        return weights / weights.sum(1, keepdim=True)

    stay = by_popularity(genre)
    switch = sum(histories["taste"][:, k, None] * by_popularity(torch.full((N,), k)) for k in range(num_genres))
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
      ``target_event (N,)`` its event code;
    * ``"test"``: ``input_ids`` = items ``0 … n - 2``, ``key_mask``, ``target (N,)`` = item ``n - 1``,
      ``target_event (N,)``.

    where ``n`` is the user's length (at least 4 are needed).
    """
    _check_int("max_len", max_len, 1)
    items, lengths, events = histories["items"], histories["lengths"], histories["events"]
    if int(lengths.min()) < 4:
        raise ValueError(f"leave_last_out needs histories of at least 4 items, got a length of {int(lengths.min())}")
    N, T = items.shape
    users = torch.arange(N)

    def left_pad(end: Tensor, shift: int = 0) -> tuple[Tensor, Tensor]:
        """Items ``start + shift … end - 1 + shift`` with ``start = max(0, end - max_len)``, right-aligned."""
        offsets = torch.arange(max_len) - max_len  # (max_len,): -max_len … -1
        index = end[:, None] + offsets[None, :]  # (N, max_len)
        real = index >= 0
        ids = items[users[:, None], (index + shift).clamp(0, T - 1)].masked_fill(~real, 0)
        return ids, real

    train_ids, train_mask = left_pad(lengths - 3)
    train_labels, _ = left_pad(lengths - 3, shift=1)
    valid_ids, valid_mask = left_pad(lengths - 2)
    test_ids, test_mask = left_pad(lengths - 1)
    return {
        "train": {"input_ids": train_ids, "labels": train_labels.masked_fill(~train_mask, IGNORE),
                  "key_mask": train_mask},
        "valid": {"input_ids": valid_ids, "key_mask": valid_mask, "target": items[users, lengths - 2],
                  "target_event": events[users, lengths - 2]},
        "test": {"input_ids": test_ids, "key_mask": test_mask, "target": items[users, lengths - 1],
                 "target_event": events[users, lengths - 1]},
    }
