"""Scaled dot-product attention: the formula the course teaches, and the fast ways to compute it.

Three backends compute the same thing:

* ``"math"`` -- the few lines a student reads: scores, mask, softmax, dropout,
  weighted sum. The only backend that can return the attention weights.
* ``"sdpa"`` -- ``torch.nn.functional.scaled_dot_product_attention``, which picks
  a fused kernel (FlashAttention or memory-efficient on CUDA, a fused kernel on CPU).
* ``"chunked"`` -- :func:`course_attn.chunked.chunked_attention`: the same exact result
  in plain PyTorch without ever storing the ``(L, S)`` scores (online softmax over key blocks).

``"auto"`` takes ``"sdpa"`` unless weights are asked for.

Three conventions hold for every backend, and differ from some of PyTorch's:

* a boolean ``mask`` is ``True`` where a query **may attend** (as in
  ``F.scaled_dot_product_attention``; the opposite of ``nn.MultiheadAttention``, whose masks
  :func:`course_attn.masks.from_torch` converts);
* ``causal=True`` is aligned **bottom-right** when ``L != S``: the ``L`` queries are the last ``L``
  positions of the ``S`` keys, as incremental decoding with a KV cache needs
  (``F.scaled_dot_product_attention(is_causal=True)`` aligns top-left instead);
* a query that may attend to no key gets a **zero** output row and zero weights, never NaN.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ._validate import flag, integer, number, one_of
from .chunked import BLOCK_K, BLOCK_Q, BiasFn, chunked_attention
from .masks import _check_mask_dtype, causal_mask, combine

__all__ = ["scaled_dot_product_attention", "BACKENDS"]

#: The ``backend=`` choices: ``"auto"`` takes the fused kernel unless the weights are needed.
BACKENDS = ("auto", "math", "sdpa", "chunked")

# torch >= 2.5 lets the fused kernel share key/value heads itself (grouped-query attention).
_SDPA_HAS_GQA = tuple(int(part) for part in torch.__version__.split(".")[:2]) >= (2, 5)


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
    bias: BiasFn | None = None,
    enable_gqa: bool = False,
    block_q: int | None = None,
    block_k: int | None = None,
) -> tuple[Tensor, Tensor | None]:
    """``softmax(q @ k.T * scale + mask) @ v`` with ``scale = 1 / sqrt(E)`` by default.

    Shapes: ``q (..., L, E)``, ``k (..., S, E)``, ``v (..., S, Ev)`` with the same
    leading dims. Returns ``out (..., L, Ev)`` and ``weights (..., L, S)``, or
    ``None`` for the weights unless ``need_weights=True``.

    ``mask`` broadcasts to ``(..., L, S)``: boolean ``True`` = may attend, float =
    added to the scaled scores (see :mod:`course_attn.masks`). ``causal=True`` also
    blocks future keys, aligned bottom-right (see :func:`~course_attn.masks.causal_mask`);
    with a ``mask`` as well, a score survives only if both allow it.

    ``bias(rows, cols)`` is a function returning float biases broadcastable to
    ``(..., len(rows), len(cols))`` for the queries ``rows`` and keys ``cols`` (two slices),
    added like a float mask: position schemes such as ALiBi and T5 compute them from positions.
    The chunked backend calls it block by block, so the ``(L, S)`` biases never exist at once;
    the other backends call it once for all rows and columns.

    ``enable_gqa=True`` allows grouped-query attention: ``q (..., H, L, E)`` with
    ``k, v (..., H_kv, S, ·)`` where ``H_kv`` divides ``H``; query head ``h`` uses key/value head
    ``h // (H // H_kv)``. No backend copies the shared heads.

    ``block_q`` / ``block_k`` set the chunked backend's block sizes (default
    ``128 × 512``); they are an error with any other backend.

    A query row whose keys are all masked gives a zero output row and zero
    weights, never NaN. Dropout on the weights is applied only when
    ``training`` is true; the returned weights are the ones actually used
    (after dropout), so ``out == weights @ v`` always holds.
    """
    causal = flag("causal", causal)
    need_weights = flag("need_weights", need_weights)
    training = flag("training", training)
    enable_gqa = flag("enable_gqa", enable_gqa)
    groups = _check_qkv(q, k, v, enable_gqa)
    backend = _pick_backend(backend, need_weights)
    p = number("dropout_p", dropout_p, low=0.0, high=1.0, high_open=True)
    p = p if training else 0.0
    if scale is not None:
        scale = number("scale", scale, low=0.0, low_open=True)
    if bias is not None and not callable(bias):
        raise TypeError(
            f"bias must be a function bias(rows, cols) -> float tensor, got {type(bias).__name__}; "
            "pass a tensor of biases as the float mask instead"
        )
    blocks = _check_blocks(backend, block_q, block_k)
    L, S = q.shape[-2], k.shape[-2]
    mask = _check_mask(mask, (*q.shape[:-2], L, S), dtype=q.dtype, device=q.device)

    if backend == "chunked":  # masks causal block by block: never builds an (L, S) mask or bias
        if groups > 1:
            q, k, v, mask, bias = _grouped(q, k, v, mask, bias, groups)
        out = chunked_attention(q, k, v, mask, causal=causal, dropout_p=p, scale=scale, bias=bias, **blocks)
        return (out.flatten(-4, -3) if groups > 1 else out), None
    if bias is not None:
        mask = combine(mask, _check_mask(bias(slice(0, L), slice(0, S)), (*q.shape[:-2], L, S),
                                         dtype=q.dtype, device=q.device, name="bias(rows, cols)"))
    if backend == "sdpa":
        if groups > 1 and not _SDPA_HAS_GQA:  # older torch: the kernel needs one key/value head per query head
            k, v, groups = k.repeat_interleave(groups, dim=-3), v.repeat_interleave(groups, dim=-3), 1
        if causal and mask is None and L == S:  # the kernel builds the mask itself
            return _fused(q, k, v, None, p, scale, is_causal=True, gqa=groups > 1), None
    if causal:
        mask = combine(mask, causal_mask(L, S, device=q.device))
    if backend == "sdpa":
        return _fused(q, k, v, mask, p, scale, is_causal=False, gqa=groups > 1), None
    if groups > 1:
        q, k, v, mask, _ = _grouped(q, k, v, mask, None, groups)
    out, weights = _math(q, k, v, mask, p, scale)  # (..., L, Ev), (..., L, S)
    if groups > 1:
        out, weights = out.flatten(-4, -3), weights.flatten(-4, -3)
    return out, (weights if need_weights else None)


def _grouped(q, k, v, mask, bias, groups):
    """Grouped-query views without copies: ``q (..., H, L, E)`` → ``(..., H_kv, g, L, E)``, and
    ``k, v (..., H_kv, S, ·)`` → ``(..., H_kv, 1, S, ·)``, so that a matmul broadcasts each
    key/value head over its ``g`` query heads. Masks and biases follow the query heads."""
    def by_query_head(t):  # (..., H or 1, L, S) → (..., H_kv or 1, g or 1, L, S)
        if t.dim() >= 3 and t.shape[-3] != 1:
            return t.unflatten(-3, (-1, groups))
        return t.unsqueeze(-3) if t.dim() >= 3 else t

    q = q.unflatten(-3, (-1, groups))  # (..., H_kv, g, L, E)
    k, v = k.unsqueeze(-3), v.unsqueeze(-3)  # (..., H_kv, 1, S, ·)
    mask = None if mask is None else by_query_head(mask)
    if bias is not None:
        inner = bias
        bias = lambda rows, cols: by_query_head(inner(rows, cols))  # noqa: E731
    return q, k, v, mask, bias


def _math(q, k, v, mask, dropout_p, scale):
    """The attention formula, line by line. Returns ``(out, weights)``."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q * scale) @ k.transpose(-2, -1)  # (..., L, S); scaling q first keeps fp16 from overflowing
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


def _fused(q, k, v, mask, dropout_p, scale, *, is_causal, gqa):
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
    if q.shape[-2] == 0 or k.shape[-2] == 0 or q.numel() == 0:  # kernels differ on empty inputs
        return q.new_zeros(*q.shape[:-1], v.shape[-1])
    extra = {"enable_gqa": True} if gqa else {}
    out = F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=is_causal, scale=scale, **extra
    )  # (..., L, Ev)
    if empty is not None:
        out = out.masked_fill(empty, 0.0)
    return out


def _pick_backend(backend, need_weights):
    one_of("backend", backend, BACKENDS)
    if backend == "auto":
        return "math" if need_weights else "sdpa"
    if backend in ("sdpa", "chunked") and need_weights:
        raise ValueError(
            f"backend={backend!r} cannot return attention weights (it never stores them); "
            "use backend='math' or 'auto' with need_weights=True"
        )
    return backend


def _check_blocks(backend, block_q, block_k) -> dict:
    """The chunked backend's block sizes as keyword arguments; an error for any other backend."""
    if backend != "chunked":
        if block_q is not None or block_k is not None:
            raise ValueError(f"block_q and block_k set the chunked backend's blocks; backend is {backend!r}")
        return {}
    return {"block_q": BLOCK_Q if block_q is None else integer("block_q", block_q, minimum=1),
            "block_k": BLOCK_K if block_k is None else integer("block_k", block_k, minimum=1)}


def _check_qkv(q, k, v, enable_gqa: bool) -> int:
    """Validate ``q, k, v``; return the number of query heads per key/value head (1 without GQA)."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if not t.dtype.is_floating_point:
            raise TypeError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")
        if t.dim() < (3 if enable_gqa else 2):
            layout = "(..., heads, length, features) with enable_gqa=True" if enable_gqa else "(..., length, features)"
            raise ValueError(f"{name} must have shape {layout}, got {tuple(t.shape)}")
    if not q.dtype == k.dtype == v.dtype:
        raise TypeError(f"q, k and v must share one dtype, got q {q.dtype}, k {k.dtype}, v {v.dtype}")
    if not q.device == k.device == v.device:
        raise ValueError(f"q, k and v must be on one device, got q {q.device}, k {k.device}, v {v.device}")
    groups = 1
    if enable_gqa and k.shape[-3] != q.shape[-3]:
        if k.shape[-3] == 0 or q.shape[-3] % k.shape[-3] or v.shape[-3] != k.shape[-3]:
            raise ValueError(
                "with enable_gqa=True the number of key/value heads must divide the number of query heads, "
                f"got q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)} (heads are dim -3)"
            )
        groups = q.shape[-3] // k.shape[-3]
    lead = 3 if groups > 1 else 2  # with GQA the head counts differ and were checked above
    if not q.shape[:-lead] == k.shape[:-lead] == v.shape[:-lead]:
        hint = "" if enable_gqa or q.dim() < 3 or k.dim() < 3 or q.shape[-3] == k.shape[-3] else (
            "; for grouped-query attention (fewer key/value heads) pass enable_gqa=True")
        raise ValueError(
            "q, k and v must share their leading (batch, head) dims, got "
            f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}{hint}"
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
    return groups


def _check_mask(mask, target, *, dtype, device, name="mask"):
    """Validate that ``mask`` broadcasts to the scores' shape ``target``; cast a float mask to ``dtype``.

    A mask of fewer than two dims (e.g. ``(S,)``, one flag per key) is viewed as ``(1, S)``, which
    broadcasts the same way and which every backend accepts.
    """
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
    if mask.dtype != torch.bool and (torch.isnan(mask) | torch.isposinf(mask)).any():
        raise ValueError(f"{name} holds NaN or +inf, which turn the softmax into NaN; use 0 to keep a score "
                         "and -inf to remove it")
    if mask.dim() < 2:
        mask = mask.reshape((1,) * (2 - mask.dim()) + tuple(mask.shape))  # (1, S) or (1, 1)
    return mask if mask.dtype == torch.bool else mask.to(dtype)


def _broadcasts_to(shape, target) -> bool:
    if len(shape) > len(target):
        return False
    return all(s in (1, t) for s, t in zip(reversed(shape), reversed(target)))
