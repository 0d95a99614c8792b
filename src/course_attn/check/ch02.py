"""Checks for the exercises of chapter 2, core concepts."""

from __future__ import annotations

import torch
from torch import nn

from ..attention import MultiHeadAttention
from ..config import TransformerConfig
from ..functional import scaled_dot_product_attention
from ..layers import EncoderBlock
from ._report import exercise, expect_close, test

VIEW_HINT = ("this is x.view(B, H, L, d_h): it has the right shape but mixes features of different "
             "tokens; split the last dimension into (H, d_h), then swap the L and H dimensions")


@exercise("02_core_concepts", 1, "split a tensor into heads")
def split_heads(split_heads, merge_heads):
    """``split_heads(x (B, L, d), H) -> (B, H, L, d // H)`` and its inverse ``merge_heads``.

    Call it with both functions: ``check.split_heads(split_heads, merge_heads)``.
    """
    for B, L, H, d_h in [(2, 5, 3, 4), (1, 1, 1, 6), (3, 4, 4, 2)]:
        x = torch.randn(B, L, H * d_h)  # (B, L, d)
        expected = x.view(B, L, H, d_h).transpose(1, 2)  # (B, H, L, d_h)
        with test(f"split_heads(x {tuple(x.shape)}, {H}): head h holds features h*{d_h}..(h+1)*{d_h}-1"):
            expect_close(split_heads(x, H), expected, atol=0, rtol=0, what=f"split_heads(x, {H})",
                         hints={VIEW_HINT: x.view(B, H, L, d_h)})
        with test(f"merge_heads(heads {tuple(expected.shape)}) puts the features back in place"):
            expect_close(merge_heads(expected), x, atol=0, rtol=0, what="merge_heads(heads)")
    with test("together they reproduce ca.MultiHeadAttention(12, num_heads=3)"):
        x = torch.randn(2, 5, 12)
        mha = MultiHeadAttention(12, num_heads=3).eval()
        with torch.no_grad():
            q, k, v = (split_heads(p(x), 3) for p in (mha.q_proj, mha.k_proj, mha.v_proj))
            context, _ = scaled_dot_product_attention(q, k, v)  # (2, 3, 5, 4)
            ours = mha.out_proj(merge_heads(context))  # (2, 5, 12)
            expected, _ = mha(x)
        expect_close(ours, expected, what="the attention output built with your functions")


@exercise("02_core_concepts", 2, "RMSNorm")
def rms_norm(rms_norm):
    """``rms_norm(x (..., d), weight (d,), eps) -> (..., d)``, as ``torch.nn.RMSNorm``."""
    weight = torch.tensor([1.0, 2.0, -1.0, 0.5, 3.0, 1.0])
    for shape, eps, scale in [((2, 4, 6), 1e-6, 5.0), ((6,), 1e-6, 1.0), ((1, 2, 3, 6), 1e-2, 1e-2)]:
        with test(f"x of shape {shape}, eps = {eps:g}: agrees with torch.nn.RMSNorm"):
            x = torch.randn(shape) * scale + 3 * scale  # a non-zero mean on purpose
            reference = nn.RMSNorm(6, eps=eps)
            with torch.no_grad():
                reference.weight.copy_(weight)
                expected = reference(x)
            mean_square = x.pow(2).mean(-1, keepdim=True)
            expect_close(rms_norm(x, weight, eps), expected, hints={
                "this is LayerNorm: RMSNorm does not subtract the mean":
                    weight * (x - x.mean(-1, keepdim=True)) / (x.var(-1, unbiased=False, keepdim=True) + eps).sqrt(),
                "eps goes inside the square root: sqrt(mean(x²) + eps)": weight * x / (mean_square.sqrt() + eps),
                "multiply by the weight (the gain γ)": x / (mean_square + eps).sqrt(),
            })
    with test("the scale of a token does not matter: rms_norm(10 x) == rms_norm(x)"):
        x = torch.randn(3, 6) * 4
        expect_close(rms_norm(10 * x, weight, 1e-6), rms_norm(x, weight, 1e-6), atol=1e-4,
                     what="rms_norm(10 * x, ...)")


@exercise("02_core_concepts", 3, "a pre-LN block, by hand")
def pre_ln_block(pre_ln_block):
    """``pre_ln_block(x (B, L, d), attn, ff, ln1, ln2) -> (B, L, d)``, as ``ca.EncoderBlock(norm="pre")``."""
    for d, heads, shape in [(16, 2, (3, 6, 16)), (8, 1, (1, 1, 8))]:
        with test(f"d_model {d}, {heads} head(s), x of shape {shape}: agrees with ca.EncoderBlock(norm='pre')"):
            config = TransformerConfig(vocab_size=10, d_model=d, num_heads=heads, dropout=0.0, norm="pre")
            block = EncoderBlock(config).eval()
            ln1, ln2 = block.attn_residual.norm, block.ff_residual.norm
            attn, ff = block.attn, block.ff
            with torch.no_grad():
                for norm in (ln1, ln2):  # non-trivial gains and biases
                    norm.weight.uniform_(0.5, 2.0)
                    norm.bias.normal_()
                x = torch.randn(shape) * 4 + 1
                expected, _ = block(x)
                post = ln1(x + attn(x)[0])
                post = ln2(post + ff(post))
                got = pre_ln_block(x, attn, ff, ln1, ln2)
            expect_close(got, expected, hints={
                "this is the post-LN order: normalize the input of each sub-layer, "
                "x + attn(ln1(x)), not the sum": post,
            })
