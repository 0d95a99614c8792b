"""Checks for the exercises of chapter 5, code practice."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..functional import scaled_dot_product_attention
from ..masks import padding_mask
from ..multitask import mean_pool
from ._report import exercise, expect_close, test


@exercise("05_code_practice", 1, "repair the source's compute_attention")
def compute_attention(compute_attention):
    """``compute_attention(query, key, value)`` for ``(L, d)`` inputs and ``(B, L, d)`` batches."""
    for q_shape, k_shape, v_shape in [((5, 16), (7, 16), (7, 3)), ((3, 6, 8), (3, 6, 8), (3, 6, 8)),
                                      ((2, 4, 1, 8), (2, 4, 9, 8), (2, 4, 9, 2))]:
        with test(f"query {q_shape}, key {k_shape}, value {v_shape}: agrees with ca.scaled_dot_product_attention"):
            q, k, v = torch.randn(q_shape), torch.randn(k_shape), torch.randn(v_shape)
            expected, _ = scaled_dot_product_attention(q, k, v)
            scores = q @ k.transpose(-2, -1)  # (..., L, S)
            expect_close(compute_attention(q, k, v), expected, hints={
                "divide the scores by sqrt(d), d = query.shape[-1]": scores.softmax(-1) @ v,
                "softmax over the keys, the last dimension": (scores / q.shape[-1] ** 0.5).softmax(-2) @ v,
            })
    with test("a batch gives the same as its sentences one by one"):
        x = torch.randn(3, 6, 8)
        together = compute_attention(x, x, x)
        expect_close(torch.stack([compute_attention(x[b], x[b], x[b]) for b in range(3)]), together,
                     atol=1e-6, what="the sentences one by one")


def _next_token_loop(A, lengths):
    """Average weight of every real query on its successor, by a plain loop (right padding)."""
    layers, heads = A.shape[1], A.shape[2]
    total, count = torch.zeros(layers, heads), 0
    for b, length in enumerate(lengths):
        for i in range(length - 1):  # every query with a real successor
            total += A[b, :, :, i, i + 1]
            count += 1
    return total / count  # (layers, H)


@exercise("05_code_practice", 2, "the next-token head")
def next_token_score(next_token_score):
    """``next_token_score(A (B, layers, H, L, L), real (B, L)) -> (layers, H)``."""
    for B, layers, heads, lengths in [(3, 2, 4, (9, 5, 7)), (2, 1, 1, (6, 1)), (4, 3, 2, (8, 8, 2, 3))]:
        L = max(lengths)
        with test(f"A of shape {(B, layers, heads, L, L)}, lengths {lengths}: agrees with a loop"):
            real = padding_mask(list(lengths), L)  # (B, L)
            scores = torch.randn(B, layers, heads, L, L) * 2
            A = scores.masked_fill(~real[:, None, None, None, :], float("-inf")).softmax(-1)  # (B, layers, H, L, L)
            expect_close(next_token_score(A, real), _next_token_loop(A, lengths), hints={
                "average over the queries that have a real successor only (not the last real "
                "token, not the padding)": A.diagonal(1, -2, -1).mean((0, 3)),
            })


@exercise("05_code_practice", 3, "sentence embeddings by mean pooling")
def mean_pooled_embeddings(mean_pooled_embeddings):
    """``mean_pooled_embeddings(last_hidden_state (B, L, d), attention_mask (B, L)) -> (B, d)``, unit length."""
    for lengths, d in [((5, 3, 1), 16), ((4, 4), 8)]:
        B, L = len(lengths), max(lengths)
        with test(f"hidden states {(B, L, d)}, lengths {lengths}: agrees with ca.mean_pool, scaled to length 1"):
            mask = padding_mask(list(lengths), L).long()  # (B, L) 1 = real, as a tokenizer returns it
            hidden = torch.randn(B, L, d)
            hidden[mask == 0] = 100.0  # padding that must not count
            expected = F.normalize(mean_pool(hidden, mask), dim=-1)  # (B, d)
            expect_close(mean_pooled_embeddings(hidden, mask), expected, hints={
                "average over the real tokens only (attention_mask == 1), not every position":
                    F.normalize(hidden.mean(1), dim=-1),
                "scale each embedding to length 1 (F.normalize)": mean_pool(hidden, mask),
            })
