"""Attention rollout (Abnar & Zuidema, "Quantifying Attention Flow in Transformers", ACL 2020).

Raw attention weights of one layer say how a layer mixes *its own inputs*, which after the first
layer are already mixtures of tokens. Rollout follows the mixing back to the input tokens. For
each layer ``l`` (first layer first) it

1. fuses the heads (``head_fusion="mean"`` is the paper's choice) into ``W_l (B, L, L)``;
2. adds the identity for the residual connection and renormalizes every row,
   ``A_l = (W_l + I) / rowsum`` (for rows that sum to one this is the paper's ``0.5 W + 0.5 I``);
3. multiplies from the first layer up: ``R_1 = A_1``, ``R_l = A_l @ R_{l-1}``.

Row ``i`` of the result ``R_L`` is a distribution over the input tokens: how much of token ``i``'s
last hidden state traces back to each input token, *if* information flowed only along the
attention weights and the residual path, mixed linearly. That assumption ignores the values, the
feed-forward layers and every non-linearity, so rollout is a heuristic, not an explanation.

For example::

    out = encoder(ids, key_mask=mask, need_weights=True)
    rollout = attention_rollout(out.attentions, key_mask=mask)   # (B, L, L)

The other measurements two chapters share live here too, each written once:

- :func:`norm_contributions`: what a key actually passes to a query, ``||alpha f(x_j)||`` per head or
  ``||sum_h alpha_h f_h(x_j)||`` for the whole layer (Kobayashi et al., EMNLP 2020);
- :func:`behaviour_score`: how much attention real queries put on chosen target keys (previous token,
  ``[CLS]``, the same word ...), per layer and head (Clark et al., 2019);
- :func:`ablate_heads` / :func:`head_removed`: remove one head at a time and measure the effect;
- :func:`deletion_importance` and :func:`spearman`: importance by deleting each token, and the rank
  correlation of two importance scores;
- :func:`occlusion`: does removing the positions a model attends to most hurt more than removing
  as many random ones? (tokens, image patches, frames, history items alike).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ._attentions import per_layer
from ._validate import flag, integer, one_of, tensor
from .seeds import Spread

__all__ = ["attention_rollout", "HEAD_FUSIONS", "norm_contributions", "behaviour_score", "head_removed",
           "ablate_heads", "deletion_importance", "spearman", "Occlusion", "occlusion"]

HEAD_FUSIONS = ("mean", "max", "min")


def attention_rollout(
    attentions: Sequence[Tensor] | Tensor,
    key_mask: Tensor | None = None,
    *,
    add_residual: bool = True,
    head_fusion: str = "mean",
) -> Tensor:
    """Roll the per-layer attention weights out to the input tokens → ``(B, L, L)``.

    ``attentions`` holds one ``(B, H, L, L)`` tensor of attention probabilities per layer, the
    first layer first (the ``attentions`` of an encoder called with ``need_weights=True``), or
    one ``(num_layers, B, H, L, L)`` tensor. ``key_mask (B, L)`` is ``True``/1 for real tokens
    (a tokenizer's ``attention_mask``): padding columns are dropped before the rows are
    renormalized, and padding rows and columns of the result are 0.

    ``add_residual=False`` multiplies the raw (head-fused, renormalized) matrices, without the
    identity. ``head_fusion`` is ``"mean"`` (the paper), ``"max"`` or ``"min"`` over heads.

    Every real row of the result is non-negative and sums to one. The result is float32 (or
    float64 for float64 inputs).
    """
    layers = _check_attentions(attentions)
    add_residual = flag("add_residual", add_residual)
    head_fusion = one_of("head_fusion", head_fusion, HEAD_FUSIONS)
    B, _, L, _ = layers[0].shape
    dtype = torch.promote_types(layers[0].dtype, torch.float32)  # accumulate half inputs in float32
    real = _check_key_mask(key_mask, B, L, layers[0].device)  # (B, L) bool, or None
    eye = torch.eye(L, dtype=dtype, device=layers[0].device)  # (L, L)
    if real is not None:
        keep = (real[:, :, None] & real[:, None, :]).to(dtype)  # (B, L, L): real query and real key
        eye = eye * keep  # (B, L, L): no residual path through padding

    rollout = None
    for weights in layers:
        w = weights.to(dtype)  # (B, H, L, L)
        if head_fusion == "mean":
            w = w.mean(dim=1)  # (B, L, L)
        elif head_fusion == "max":
            w = w.amax(dim=1)
        else:
            w = w.amin(dim=1)
        if real is not None:
            w = w * keep  # padding rows and columns → 0
        if add_residual:
            w = w + eye
        rows = w.sum(dim=-1, keepdim=True)  # (B, L, 1)
        w = torch.where(rows > 0, w / rows.clamp(min=torch.finfo(dtype).tiny), 0.0)  # rows sum to 1
        rollout = w if rollout is None else w @ rollout  # (B, L, L): A_l @ R_{l-1}
    return rollout


def _check_attentions(attentions) -> list[Tensor]:
    """A non-empty list of same-shaped ``(B, H, L, L)`` floating tensors of non-negative weights."""
    attentions = per_layer(attentions, "(num_layers, B, H, L, L)")
    for i, a in enumerate(attentions):
        if not a.dtype.is_floating_point:
            raise TypeError(f"attentions[{i}] must be floating point, got dtype {a.dtype}")
        if a.dim() != 4 or a.shape[-1] != a.shape[-2]:
            raise ValueError(
                f"attentions[{i}] must be self-attention weights of shape (B, H, L, L), "
                f"got {tuple(a.shape)}"
            )
        if a.shape != attentions[0].shape:
            raise ValueError(
                f"every layer's weights must have one shape; attentions[0] is "
                f"{tuple(attentions[0].shape)} but attentions[{i}] is {tuple(a.shape)}"
            )
        if a.device != attentions[0].device:
            raise ValueError(f"attentions[{i}] is on {a.device} but attentions[0] is on {attentions[0].device}")
        if not torch.isfinite(a).all() or (a < 0).any():
            raise ValueError(
                f"attentions[{i}] must hold attention probabilities (finite, >= 0), "
                f"got values from {a.min().item():.3g} to {a.max().item():.3g}"
            )
    return attentions


def _check_key_mask(key_mask, B: int, L: int, device) -> Tensor | None:
    """``key_mask (B, L)`` of bools or 0/1 numbers → bool ``(B, L)``."""
    if key_mask is None:
        return None
    tensor("key_mask", key_mask, shape="(B, L)")
    if tuple(key_mask.shape) != (B, L):
        raise ValueError(f"key_mask must have shape (B, L) = {(B, L)}, got {tuple(key_mask.shape)}")
    if key_mask.dtype != torch.bool:
        if key_mask.is_complex() or not ((key_mask == 0) | (key_mask == 1)).all():
            raise ValueError("key_mask must be boolean or hold only 0 and 1 (1 = real token)")
        key_mask = key_mask != 0
    return key_mask.to(device)


# --- what a key passes on: Kobayashi et al. (2020) ------------------------------------------------


@torch.no_grad()
def norm_contributions(attn: nn.Module, x: Tensor, weights: Tensor, *, sum_heads: bool = False) -> Tensor:
    """Norms of what each key passes to each query in one self-attention layer (Kobayashi et al., 2020).

    Head ``h`` adds ``alpha_hij f_h(x_j)`` to query ``i``, with ``f_h(x) = (x W_V^h + b_V^h) W_O^h`` the
    value vector after head ``h``'s slice of the output projection. ``x (B, S, d)`` is the layer's
    input (keys and values), ``weights (B, H, L, S)`` its attention probabilities, ``attn`` a
    :class:`~course_attn.MultiHeadAttention` (grouped-query heads are expanded).

    Returns ``||alpha_hij f_h(x_j)|| (B, H, L, S)``, or with ``sum_heads=True`` the layer-level measure
    of the paper, ``||sum_h alpha_hij f_h(x_j)|| (B, L, S)``: the norm of the summed vectors, which is
    at most (and usually less than) the sum of the per-head norms. Summed over ``j`` (and heads), the
    vectors themselves give the layer's output minus the output bias.
    """
    for name in ("v_proj", "out_proj", "num_heads", "head_dim"):
        if not hasattr(attn, name):
            raise TypeError(f"attn must be a course_attn MultiHeadAttention, got {type(attn).__name__}")
    tensor("x", x, dims=3, kind="float", shape="(B, S, d)")
    tensor("weights", weights, dims=4, kind="float", shape="(B, H, L, S)")
    sum_heads = flag("sum_heads", sum_heads)
    B, S, _ = x.shape
    H, D = attn.num_heads, attn.head_dim
    if weights.shape[0] != B or weights.shape[1] != H or weights.shape[3] != S:
        raise ValueError(f"weights must have shape (B, H, L, S) = ({B}, {H}, L, {S}) for x of shape "
                         f"{tuple(x.shape)} and {H} heads, got {tuple(weights.shape)}")
    v = attn.v_proj(x).view(B, S, -1, D)  # (B, S, H_kv, D)
    v = v.repeat_interleave(H // v.shape[2], dim=2)  # (B, S, H, D)
    w_o = attn.out_proj.weight.view(-1, H, D)  # (d, H, D): head h's columns of W_O
    f = torch.einsum("bshk,dhk->bhsd", v, w_o)  # (B, H, S, d)
    passed = weights[..., None] * f[:, :, None]  # (B, H, L, S, d)
    return passed.sum(1).norm(dim=-1) if sum_heads else passed.norm(dim=-1)


# --- what heads do: behaviour scores and ablation ----------------------------------------------------


def behaviour_score(attentions: Sequence[Tensor] | Tensor, target: Tensor, queries: Tensor,
                    real: Tensor | None = None) -> Tensor:
    """Mean attention mass that queries put on their target keys, per layer and head: ``(layers, H)``.

    ``attentions``: ``(B, layers, H, L, L)`` or a list of ``(B, H, L, L)`` (one per layer);
    ``target (B, L, L)`` bool, which keys count for each query (e.g. the previous token);
    ``queries (B, L)`` bool, which queries are averaged over (size-1 dimensions broadcast); ``real (B, L)`` bool, optional, further
    restricts them to real (not padded) tokens. The score of a head is ``sum_j A_ij target_ij``
    averaged over the chosen queries; a uniform head scores ``1 / L`` per target key.
    """
    A = torch.stack(list(attentions), dim=1) if isinstance(attentions, (list, tuple)) else attentions
    tensor("attentions", A, dims=5, kind="float", shape="(B, layers, H, L, L)")
    B, _, _, L, S = A.shape
    tensor("target", target, dims=3, kind="bool", shape="(B, L, L)")
    tensor("queries", queries, dims=2, kind="bool", shape="(B, L)")
    try:
        target, queries = target.expand(B, L, S), queries.expand(B, L)  # size-1 dims broadcast
    except RuntimeError:
        raise ValueError(f"target must be (B, L, L) = {(B, L, S)} and queries (B, L) = {(B, L)} for attentions "
                         f"of shape {tuple(A.shape)}, got {tuple(target.shape)} and {tuple(queries.shape)}") from None
    if real is not None:
        tensor("real", real, dims=2, kind="bool", shape="(B, L)")
        if tuple(real.shape) != (B, L):
            raise ValueError(f"real must have shape (B, L) = {(B, L)}, got {tuple(real.shape)}")
        queries = queries & real
    if not queries.any():
        raise ValueError("no query is selected: queries (& real) is all False")
    mass = (A * target[:, None, None]).sum(-1)  # (B, layers, H, L)
    q = queries[:, None, None].to(A.dtype)  # (B, 1, 1, L)
    return (mass * q).sum((0, 3)) / q.sum()  # (layers, H)


def _out_proj_of(attn: nn.Module) -> nn.Linear:
    if not (hasattr(attn, "out_proj") and hasattr(attn, "num_heads") and hasattr(attn, "head_dim")):
        raise TypeError(f"attn must be a course_attn MultiHeadAttention, got {type(attn).__name__}")
    return attn.out_proj


@contextlib.contextmanager
def head_removed(attn: nn.Module, head: int) -> Iterator[None]:
    """Inside the block, head ``head`` of ``attn`` contributes nothing (its columns of ``W_O`` are zero).

    The weights are restored on exit, also after an error.
    """
    out_proj = _out_proj_of(attn)
    head = integer("head", head, minimum=0)
    if head >= attn.num_heads:
        raise ValueError(f"head must be < num_heads={attn.num_heads}, got {head}")
    cols = slice(head * attn.head_dim, (head + 1) * attn.head_dim)
    saved = out_proj.weight.data[:, cols].clone()
    out_proj.weight.data[:, cols] = 0
    try:
        yield
    finally:
        out_proj.weight.data[:, cols] = saved


def ablate_heads(attns: Sequence[nn.Module], measure: Callable[[], float | Tensor]) -> Tensor:
    """``measure()`` with each head removed in turn (:func:`head_removed`): ``(layers, H)``.

    ``attns`` are the attention modules of the layers (``[b.attn for b in encoder.layers]``);
    ``measure`` runs the model and returns a number, e.g. how far the output moved.
    """
    if not isinstance(attns, Sequence) or not attns:
        raise TypeError("attns must be a non-empty list of attention modules, e.g. [b.attn for b in encoder.layers]")
    if not callable(measure):
        raise TypeError(f"measure must be callable, got {type(measure).__name__}")
    for attn in attns:
        _out_proj_of(attn)
    H = attns[0].num_heads
    if any(a.num_heads != H for a in attns):
        raise ValueError("every layer must have the same number of heads")
    effect = torch.zeros(len(attns), H)
    for layer, attn in enumerate(attns):
        for head in range(H):
            with head_removed(attn, head):
                effect[layer, head] = float(measure())
    return effect


# --- importance by deletion, and rank correlation ----------------------------------------------------


def deletion_importance(embed: Callable[[Tensor], Tensor], ids: Tensor, *, keep: Sequence[int] = ()) -> Tensor:
    """How far an embedding moves when each token is deleted: ``1 - cos(embed(ids), embed(ids without i))``.

    ``embed`` maps token ids ``(1, L)`` to one vector ``(d,)``; ``ids (1, L)``; positions in ``keep``
    (e.g. ``[CLS]`` and ``[SEP]``) are not deleted and get 0. Returns ``(L,)``.
    """
    if not callable(embed):
        raise TypeError(f"embed must be callable, got {type(embed).__name__}")
    tensor("ids", ids, dims=2, kind="int", shape="(1, L)")
    if ids.shape[0] != 1 or ids.shape[1] < 2:
        raise ValueError(f"ids must be one sequence of at least 2 tokens, shape (1, L), got {tuple(ids.shape)}")
    L = ids.shape[1]
    keep = {integer("keep", k) % L for k in keep}
    with torch.no_grad():
        full = torch.nn.functional.normalize(embed(ids).flatten(), dim=0)
        out = torch.zeros(L)
        for i in range(L):
            if i in keep:
                continue
            cut = torch.cat([ids[:, :i], ids[:, i + 1:]], dim=1)  # (1, L - 1)
            out[i] = 1 - torch.nn.functional.normalize(embed(cut).flatten(), dim=0) @ full
    return out


def _ranks(x: Tensor) -> Tensor:
    """Ranks 0 … n-1, ties get the mean of their ranks."""
    order = x.argsort()
    ranks = torch.empty_like(x, dtype=torch.float64)
    ranks[order] = torch.arange(len(x), dtype=torch.float64)
    for value in x.unique():
        tied = x == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(a: Tensor, b: Tensor) -> float:
    """Spearman's rank correlation of two 1-D tensors of equal length (ties get mean ranks)."""
    tensor("a", a, dims=1, shape="(n,)")
    tensor("b", b, dims=1, shape="(n,)")
    if a.shape != b.shape or len(a) < 2:
        raise ValueError(f"a and b must have the same length >= 2, got {len(a)} and {len(b)}")
    ra, rb = _ranks(a.detach().cpu().double()), _ranks(b.detach().cpu().double())
    if ra.std() == 0 or rb.std() == 0:
        raise ValueError("a constant input has no rank correlation")
    return torch.corrcoef(torch.stack([ra, rb]))[0, 1].item()


# --- occlusion: most important positions against random ones ---------------------------------------


@dataclass(frozen=True)
class Occlusion:
    """The metric with nothing removed (``full``), with each row's ``k`` most important positions
    removed (``top``), and with ``k`` random allowed positions removed (``random``, one value per
    repeat)."""

    full: float
    top: float
    random: Spread
    k: int


def _ranked(values: Tensor) -> Tensor:
    """Rank of every entry within its row, 0 = largest: ``(N, T) → (N, T)``."""
    order = values.argsort(dim=1, descending=True, stable=True)  # (N, T)
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(values.shape[1]).expand_as(order))
    return ranks


def _score(score: Callable[[Tensor], float], keep: Tensor, what: str) -> float:
    value = score(keep)
    if isinstance(value, Tensor):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"score(keep) must return a finite number ({what}), got {value!r}")
    return float(value)


def occlusion(score: Callable[[Tensor], float], importance: Tensor, k: int, *, allowed: Tensor | None = None,
              repeats: int = 5, seed: int = 0) -> Occlusion:
    """Remove the ``k`` positions of each row that ``importance`` ranks highest, and compare with
    removing ``k`` random positions: if attention (or any importance) points at what the model uses,
    the first hurts more.

    ``importance (N, T)`` (e.g. the ``[CLS]`` query's attention over the tokens); ``allowed (N, T)``
    bool, ``True`` where a position may be removed (default: everywhere; mark padding and special
    tokens ``False``). A row with fewer than ``k`` allowed positions loses all of them, in both
    arms. ``score(keep)`` gets ``keep (N, T)`` bool (``True`` = kept) and returns the metric (e.g.
    accuracy) of the model on inputs with the other positions removed, however the caller removes
    them (a key mask, a ``[MASK]`` token, a zeroed patch). ``repeats`` random draws, from ``seed``.
    """
    if not callable(score):
        raise TypeError(f"score must be a function keep (N, T) -> float, got {type(score).__name__}")
    tensor("importance", importance, dims=2, kind="float", shape="(N, T)")
    if not torch.isfinite(importance).all():
        raise ValueError("importance must be finite; mark positions that may not be removed with allowed=")
    k = integer("k", k, minimum=1)
    repeats = integer("repeats", repeats, minimum=1)
    seed = integer("seed", seed)
    importance = importance.detach().cpu()
    N, T = importance.shape
    if allowed is None:
        allowed = torch.ones(N, T, dtype=torch.bool)
    else:
        tensor("allowed", allowed, kind="bool", shape="(N, T)")
        if allowed.shape != importance.shape:
            raise ValueError(f"allowed must have the shape of importance {(N, T)}, got {tuple(allowed.shape)}")
        allowed = allowed.cpu()
    n_removed = allowed.sum(dim=1, keepdim=True).clamp(max=k)  # (N, 1)

    def keep_all_but_highest(values: Tensor) -> Tensor:
        ranks = _ranked(values.masked_fill(~allowed, -math.inf))  # (N, T), allowed ones first
        return ~((ranks < n_removed) & allowed)  # (N, T)

    generator = torch.Generator().manual_seed(seed)
    full = _score(score, torch.ones(N, T, dtype=torch.bool), "nothing removed")
    top = _score(score, keep_all_but_highest(importance), f"top {k} removed")
    random = [_score(score, keep_all_but_highest(torch.rand(N, T, generator=generator)), f"{k} random removed")
              for _ in range(repeats)]
    return Occlusion(full=full, top=top, random=Spread(tuple(random)), k=k)
