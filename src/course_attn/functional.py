"""Scaled dot-product attention: the formula the course teaches, and the fused kernel.

Two backends compute the same thing:

* ``"math"`` -- the few lines a student reads: scores, mask, softmax, dropout,
  weighted sum. The only backend that can return the attention weights.
* ``"sdpa"`` -- ``torch.nn.functional.scaled_dot_product_attention``, which picks
  a fused kernel (FlashAttention or memory-efficient on CUDA, a fused kernel on CPU).
* ``"chunked"`` -- :func:`course_attn.chunked.chunked_attention`: the same exact result
  in plain PyTorch without ever storing the ``(L, S)`` scores (online softmax over key blocks).

``"auto"`` takes ``"sdpa"`` unless weights are asked for.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .chunked import chunked_attention
from .masks import _check_mask_dtype, causal_mask, combine

__all__ = ["scaled_dot_product_attention", "BACKENDS"]

#: The ``backend=`` choices: ``"auto"`` takes the fused kernel unless the weights are needed.
BACKENDS = ("auto", "math", "sdpa", "chunked")


def scaled_dot_product_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    *,
    causal: bool = False,
    dropout_p: float = 0.0,
    scale: float | None = None,
    need_weights: bool = False,
    training: bool = True,
    backend: str = "auto",
) -> tuple[Tensor, Tensor | None]:
    """``softmax(q @ k.T * scale + mask) @ v`` with ``scale = 1 / sqrt(E)`` by default.

    Shapes: ``q (..., L, E)``, ``k (..., S, E)``, ``v (..., S, Ev)`` with the same
    leading dims. Returns ``out (..., L, Ev)`` and ``weights (..., L, S)``, or
    ``None`` for the weights unless ``need_weights=True``.

    ``mask`` broadcasts to ``(..., L, S)``: boolean ``True`` = may attend, float =
    added to the scores (see :mod:`course_attn.masks`). ``causal=True`` also
    blocks future keys (bottom-right aligned, see :func:`~course_attn.masks.causal_mask`);
    with a ``mask`` as well, a score survives only if both allow it.

    A query row whose keys are all masked gives a zero output row and zero
    weights, never NaN. Dropout on the weights is applied only when
    ``training`` is true; the returned weights are the ones actually used
    (after dropout), so ``out == weights @ v`` always holds.
    """
    _check_qkv(q, k, v)
    backend = _pick_backend(backend, need_weights)
    if not isinstance(dropout_p, (int, float)) or not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"dropout_p must be a float in [0, 1), got {dropout_p!r}")
    if scale is not None and (not isinstance(scale, (int, float)) or not scale > 0):
        raise ValueError(f"scale must be a positive number or None (meaning 1/sqrt(E)), got {scale!r}")
    L, S = q.shape[-2], k.shape[-2]
    mask = _check_mask(mask, (*q.shape[:-2], L, S), dtype=q.dtype, device=q.device)
    p = float(dropout_p) if training else 0.0

    if causal and mask is None and L == S and backend == "sdpa":
        return _fused(q, k, v, None, p, scale, is_causal=True), None  # the kernel builds the mask itself
    if backend == "chunked":  # masks causal block by block: never builds an (L, S) mask
        return chunked_attention(q, k, v, mask, causal=causal, dropout_p=p, scale=scale), None
    if causal:
        mask = combine(mask, causal_mask(L, S, device=q.device))
    if backend == "math":
        out, weights = _math(q, k, v, mask, p, scale)
        return out, (weights if need_weights else None)
    return _fused(q, k, v, mask, p, scale, is_causal=False), None


def _math(q, k, v, mask, dropout_p, scale):
    """The attention formula, line by line. Returns ``(out, weights)``."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * scale  # (..., L, S)
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, float("-inf"))
        else:
            scores = scores + mask
        empty = torch.isneginf(scores).all(dim=-1, keepdim=True)  # (..., L, 1): no key allowed
        scores = scores.masked_fill(empty, 0.0)  # keeps softmax finite on empty rows ...
    if scores.dtype in (torch.float16, torch.bfloat16):
        weights = scores.softmax(dim=-1, dtype=torch.float32).to(scores.dtype)  # (..., L, S)
    else:
        weights = scores.softmax(dim=-1)
    if mask is not None:
        weights = weights.masked_fill(empty, 0.0)  # ... which are then zeroed
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p)
    return weights @ v, weights  # (..., L, Ev), (..., L, S)


def _fused(q, k, v, mask, dropout_p, scale, *, is_causal):
    """``F.scaled_dot_product_attention`` with the course's handling of empty rows.

    Recent torch CPU kernels already return zeros for a row with no allowed key,
    but older releases and some CUDA kernels return NaN, so empty rows are
    opened up before the kernel and zeroed after it, on every version.
    """
    empty = None
    if mask is not None:
        if mask.dtype == torch.bool:
            empty = ~mask.any(dim=-1, keepdim=True)  # (..., L or 1, 1)
            mask = mask | empty  # let empty rows see everything, then zero them below
        else:
            empty = torch.isneginf(mask).all(dim=-1, keepdim=True)
            mask = mask.masked_fill(empty, 0.0)
    out = F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=is_causal, scale=scale
    )  # (..., L, Ev)
    if empty is not None:
        out = out.masked_fill(empty, 0.0)
    return out


def _pick_backend(backend, need_weights):
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        return "math" if need_weights else "sdpa"
    if backend in ("sdpa", "chunked") and need_weights:
        raise ValueError(
            f"backend={backend!r} cannot return attention weights (it never stores them); "
            "use backend='math' or 'auto' with need_weights=True"
        )
    return backend


def _check_qkv(q, k, v):
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if not t.dtype.is_floating_point:
            raise TypeError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")
        if t.dim() < 2:
            raise ValueError(f"{name} must have shape (..., length, features), got {tuple(t.shape)}")
    if not q.dtype == k.dtype == v.dtype:
        raise TypeError(f"q, k and v must share one dtype, got q {q.dtype}, k {k.dtype}, v {v.dtype}")
    if not q.device == k.device == v.device:
        raise ValueError(f"q, k and v must be on one device, got q {q.device}, k {k.device}, v {v.device}")
    if not q.shape[:-2] == k.shape[:-2] == v.shape[:-2]:
        raise ValueError(
            "q, k and v must share their leading (batch, head) dims, got "
            f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}"
        )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q and k must have the same feature size E, got q {tuple(q.shape)} (E={q.shape[-1]}) "
            f"and k {tuple(k.shape)} (E={k.shape[-1]})"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"k and v must have the same length S, got k {tuple(k.shape)} (S={k.shape[-2]}) "
            f"and v {tuple(v.shape)} (S={v.shape[-2]})"
        )


def _check_mask(mask, target, *, dtype, device, name="mask"):
    """Validate that ``mask`` broadcasts to the scores' shape ``target``; cast a float mask to ``dtype``."""
    if mask is None:
        return None
    _check_mask_dtype(mask, name)
    if mask.device != device:
        raise ValueError(f"{name} is on {mask.device} but the inputs are on {device}")
    if not _broadcasts_to(mask.shape, target):
        raise ValueError(
            f"{name} of shape {tuple(mask.shape)} is not broadcastable to the scores' shape "
            f"{target} (..., L, S)"
        )
    return mask if mask.dtype == torch.bool else mask.to(dtype)


def _broadcasts_to(shape, target) -> bool:
    if len(shape) > len(target):
        return False
    return all(s in (1, t) for s, t in zip(reversed(shape), reversed(target)))
