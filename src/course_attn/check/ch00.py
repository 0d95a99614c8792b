"""Checks for the exercise of chapter 0, getting started."""

from __future__ import annotations

import torch

from ..functional import scaled_dot_product_attention
from ._report import exercise, expect_close, fail, test

NAIVE_EXP = ("NaN or inf where large scores meet exp(): subtract each row's maximum score first, "
             "or use .softmax(dim=-1), which does it for you")


@exercise("00_getting_started", 1, "the attention formula")
def my_attention(my_attention):
    """``my_attention(q (L, d), k (S, d), v (S, d_v)) -> (L, d_v)`` is ``softmax(q k^T / sqrt(d)) v``."""
    for L, S, d, d_v in [(5, 4, 8, 2), (2, 6, 16, 3), (1, 1, 4, 4)]:
        q, k, v = torch.randn(L, d), torch.randn(S, d), torch.randn(S, d_v)
        with test(f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}: "
                  "agrees with ca.scaled_dot_product_attention"):
            expected, _ = scaled_dot_product_attention(q, k, v)  # (L, d_v)
            scores = q @ k.T  # (L, S)
            expect_close(my_attention(q, k, v), expected, hints={
                "the scores must be divided by sqrt(d), d = q.shape[-1]": scores.softmax(-1) @ v,
                "divide by sqrt(d) (the width of q and k), not by sqrt(d_v)":
                    (scores / d_v ** 0.5).softmax(-1) @ v,
                "softmax over the keys (dim=-1), not over the queries":
                    (scores / d ** 0.5).softmax(0) @ v,
            })
    with test("one key: every output row is that key's value"):
        v1 = torch.randn(1, 3)
        expect_close(my_attention(torch.randn(4, 8), torch.randn(1, 8), v1), v1.expand(4, 3))
    with test("large scores (entries of q and k around 30) do not overflow"):
        q, k, v = 30 * torch.randn(3, 8), 30 * torch.randn(5, 8), torch.randn(5, 2)
        expected, _ = scaled_dot_product_attention(q, k, v)
        got = my_attention(q, k, v)
        if isinstance(got, torch.Tensor) and not torch.isfinite(got).all():
            fail(NAIVE_EXP)
        expect_close(got, expected, atol=1e-4)
