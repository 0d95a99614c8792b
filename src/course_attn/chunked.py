"""Memory-efficient exact attention in plain PyTorch: blocks of keys and an online softmax.

The full ``(L, S)`` score matrix is never stored. Queries are taken ``block_q`` at a time; for each
block, keys and values stream past ``block_k`` at a time while three running quantities are kept
per query: the largest score so far ``m``, the softmax denominator ``l`` (relative to ``m``) and the
un-normalized output ``acc``. When a new block raises the maximum from ``m`` to ``m'``, the old
``l`` and ``acc`` are rescaled by ``exp(m - m')``. At the end ``out = acc / l`` is exactly
``softmax(scores) @ v``. This is the algorithm of Rabe & Staats ("Self-attention does not need
O(n²) memory", 2021) and, tiled for GPU on-chip memory, of FlashAttention (Dao et al., NeurIPS 2022).

Four things keep it close to the fused kernel's speed on a CPU: every head of a block is one
batched matmul; the block's scores are updated in place; with ``causal=True`` key blocks in the
future of a whole query block are skipped, and only blocks that straddle the diagonal are masked;
and, as in FlashAttention-2, scores are kept in base 2 (``log2(e)`` is folded into the scale), because
``exp2`` is about three times cheaper than ``exp`` and ``2^(x log2 e) = e^x``.

Masks and position biases are applied block by block: a boolean or float ``mask`` is sliced, and a
``bias`` is a *function* ``bias(rows, cols)`` that computes the block's ``(..., rows, cols)`` biases
from positions (ALiBi, T5), so that no ``(L, S)`` tensor exists at any point.

Under autograd each query block is recomputed in the backward pass (activation checkpointing),
so training memory stays small too.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from ._validate import integer

__all__ = ["chunked_attention", "BLOCK_Q", "BLOCK_K"]

#: Default block sizes: a ``128 × 512`` score block per head (256 KiB in fp32) stays in cache.
BLOCK_Q, BLOCK_K = 128, 512

LOG2E = math.log2(math.e)

#: ``bias(rows, cols)`` → a float tensor broadcastable to ``(..., rows, cols)``.
BiasFn = Callable[[slice, slice], Tensor]


def chunked_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, *, causal: bool = False,
    dropout_p: float = 0.0, scale: float | None = None, bias: BiasFn | None = None,
    block_q: int = BLOCK_Q, block_k: int = BLOCK_K,
) -> Tensor:
    """``softmax(q @ k.T * scale + mask + bias) @ v`` without materializing the scores.

    Shapes as :func:`course_attn.scaled_dot_product_attention` (``q (..., L, E)``,
    ``k (..., S, E)``, ``v (..., S, Ev)`` → ``(..., L, Ev)``; leading dims broadcast), with the same
    mask convention, bottom-right ``causal`` alignment and zero rows for queries with no allowed
    key. ``bias(rows, cols)`` returns the float biases of one block (see the module docstring).
    Inputs are assumed validated (call it through that function with ``backend="chunked"``).
    Peak extra memory is about ``block_q × block_k`` scores per batch and head, plus the output.
    """
    block_q = integer("block_q", block_q, minimum=1)
    block_k = integer("block_k", block_k, minimum=1)
    L, S = q.shape[-2], k.shape[-2]
    lead = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2])
    if L == 0 or S == 0:  # nothing to attend from, or nothing to attend to: zero rows
        return q.new_zeros(*lead, L, v.shape[-1]).to(v.dtype)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    if mask is not None:
        mask = mask.expand(*mask.shape[:-2], L, S)  # a broadcast view: no copy
    grad = torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v))
    blocks = []
    for start in range(0, L, block_q):
        rows = slice(start, min(start + block_q, L))
        args = (q[..., rows, :], k, v, None if mask is None else mask[..., rows, :])
        kwargs = dict(rows=rows, shift=S - L if causal else None, dropout_p=dropout_p, scale=scale,
                      bias=bias, block_k=block_k, in_place=not grad)
        if grad:
            blocks.append(checkpoint(_query_block, *args, use_reentrant=False, **kwargs))
        else:
            blocks.append(_query_block(*args, **kwargs))
    return torch.cat(blocks, dim=-2)  # (..., L, Ev)


def _query_block(q, k, v, mask, *, rows, shift, dropout_p, scale, bias, block_k, in_place):
    """Attention of one block of queries ``q (..., bq, E)`` to all keys, streamed in key blocks.

    ``rows`` are the block's query indices; with causal attention query ``r`` may see key ``c``
    when ``c <= r + shift`` (``shift = S - L``: bottom-right alignment), else ``shift`` is None.
    ``in_place`` updates the score block in place (not allowed while autograd records).
    """
    acc_dtype = torch.promote_types(q.dtype, torch.float32)  # accumulate half inputs in float32
    q = q.to(acc_dtype) * (scale * LOG2E)  # (..., bq, E): scores come out in base 2
    S = k.shape[-2]
    stop = S if shift is None else max(0, min(S, rows.stop + shift))  # later keys: future of every row
    m = l = acc = None  # running max (..., bq, 1), denominator (..., bq, 1), numerator (..., bq, Ev)
    for start in range(0, stop, block_k):
        cols = slice(start, min(start + block_k, stop))
        s = q @ k[..., cols, :].to(acc_dtype).transpose(-2, -1)  # (..., bq, bk)
        if mask is not None:
            block_mask = mask[..., cols]
            if block_mask.dtype == torch.bool:
                s = s.masked_fill_(~block_mask, -math.inf) if in_place else s.masked_fill(~block_mask, -math.inf)
            else:
                s = s.add_(block_mask, alpha=LOG2E) if in_place else s + block_mask * LOG2E
        if bias is not None:
            b = _checked_bias(bias(rows, cols), s.shape, rows, cols)
            s = s.add_(b, alpha=LOG2E) if in_place else s + b * LOG2E
        if shift is not None and cols.stop - 1 > rows.start + shift:  # the block straddles the diagonal
            future = _future(rows, cols, shift, q.device)  # (bq, bk)
            s = s.masked_fill_(future, -math.inf) if in_place else s.masked_fill(future, -math.inf)
        block_max = s.amax(dim=-1, keepdim=True)  # (..., bq, 1)
        m_new = block_max if m is None else torch.maximum(m, block_max)
        m_safe = torch.where(torch.isneginf(m_new), 0.0, m_new)  # rows with no allowed key yet
        p = s.sub_(m_safe).exp2_() if in_place else torch.exp2(s - m_safe)  # (..., bq, bk), 0 where masked
        row_sum = p.sum(dim=-1, keepdim=True)  # (..., bq, 1)
        if dropout_p > 0.0:
            p = F.dropout(p, p=dropout_p)  # drop weights in the numerator only, as FlashAttention does
        pv = p @ v[..., cols, :].to(acc_dtype)  # (..., bq, Ev)
        if m is None:
            l, acc = row_sum, pv
        else:
            correction = torch.exp2(m - m_safe)  # (..., bq, 1): rescales what was summed so far
            l = l * correction + row_sum
            acc = acc.mul_(correction).add_(pv) if in_place else acc * correction + pv
        m = m_new
    if acc is None:  # causal with L > S: these queries come before every key
        return q.new_zeros(*torch.broadcast_shapes(q.shape[:-2], v.shape[:-2]), q.shape[-2], v.shape[-1]).to(v.dtype)
    out = torch.where(l > 0, acc / l.clamp(min=torch.finfo(acc_dtype).tiny), 0.0)  # empty rows → 0
    return out.to(v.dtype)  # (..., bq, Ev)


def _future(rows: slice, cols: slice, shift: int, device) -> Tensor:
    """``(bq, bk)`` boolean: True where key ``c`` lies in the future of query ``r`` (``c > r + shift``)."""
    r = torch.arange(rows.start, rows.stop, device=device).unsqueeze(1)  # (bq, 1)
    c = torch.arange(cols.start, cols.stop, device=device).unsqueeze(0)  # (1, bk)
    return c > r + shift


def _checked_bias(b, scores_shape, rows, cols) -> Tensor:
    if not isinstance(b, Tensor) or not b.dtype.is_floating_point:
        got = f"dtype {b.dtype}" if isinstance(b, Tensor) else type(b).__name__
        raise TypeError(f"bias(rows, cols) must return a float tensor, got {got}")
    try:
        if torch.broadcast_shapes(b.shape, scores_shape) != scores_shape:
            raise RuntimeError
    except RuntimeError:
        raise ValueError(
            f"bias(rows={rows.start}:{rows.stop}, cols={cols.start}:{cols.stop}) returned shape {tuple(b.shape)}, "
            f"which does not broadcast to the block's scores {tuple(scores_shape)}"
        ) from None
    return b
