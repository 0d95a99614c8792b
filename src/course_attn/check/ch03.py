"""Checks for the exercises of chapter 3, the algorithm step by step."""

from __future__ import annotations

import torch

from ..attention import MultiHeadAttention
from ..functional import scaled_dot_product_attention
from ._report import exercise, expect_close, expect_number, test


@exercise("03_algorithm", 1, "one output row by hand")
def attention_row(attention_row):
    """``attention_row(q (d_k,), K (L, d_k), V (L, d_v)) -> (d_v,)``, one row of attention."""
    for L, d_k, d_v, scale in [(7, 64, 3, 10.0), (4, 8, 1, 1.0), (1, 4, 5, 1.0)]:
        q, K, V = torch.randn(d_k) * scale, torch.randn(L, d_k), torch.randn(L, d_v)
        with test(f"q ({d_k},), K {tuple(K.shape)}, V {tuple(V.shape)}: agrees with ca.scaled_dot_product_attention"):
            expected, _ = scaled_dot_product_attention(q[None], K, V)  # (1, d_v)
            expect_close(attention_row(q, K, V), expected[0], hints={
                "divide the scores by sqrt(d_k)": (q @ K.T).softmax(-1) @ V,
            })
    with test("scores in the thousands: no overflow (subtract the largest score before math.exp)"):
        q, K, V = torch.randn(16) * 1000, torch.randn(6, 16), torch.randn(6, 2)
        expected, _ = scaled_dot_product_attention(q[None], K, V)
        expect_close(attention_row(q, K, V), expected[0], atol=1e-4)


@exercise("03_algorithm", 2, "predict the memory of the scores")
def score_matrix_mib(score_matrix_mib):
    """``score_matrix_mib(B, H, L, bytes_per_element=4)``: MiB of one ``(B, H, L, L)`` score tensor."""
    for B, H, L, dtype in [(2, 4, 256, torch.float32), (3, 1, 300, torch.float32), (1, 12, 64, torch.float16),
                           (1, 2, 100, torch.float64)]:
        size = dtype.itemsize
        with test(f"B={B}, H={H}, L={L}, {size} bytes each: the size of torch.empty(B, H, L, L, dtype={dtype})"):
            measured = torch.empty(B, H, L, L, dtype=dtype).nbytes / 2**20
            got = score_matrix_mib(B, H, L) if size == 4 else score_matrix_mib(B, H, L, bytes_per_element=size)
            expect_number(got, measured, what=f"score_matrix_mib({B}, {H}, {L}"
                          + (")" if size == 4 else f", bytes_per_element={size})"))
    with test("B=8, H=12, L=4096 in float32: 6 GiB for a single tensor"):
        expect_number(score_matrix_mib(8, 12, 4096), 6144.0, what="score_matrix_mib(8, 12, 4096)")


@exercise("03_algorithm", 3, "parameters of a multi-head attention layer")
def mha_parameters(mha_parameters):
    """``mha_parameters(d_model, num_heads, bias=True)``: trainable parameters of ``ca.MultiHeadAttention``."""
    for d, h, bias in [(8, 1, True), (8, 2, False), (256, 4, True), (256, 16, False), (768, 12, True)]:
        with test(f"d_model={d}, num_heads={h}, bias={bias}: counts the module's parameters"):
            layer = MultiHeadAttention(d, h, bias=bias)
            counted = sum(p.numel() for p in layer.parameters())
            expect_number(mha_parameters(d, h, bias=bias), counted,
                          what=f"mha_parameters({d}, {h}, bias={bias})")
