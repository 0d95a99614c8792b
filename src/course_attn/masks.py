"""Attention masks, with one convention for the whole course.

* A **boolean** mask is ``True`` where attention is **allowed** (as in
  ``torch.nn.functional.scaled_dot_product_attention``).
* A **float** mask is **added** to the attention scores: ``0`` keeps a score,
  ``-inf`` removes it, anything in between biases it.

``torch.nn.MultiheadAttention`` uses the opposite boolean convention (``True``
means *ignore*); :func:`from_torch` and :func:`to_torch` convert at that boundary.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ._validate import integer

__all__ = [
    "causal_mask", "sliding_window_mask", "padding_mask", "combine", "to_additive", "from_torch", "to_torch",
]


def causal_mask(L: int, S: int | None = None, *, device=None) -> Tensor:
    """Boolean ``(L, S)`` mask letting query ``i`` see keys ``0 … i + (S - L)``.

    The mask is aligned **bottom-right**: the last query sees every key. With
    ``S > L`` this is what incremental decoding needs (the ``L`` new queries come
    after ``S - L`` cached keys). ``torch``'s ``is_causal=True`` aligns top-left
    instead; the two agree when ``L == S``. With ``L > S`` the first ``L - S``
    rows allow no key at all (see :func:`course_attn.scaled_dot_product_attention`
    for what such rows produce).
    """
    L = integer("L", L, minimum=0)
    S = L if S is None else integer("S", S, minimum=0)
    rows = torch.arange(L, device=device).unsqueeze(1) + (S - L)  # (L, 1) absolute position of each query
    cols = torch.arange(S, device=device).unsqueeze(0)  # (1, S)
    return cols <= rows  # (L, S)


def sliding_window_mask(L: int, S: int | None = None, *, left: int | None, right: int | None = 0,
                        device=None) -> Tensor:
    """Boolean ``(L, S)`` mask of local (sliding-window) attention, ``True`` = may attend.

    Aligned **bottom-right** like :func:`causal_mask`: query ``i`` sits at absolute position
    ``p = i + (S - L)``, and it may see key ``j`` exactly when ``p - left <= j <= p + right``.
    ``left`` and ``right`` count keys before and after that position; ``None`` means no limit on
    that side. ``left`` must be given: ``left=None`` with the default ``right=0`` is
    :func:`causal_mask`, and ``left=right=None`` allows every key.

    This is FlashAttention's ``window_size=(left, right)``, with ``None`` for its ``-1``.
    A causal window covering the last ``w`` keys (the query's own key included), as in
    Mistral's ``sliding_window=w``, is ``left=w - 1, right=0``.
    """
    S = L if S is None else S
    L = integer("L", L, minimum=0)
    S = integer("S", S, minimum=0)
    if left is not None:
        left = integer("left", left, minimum=0)
    if right is not None:
        right = integer("right", right, minimum=0)
    position = torch.arange(L, device=device).unsqueeze(1) + (S - L)  # (L, 1) absolute position of each query
    cols = torch.arange(S, device=device).unsqueeze(0)  # (1, S)
    allowed = torch.ones(L, S, dtype=torch.bool, device=device)
    if left is not None:
        allowed &= cols >= position - left
    if right is not None:
        allowed &= cols <= position + right
    return allowed  # (L, S)


def padding_mask(lengths: Tensor | Sequence[int], S: int | None = None) -> Tensor:
    """Boolean ``(B, S)`` mask, ``True`` for the first ``lengths[b]`` (real) tokens.

    This is the meaning of a tokenizer's ``attention_mask`` and of
    ``MultiHeadAttention``'s ``key_mask``. ``S`` defaults to ``max(lengths)``.
    """
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1 or lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise TypeError(
            f"padding_mask: lengths must be a 1-D sequence of ints, got dtype {lengths.dtype} "
            f"and shape {tuple(lengths.shape)}"
        )
    if lengths.numel() and int(lengths.min()) < 0:
        raise ValueError(f"padding_mask: lengths must be >= 0, got {lengths.tolist()}")
    longest = int(lengths.max()) if lengths.numel() else 0
    S = longest if S is None else integer("S", S, minimum=0)
    if S < longest:
        raise ValueError(f"padding_mask: S={S} is shorter than the longest length {longest}")
    positions = torch.arange(S, device=lengths.device)  # (S,)
    return positions.unsqueeze(0) < lengths.unsqueeze(1)  # (B, S)


def combine(*masks: Tensor | None) -> Tensor | None:
    """Combine masks into one that allows a score only where all of them do.

    ``None`` entries are skipped; with no mask left the result is ``None``.
    Booleans combine with ``&``. As soon as one mask is float the result is
    float: boolean masks become ``0`` / ``-inf`` and float masks are summed.
    Shapes broadcast against each other.
    """
    present = [m for m in masks if m is not None]
    for m in present:
        _check_mask_dtype(m, "each mask given to combine()")
    if not present:
        return None
    try:
        torch.broadcast_shapes(*(m.shape for m in present))
    except RuntimeError:
        shapes = ", ".join(str(tuple(m.shape)) for m in present)
        raise ValueError(f"combine: mask shapes {shapes} do not broadcast together") from None
    floats = [m for m in present if m.dtype.is_floating_point]
    if not floats:
        out = present[0]
        for m in present[1:]:
            out = out & m
        return out
    dtype = torch.promote_types(*[m.dtype for m in floats]) if len(floats) > 1 else floats[0].dtype
    out = None
    for m in present:
        m = to_additive(m, dtype)
        out = m if out is None else out + m
    return out


def to_additive(mask: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """Float version of ``mask``: booleans become ``0`` (allowed) / ``-inf`` (blocked).

    A float mask is only cast to ``dtype``. An integer mask is refused (``TypeError``): its 0/1
    values would become biases of 0 and 1 that block nothing; convert it with ``mask.bool()``.
    """
    _check_mask_dtype(mask, "the mask given to to_additive()")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"to_additive: dtype must be a floating-point torch.dtype (to hold -inf), got {dtype!r}")
    if mask.dtype == torch.bool:
        zeros = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
        return zeros.masked_fill(~mask, float("-inf"))
    return mask.to(dtype)


def from_torch(mask: Tensor | None) -> Tensor | None:
    """Convert a ``torch.nn.MultiheadAttention`` mask (``True`` = ignore) to ours.

    Works for both its ``key_padding_mask`` and its ``attn_mask``. Float masks
    mean the same thing in both conventions and are returned unchanged.
    """
    if mask is None:
        return None
    _check_mask_dtype(mask, "the mask given to from_torch()")
    return mask if mask.dtype.is_floating_point else ~mask


def to_torch(mask: Tensor | None) -> Tensor | None:
    """Convert one of our masks (``True`` = allowed) to ``nn.MultiheadAttention``'s convention."""
    return from_torch(mask)  # flipping a boolean is its own inverse


def _check_mask_dtype(mask, name: str) -> None:
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(mask).__name__}")
    if mask.dtype != torch.bool and not mask.dtype.is_floating_point:
        raise TypeError(
            f"{name} must be bool (True = may attend) or float (added to the scores), "
            f"got dtype {mask.dtype}; convert a 0/1 mask with mask.bool()"
        )
