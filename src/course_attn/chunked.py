"""Memory-efficient exact attention in plain PyTorch: blocks of keys and an online softmax.

The full ``(L, S)`` score matrix is never stored. Queries are taken ``block_q`` at a time; for each
block, keys and values stream past ``block_k`` at a time while three running quantities are kept
per query: the largest score so far ``m``, the softmax denominator ``l`` (relative to ``m``) and the
un-normalized output ``acc``. When a new block raises the maximum from ``m`` to ``m'``, the old
``l`` and ``acc`` are rescaled by ``exp(m - m')``. At the end ``out = acc / l`` is exactly
``softmax(scores) @ v``. This is the algorithm of Rabe & Staats ("Self-attention does not need
O(n²) memory", 2021) and, tiled for GPU on-chip memory, of FlashAttention (Dao et al., NeurIPS 2022).

Under autograd each query block is recomputed in the backward pass (activation checkpointing),
so training memory stays small too.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

__all__ = ["chunked_attention"]


def chunked_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, *, causal: bool = False,
    dropout_p: float = 0.0, scale: float | None = None, block_q: int = 1024, block_k: int = 512,
) -> Tensor:
    """``softmax(q @ k.T * scale + mask) @ v`` without materializing the scores.

    Shapes as :func:`course_attn.scaled_dot_product_attention` (``q (..., L, E)``,
    ``k (..., S, E)``, ``v (..., S, Ev)`` → ``(..., L, Ev)``), with the same mask convention,
    bottom-right ``causal`` alignment and zero rows for queries with no allowed key. Inputs are
    assumed validated (call it through that function with ``backend="chunked"``).
    Peak extra memory is about ``block_q × block_k`` scores per batch and head, plus the output.
    """
    for name, size in (("block_q", block_q), ("block_k", block_k)):
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise ValueError(f"{name} must be a positive int, got {size!r}")
    L, S = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    if mask is not None:
        mask = mask.expand(*q.shape[:-2], L, S)  # a broadcast view: no copy
    use_checkpoint = torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v))
    blocks = []
    for start in range(0, L, block_q):
        rows = slice(start, min(start + block_q, L))
        args = (q[..., rows, :], k, v, None if mask is None else mask[..., rows, :])
        kwargs = dict(first_row=start, shift=S - L if causal else None, dropout_p=dropout_p, scale=scale,
                      block_k=block_k)
        if use_checkpoint:
            blocks.append(checkpoint(_query_block, *args, use_reentrant=False, **kwargs))
        else:
            blocks.append(_query_block(*args, **kwargs))
    return torch.cat(blocks, dim=-2)  # (..., L, Ev)


def _query_block(q, k, v, mask, *, first_row, shift, dropout_p, scale, block_k):
    """Attention of one block of queries ``q (..., bq, E)`` to all keys, streamed in key blocks.

    ``first_row`` is the block's first query index; with causal attention query ``r`` may see key
    ``c`` when ``c <= r + shift`` (``shift = S - L``: bottom-right alignment), else ``shift`` is None.
    """
    bq, S = q.shape[-2], k.shape[-2]
    acc_dtype = torch.promote_types(q.dtype, torch.float32)  # accumulate half inputs in float32
    m = q.new_full((*q.shape[:-1], 1), float("-inf"), dtype=acc_dtype)  # (..., bq, 1) running max
    l = q.new_zeros((*q.shape[:-1], 1), dtype=acc_dtype)  # (..., bq, 1) running denominator
    acc = q.new_zeros((*q.shape[:-1], v.shape[-1]), dtype=acc_dtype)  # (..., bq, Ev) running numerator
    q = q * scale
    row_pos = torch.arange(first_row, first_row + bq, device=q.device).unsqueeze(1)  # (bq, 1)
    for start in range(0, S, block_k):
        if shift is not None and start > first_row + bq - 1 + shift:
            break  # this key block and all later ones lie in the future of every query here
        cols = slice(start, min(start + block_k, S))
        s = (q @ k[..., cols, :].transpose(-2, -1)).to(acc_dtype)  # (..., bq, bk)
        if mask is not None:
            block_mask = mask[..., cols]
            s = s.masked_fill(~block_mask, float("-inf")) if block_mask.dtype == torch.bool else s + block_mask
        if shift is not None:
            col_pos = torch.arange(cols.start, cols.stop, device=q.device).unsqueeze(0)  # (1, bk)
            s = s.masked_fill(col_pos > row_pos + shift, float("-inf"))
        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))  # (..., bq, 1)
        m_safe = m_new.masked_fill(torch.isneginf(m_new), 0.0)  # rows with no allowed key yet
        p = torch.exp(s - m_safe)  # (..., bq, bk), 0 where masked
        correction = torch.exp(m - m_safe)  # (..., bq, 1): rescales what was summed so far
        l = l * correction + p.sum(dim=-1, keepdim=True)
        if dropout_p > 0.0:
            p = F.dropout(p, p=dropout_p)  # drop weights in the numerator only, as FlashAttention does
        acc = acc * correction + p @ v[..., cols, :].to(acc_dtype)
        m = m_new
    out = torch.where(l > 0, acc / l.clamp(min=torch.finfo(acc_dtype).tiny), 0.0)  # empty rows → 0
    return out.to(v.dtype)  # (..., bq, Ev)
