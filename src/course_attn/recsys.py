"""Next-item recommendation: the leave-one-out split, ranking metrics and the baselines to beat.

For example::

    from course_attn import recsys
    seqs = recsys.user_sequences(user, item, timestamp)            # one time-ordered tensor per user
    split = recsys.leave_one_out(seqs)                             # train / valid / test
    knn = recsys.ItemKNN(decay=0.6).fit(split["train"], num_items)
    scores = knn.scores(split["valid"]["history"])                 # (N, num_items)
    recsys.evaluate(scores, split["valid"]["target"], exclude=split["valid"]["history"])

Leave-one-out evaluation holds out one item per user (the *target*) and asks where the model ranks
it. **Full ranking** ranks it against every item of the catalogue that the user has not already
seen; **sampled ranking** (the protocol of NCF and SASRec) ranks it against only ``n`` items drawn
at random, usually 100. Sampled metrics are cheaper but are not consistent with the full ones: they
can even order two models differently (Krichene & Rendle, KDD 2020, "On Sampled Metrics for Item
Recommendation"). Prefer :func:`full_ranks` wherever the catalogue fits in memory.

Ties count **against** the target: its rank is one plus the number of *other* candidates that score
at least as high. A model that gives every item the same score therefore gets the worst rank, never
the best.

The baselines a practitioner tries first, each a :class:`Baseline` (``fit`` on training
sequences, then ``scores`` for histories): :class:`Popularity`, :class:`ItemKNN` (item-item cosine
with recency weights), :class:`Markov` (transition counts) and :class:`MarkovKNN` (the two mixed).
Tune them on validation with :func:`grid_search`. Item ids run from 1; ``0`` is padding.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from ._validate import integer, number, tensor

__all__ = ["full_ranks", "sampled_ranks", "hit_rate", "ndcg", "evaluate", "grid_search", "user_sequences",
           "left_pad", "leave_one_out", "next_item_windows", "Baseline", "Popularity", "ItemKNN", "Markov", "MarkovKNN"]


def _check(scores: Tensor, target: Tensor, exclude: Tensor | None) -> Tensor:
    """Validate the arguments and return the ``(N, I)`` bool mask of items that are *not* ranked."""
    tensor("scores", scores, dims=2, kind="float", shape="(N, num_items)")
    N, I = scores.shape
    if torch.isnan(scores).any():
        raise ValueError("scores contain NaN; a rank is undefined")
    tensor("target", target, dims=1, kind="int", shape=f"(N,) = ({N},)")
    if target.shape != (N,):
        raise ValueError(f"target must be (N,) = ({N},), one item id per user, got {tuple(target.shape)}")
    _check_item_ids("target", target, I)
    if exclude is None:
        return torch.zeros(N, I, dtype=torch.bool, device=scores.device)
    tensor("exclude", exclude, dims=2, kind="bool_or_int", shape=f"(N, {I}) bool or (N, L) item ids")
    if exclude.shape[0] != N:
        raise ValueError(f"exclude must be a bool mask (N, {I}) or item ids (N, L) with N = {N}, "
                         f"got {tuple(exclude.shape)}")
    if exclude.dtype == torch.bool:
        if exclude.shape[1] != I:
            raise ValueError(f"a bool exclude mask must be (N, num_items) = ({N}, {I}), got {tuple(exclude.shape)}")
        mask = exclude.to(scores.device)
    else:
        _check_item_ids("exclude", exclude, I)
        mask = torch.zeros(N, I, dtype=torch.bool, device=scores.device)
        mask.scatter_(1, exclude.long().to(scores.device), True)
    clash = mask.gather(1, target.long()[:, None]).squeeze(1)  # (N,)
    if clash.any():
        user = int(clash.nonzero()[0, 0])
        raise ValueError(f"the target of user {user} (item {int(target[user])}) is excluded from the ranking")
    return mask


def _check_item_ids(name: str, ids: Tensor, num_items: int) -> None:
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= num_items):
        raise ValueError(f"{name} must hold item ids in [0, {num_items}), got {int(ids.min())} … {int(ids.max())}")


def full_ranks(scores: Tensor, target: Tensor, *, exclude: Tensor | None = None) -> Tensor:
    """Rank of each user's target among all items not excluded → ``(N,)`` long, ``1`` = best.

    ``scores (N, I)`` float, higher is better; ``target (N,)`` item ids in ``[0, I)``;
    ``exclude`` the items not to rank: a bool mask ``(N, I)`` (``True`` = excluded) or item ids
    ``(N, L)`` (every id listed is excluded, the padding id too, so pad with an id that is never a
    target, such as the course's ``0``). Typically ``exclude`` is the user's history: a model should
    not get credit, or blame, for items the user has already seen. Ties count against the target.
    """
    excluded = _check(scores, target, exclude)  # (N, I)
    own = scores.gather(1, target.long()[:, None])  # (N, 1)
    at_least = (scores >= own) & ~excluded  # (N, I), the target itself included
    return at_least.sum(dim=1)  # (N,)


def sampled_ranks(
    scores: Tensor, target: Tensor, num_negatives: int = 100, *, exclude: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Rank of each target among itself and ``num_negatives`` sampled items → ``(N,)`` long in
    ``1 … num_negatives + 1``.

    For each user the negatives are drawn uniformly without replacement from the items that are
    neither the target nor excluded (``exclude`` as in :func:`full_ranks`); ties count against the
    target. This is the evaluation protocol of NCF and SASRec; see the module docstring for why
    :func:`full_ranks` is preferable.
    """
    num_negatives = integer("num_negatives", num_negatives, minimum=1)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    excluded = _check(scores, target, exclude)  # (N, I)
    N, I = scores.shape
    candidates = ~excluded  # (N, I)
    candidates[torch.arange(N, device=scores.device), target.long()] = False
    fewest = int(candidates.sum(dim=1).min()) if N else num_negatives
    if fewest < num_negatives:
        raise ValueError(f"num_negatives={num_negatives} but a user has only {fewest} items to draw from")
    # uniform keys on the candidates, +inf elsewhere; the num_negatives smallest keys are a uniform sample
    keys = torch.rand(N, I, generator=generator).to(scores.device)  # (N, I)
    keys = keys.masked_fill(~candidates, math.inf)
    negatives = keys.topk(num_negatives, dim=1, largest=False).indices  # (N, num_negatives)
    own = scores.gather(1, target.long()[:, None])  # (N, 1)
    return 1 + (scores.gather(1, negatives) >= own).sum(dim=1)  # (N,)


def _check_ranks(ranks: Tensor, k: int) -> None:
    integer("k", k, minimum=1)
    tensor("ranks", ranks, dims=1, kind="int", shape="(N,)")
    if ranks.numel() == 0:
        raise ValueError("ranks is empty: there is no user to average over")
    if (ranks < 1).any():
        raise ValueError(f"ranks start at 1, got a minimum of {ranks.min().item()}")


def hit_rate(ranks: Tensor, k: int = 10) -> float:
    """HR@k: the share of users whose target is in the top ``k``. ``ranks (N,)`` from a ranking."""
    _check_ranks(ranks, k)
    return (ranks <= k).double().mean().item()


def ndcg(ranks: Tensor, k: int = 10) -> float:
    """NDCG@k with one relevant item per user: the mean of ``1 / log2(rank + 1)`` over users, where a
    target outside the top ``k`` scores 0. ``ranks (N,)`` from a ranking; 1 means rank 1 for all."""
    _check_ranks(ranks, k)
    gain = 1.0 / torch.log2(ranks.double() + 1.0)  # (N,)
    return gain.masked_fill(ranks > k, 0.0).mean().item()


# ----- sequences and the leave-one-out split


def user_sequences(user: Tensor, item: Tensor, timestamp: Tensor) -> list[Tensor]:
    """Each user's items in time order → a list of ``(n_u,)`` long tensors, users in ascending id.

    ``user``, ``item``, ``timestamp`` are ``(R,)`` integer tensors, one row per interaction (e.g. the
    columns of :func:`course_attn.data.real.movielens_100k`). Interactions with the same timestamp
    keep their order in the input (a stable sort), so the result does not depend on item ids.
    """
    tensor("user", user, dims=1, kind="int", shape="(R,)")
    for name, column in (("item", item), ("timestamp", timestamp)):
        tensor(name, column, dims=1, kind="int", shape=f"(R,) = ({len(user)},)")
        if column.shape != user.shape:
            raise ValueError(f"{name} must have the shape of user {tuple(user.shape)}, got {tuple(column.shape)}")
    order = timestamp.argsort(stable=True)  # (R,) by time
    order = order[user[order].argsort(stable=True)]  # (R,) by user, then time
    _, counts = user[order].unique_consecutive(return_counts=True)
    return list(item[order].split(counts.tolist()))


def _check_sequences(sequences, minimum: int = 1) -> list[Tensor]:
    if isinstance(sequences, Tensor) or not isinstance(sequences, (list, tuple)) or not sequences:
        raise TypeError(f"sequences must be a non-empty list of 1-D item-id tensors, got {type(sequences).__name__}")
    for u, s in enumerate(sequences):
        tensor(f"sequences[{u}]", s, dims=1, kind="int", shape="(n,) item ids")
        if len(s) < minimum:
            raise ValueError(f"sequences[{u}] has {len(s)} items; at least {minimum} are needed")
    return list(sequences)


def left_pad(sequences: list[Tensor], length: int) -> tuple[Tensor, Tensor]:
    """The last ``length`` items of each sequence, right-aligned → ``input_ids (N, length)`` with ``0``
    in front and ``key_mask (N, length)`` bool, ``True`` on real items (the course's layout: the most
    recent item always sits at position ``length - 1``, where SASRec recommends)."""
    sequences = _check_sequences(sequences, minimum=0)
    length = integer("length", length, minimum=1)
    ids = torch.zeros(len(sequences), length, dtype=torch.long)  # (N, length)
    for row, s in enumerate(sequences):
        s = s[-length:]
        ids[row, length - len(s):] = s
    lengths = torch.tensor([min(len(s), length) for s in sequences])  # (N,)
    key_mask = torch.arange(length) >= length - lengths[:, None]  # (N, length)
    return ids, key_mask


def leave_one_out(sequences: list[Tensor]) -> dict:
    """The split of SASRec (Kang & McAuley, 2018): in each time-ordered sequence the last item is the
    test target, the one before it the validation target, and the rest is training data.

    Returns ``{"train": list of (n_u - 2,) tensors, "valid": {...}, "test": {...}}``, where
    ``"valid"`` holds ``history (N, H)``, the items before the validation target, left-padded with ``0``
    to the longest history ``H``, and ``target (N,)``; ``"test"`` the same with the validation item
    appended to the history. Each sequence needs at least 3 items, and item ids must be ``>= 1``
    (``0`` is padding).
    """
    sequences = _check_sequences(sequences, minimum=3)
    if any(int(s.min()) < 1 for s in sequences):
        raise ValueError("item ids must be >= 1: 0 is the padding id")
    parts = {"valid": [s[:-1] for s in sequences], "test": sequences}
    out = {"train": [s[:-2] for s in sequences]}
    for name, seqs in parts.items():
        history, _ = left_pad([s[:-1] for s in seqs], max(len(s) - 1 for s in seqs))  # (N, H)
        out[name] = {"history": history, "target": torch.stack([s[-1] for s in seqs])}  # (N,)
    return out


def next_item_windows(sequences: list[Tensor], max_len: int) -> dict[str, Tensor]:
    """Training rows for a next-item model: each sequence cut, from its end, into windows of at most
    ``max_len`` inputs, each input labelled with the item after it → ``input_ids``, ``key_mask`` and
    ``labels`` ``(W, max_len)``, left-padded (``labels`` is ``-100`` at padding, which a loss skips).
    Every consecutive pair of items of a sequence is one (input, label) pair of exactly one window."""
    sequences = _check_sequences(sequences, minimum=2)
    max_len = integer("max_len", max_len, minimum=1)
    inputs, labels = [], []
    for s in sequences:
        for end in range(len(s) - 1, 0, -max_len):
            start = max(0, end - max_len)
            inputs.append(s[start:end])
            labels.append(s[start + 1:end + 1])
    input_ids, key_mask = left_pad(inputs, max_len)  # (W, max_len)
    label_ids, _ = left_pad(labels, max_len)
    return {"input_ids": input_ids, "key_mask": key_mask, "labels": label_ids.masked_fill(~key_mask, -100)}


def evaluate(scores: Tensor, target: Tensor, *, exclude: Tensor | None = None, k: int = 10) -> dict[str, float]:
    """``{"HR@k": ..., "NDCG@k": ...}`` of a full ranking (:func:`full_ranks`, same arguments)."""
    ranks = full_ranks(scores, target, exclude=exclude)  # (N,)
    return {f"HR@{k}": hit_rate(ranks, k), f"NDCG@{k}": ndcg(ranks, k)}


def grid_search(evaluate: Callable[..., float], grid: dict[str, Sequence]) -> tuple[dict, list[tuple[dict, float]]]:
    """Call ``evaluate(**params)`` for every combination of the values in ``grid`` → ``(best, table)``:
    the parameters with the highest value (the first of them on a tie) and every ``(params, value)``
    in the order tried. Use a validation score: the test set is for the winner only, once."""
    if not callable(evaluate):
        raise TypeError(f"evaluate must be a function **params -> float, got {type(evaluate).__name__}")
    if not isinstance(grid, dict) or not grid:
        raise TypeError(f"grid must be a non-empty dict name -> list of values, got {grid!r}")
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"grid[{name!r}] must be a non-empty list of values, got {values!r}")
    table = []
    for combination in itertools.product(*grid.values()):
        params = dict(zip(grid, combination))
        value = evaluate(**params)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"evaluate({params}) must return a finite number, got {value!r}")
        table.append((params, float(value)))
    best = max(table, key=lambda row: row[1])[0]  # max keeps the first of equal values
    return best, table


# ----- the baselines a practitioner tries first


def _recency_weights(history: Tensor, num_items: int, decay: float) -> Tensor:
    """``(N, H)`` left-padded history → ``(N, num_items)``: each item's weight ``decay ** age``, age 0
    for the most recent item; padding (id 0) gets nothing."""
    real = history > 0  # (N, H)
    age = real.flip(1).cumsum(1).flip(1) - 1  # (N, H): 0 = most recent real item
    weight = (decay ** age.float()).masked_fill(~real, 0.0)  # (N, H); 0 ** 0 = 1
    out = torch.zeros(len(history), num_items)
    return out.scatter_add_(1, history.long(), weight)  # (N, num_items)


def _normalized(scores: Tensor) -> Tensor:
    """Each row divided by its sum (rows that sum to 0 stay 0)."""
    return scores / scores.sum(1, keepdim=True).clamp(min=1e-30)


class Baseline:
    """A scorer fitted on training sequences (:meth:`Baseline.fit`); :meth:`Baseline.scores` then
    ranks every item for each history.

    Every baseline returns a distribution over items per user (rows sum to 1), plus popularity
    times ``1e-9``, so that items the model knows nothing about are ordered by popularity instead
    of all tying (and ties count against the target in :func:`full_ranks`).
    """

    num_items: int | None = None

    def fit(self, sequences: list[Tensor], num_items: int) -> "Baseline":
        """Learn from ``sequences`` (lists of item ids in ``[1, num_items)``, e.g. ``leave_one_out(...)["train"]``)."""
        sequences = _check_sequences(sequences)
        self.num_items = integer("num_items", num_items, minimum=2)
        for u, s in enumerate(sequences):
            _check_item_ids(f"sequences[{u}]", s, self.num_items)
        counts = torch.bincount(torch.cat(sequences), minlength=self.num_items).double()  # (I,)
        self.popularity = counts / counts.sum()
        self.popularity[0] = 0.0  # padding is never recommended
        self._fit(sequences)
        return self

    def scores(self, history: Tensor) -> Tensor:
        """``history (N, H)`` item ids, left-padded with ``0`` → scores ``(N, num_items)`` float64."""
        if self.num_items is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call .fit(sequences, num_items) first")
        tensor("history", history, dims=2, kind="int", shape="(N, H) item ids, 0 = padding")
        _check_item_ids("history", history, self.num_items)
        return self._distribution(history).double() + 1e-9 * self.popularity  # (N, num_items)

    def _fit(self, sequences: list[Tensor]) -> None:
        """Learn what the subclass needs (popularity is already counted)."""

    def _distribution(self, history: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define _distribution(history) -> (N, num_items)")


class Popularity(Baseline):
    """How often each item occurs in the training sequences: the same list for every user."""

    def _distribution(self, history: Tensor) -> Tensor:
        return self.popularity.expand(len(history), -1)  # (N, num_items)


class ItemKNN(Baseline):
    """Item-based nearest neighbours (Sarwar et al., WWW 2001; Linden et al., 2003).

    Two items are similar when the same users have them: the cosine of their columns in the binary
    user × item matrix of the training sequences, ``sim(i, j) = c_ij / sqrt(c_ii c_jj)`` with ``c_ij``
    the number of users who have both (``sim(i, i) = 0``). Each item keeps its ``neighbours`` most
    similar items (``None``: all; a tie for the last place goes to the lower item id). A user's score
    for ``j`` is ``sum_i w_i sim(i, j)`` over the history, with weight ``w = decay ** age`` (``age`` 0
    for the most recent item, so ``decay=1`` ignores the order), normalized to sum to 1.
    """

    def __init__(self, neighbours: int | None = None, decay: float = 1.0) -> None:
        self.neighbours = None if neighbours is None else integer("neighbours", neighbours, minimum=1)
        self.decay = number("decay", decay, low=0, high=1, low_open=True)

    def _fit(self, sequences: list[Tensor]) -> None:
        users = torch.zeros(len(sequences), self.num_items)  # (U, I)
        for u, s in enumerate(sequences):
            users[u, s] = 1.0
        both = torch.sparse.mm(users.T.to_sparse(), users)  # (I, I) users who have both items
        norm = both.diagonal().sqrt().clamp(min=1.0)  # (I,)
        sim = (both / norm[:, None] / norm[None, :]).fill_diagonal_(0.0)  # (I, I)
        if self.neighbours is not None and self.neighbours < self.num_items:
            top = sim.sort(dim=1, descending=True, stable=True)  # ties: the lower item id first
            keep = top.indices[:, : self.neighbours]  # (I, neighbours)
            sim = torch.zeros_like(sim).scatter_(1, keep, sim.gather(1, keep))
        self.similarity = sim

    def _distribution(self, history: Tensor) -> Tensor:
        weight = _recency_weights(history, self.num_items, self.decay)  # (N, I), mostly zeros
        return _normalized(torch.sparse.mm(weight.to_sparse(), self.similarity))  # (N, I)


class Markov(Baseline):
    """A Markov chain over items: ``P(next = j | last = i)``, the share of the training pairs
    ``(i, then j)`` among all pairs that start with ``i``. ``decay=0`` (the default) reads the last
    item only, a first-order chain; ``decay > 0`` mixes the rows of the last few items with weights
    ``decay ** age``. A last item never followed by anything in training gives a row of zeros."""

    def __init__(self, decay: float = 0.0) -> None:
        self.decay = number("decay", decay, low=0, high=1, high_open=True)

    def _fit(self, sequences: list[Tensor]) -> None:
        pairs = torch.zeros(self.num_items, self.num_items)  # (I, I) counts
        for s in sequences:
            pairs.index_put_((s[:-1], s[1:]), torch.ones(len(s) - 1), accumulate=True)
        self.transitions = _normalized(pairs)  # (I, I), each row P(next | item)

    def _distribution(self, history: Tensor) -> Tensor:
        weight = _recency_weights(history, self.num_items, self.decay)  # (N, I), mostly zeros
        return _normalized(torch.sparse.mm(weight.to_sparse(), self.transitions))  # (N, I)


class MarkovKNN(Baseline):
    """The Markov + taste mix (in the spirit of FPMC, Rendle et al., WWW 2010, which adds a Markov
    term to a user-taste term): ``weight * Markov + (1 - weight) * ItemKNN``, two distributions over
    the next item, each with its own settings. :meth:`Baseline.fit` fits both parts; made from two
    parts already fitted on the same data, the mix scores at once (cheap to tune ``weight``)."""

    def __init__(self, weight: float, markov: Markov, knn: ItemKNN) -> None:
        self.weight = number("weight", weight, low=0, high=1)
        if not isinstance(markov, Markov):
            raise TypeError(f"markov must be a recsys.Markov, got {type(markov).__name__}")
        if not isinstance(knn, ItemKNN):
            raise TypeError(f"knn must be a recsys.ItemKNN, got {type(knn).__name__}")
        self.markov, self.knn = markov, knn
        if markov.num_items is not None and markov.num_items == knn.num_items:
            self.num_items, self.popularity = knn.num_items, knn.popularity

    def _fit(self, sequences: list[Tensor]) -> None:
        self.markov.fit(sequences, self.num_items)
        self.knn.fit(sequences, self.num_items)

    def _distribution(self, history: Tensor) -> Tensor:
        return (self.weight * self.markov._distribution(history)
                + (1 - self.weight) * self.knn._distribution(history))  # (N, I)
