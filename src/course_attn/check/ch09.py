"""Checks for the exercises of chapter 9, questions and answers."""

from __future__ import annotations

import torch

from ..functional import scaled_dot_product_attention
from ..masks import causal_mask, combine
from ._report import exercise, expect_close, expect_tensor, fail, test


@exercise("09_faq", 1, "the mask of a padded decoder")
def decoder_mask(decoder_mask):
    """``decoder_mask(attention_mask (B, L)) -> (B, L, L)`` bool, ``True`` where query ``i`` may see key ``j``."""
    cases = {
        "right padding": torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]]),
        "left padding": torch.tensor([[1, 1, 1, 1], [0, 0, 1, 1]]),
        "one token": torch.tensor([[1]]),
        "a row of padding only": torch.tensor([[0, 0, 0], [1, 1, 0]]),
    }
    for label, am in cases.items():
        with test(f"{label}, attention_mask {am.tolist()}: agrees with ca.masks"):
            expected = combine(causal_mask(am.shape[-1]), am.bool()[:, None, :])  # (B, L, L)
            got = expect_tensor(decoder_mask(am), shape=expected.shape, dtype=torch.bool)
            expect_close(got, expected, hints={
                "True must mean 'may attend' (this course's convention); you return the opposite, "
                "nn.MultiheadAttention's": ~expected,
                "a query may see the keys up to and including itself: j <= i (tril), not j >= i":
                    combine(causal_mask(am.shape[-1]).T, am.bool()[:, None, :]),
                "the padding is a property of the key j: put the mask on the last dimension, "
                "attention_mask[:, None, :]": combine(causal_mask(am.shape[-1]), am.bool()[:, :, None]),
            })


@exercise("09_faq", 2, "attention with a KV cache, by hand")
def attend_with_cache(attend_with_cache):
    """``attend_with_cache(q, k, v (B, H, 1, d), cache: dict) -> (B, H, 1, d)``, one token at a time."""
    for B, H, T, d in [(2, 3, 6, 8), (1, 1, 1, 4), (1, 2, 4, 2)]:
        with test(f"B={B}, H={H}, {T} tokens of width {d}: token by token equals causal attention"):
            q, k, v = torch.randn(3, B, H, T, d).unbind(0)  # each (B, H, T, d)
            expected, _ = scaled_dot_product_attention(q, k, v, causal=True)
            cache, outputs = {}, []
            for t in range(T):
                new = slice(t, t + 1)
                out = attend_with_cache(q[:, :, new], k[:, :, new], v[:, :, new], cache)
                outputs.append(expect_tensor(out, shape=(B, H, 1, d), what=f"the output for token {t}"))
                if "k" not in cache or "v" not in cache:
                    fail(f'after token {t} the cache holds {sorted(cache)}: keep the keys and values '
                         'under "k" and "v"')
                expect_tensor(cache["k"], shape=(B, H, t + 1, d), what=f'cache["k"] after token {t}')
                expect_tensor(cache["v"], shape=(B, H, t + 1, d), what=f'cache["v"] after token {t}')
            expect_close(torch.cat(outputs, dim=-2), expected, atol=1e-6, what="the outputs, one per token")
