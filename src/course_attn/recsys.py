"""Ranking metrics for next-item recommendation: full ranking, sampled ranking, HR@k and NDCG@k.

    from course_attn import recsys
    ranks = recsys.full_ranks(scores, target, exclude=history_ids)  # (N,) 1 = top of the list
    recsys.hit_rate(ranks, 10), recsys.ndcg(ranks, 10)

Leave-one-out evaluation holds out one item per user (the *target*) and asks where the model ranks
it. **Full ranking** ranks it against every item of the catalogue that the user has not already
seen; **sampled ranking** (the protocol of NCF and SASRec) ranks it against only ``n`` items drawn
at random, usually 100. Sampled metrics are cheaper but are not consistent with the full ones: they
can even order two models differently (Krichene & Rendle, KDD 2020, "On Sampled Metrics for Item
Recommendation"). Prefer :func:`full_ranks` wherever the catalogue fits in memory.

Ties count **against** the target: its rank is one plus the number of *other* candidates that score
at least as high. A model that gives every item the same score therefore gets the worst rank, never
the best.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._validate import integer, tensor

__all__ = ["full_ranks", "sampled_ranks", "hit_rate", "ndcg"]


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
