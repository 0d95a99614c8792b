"""Checks for the exercises of chapter 8, trends and challenges."""

from __future__ import annotations

import torch

from ..config import TransformerConfig
from ..models import TransformerDecoder
from ._report import exercise, expect_close, expect_number, expect_tuple, test


@exercise("08_trends", 1, "predict the size of a KV cache")
def kv_cache_mib(kv_cache_mib):
    """``kv_cache_mib(num_layers, batch, num_kv_heads, head_dim, seq_len, bytes_per_element=4)`` in MiB."""
    for kv_heads in (4, 1):  # all heads; multi-query
        with test(f"a 2-layer decoder with {kv_heads} key/value head(s), 3 × 40 tokens: "
                  "the size of its caches"):
            config = TransformerConfig(vocab_size=256, d_model=192, num_heads=4, num_kv_heads=kv_heads,
                                       num_layers=2, dropout=0.0, max_len=256)  # the decoder of §1
            decoder = TransformerDecoder(config, cross_attention=False).eval()
            caches = decoder.new_caches()
            with torch.no_grad():
                decoder(torch.randint(0, 256, (3, 40)), caches=caches)
            measured = sum(c.k.nbytes + c.v.nbytes for c in caches) / 2**20
            expect_number(kv_cache_mib(2, 3, kv_heads, config.head_dim, 40), measured,
                          what=f"kv_cache_mib(2, 3, {kv_heads}, {config.head_dim}, 40)")
    for args, expected, model in [((32, 1, 32, 128, 4096), 2048, "Llama 2 7B"),
                                  ((80, 1, 8, 128, 4096), 1280, "Llama 2 70B")]:
        with test(f"{model}-like, 4096 tokens in float16: {expected} MiB"):
            expect_number(kv_cache_mib(*args, bytes_per_element=2), expected,
                          what=f"kv_cache_mib{args[:5]} with bytes_per_element=2")


@exercise("08_trends", 2, "one step of the online softmax")
def online_softmax_step(online_softmax_step):
    """``online_softmax_step(m (n, 1), l (n, 1), acc (n, d_v), scores (n, b), values (b, d_v)) -> (m, l, acc)``."""
    for scale, n, keys, block, d_v in [(1.0, 5, 12, 4, 3), (200.0, 5, 12, 4, 3), (1.0, 2, 7, 1, 2), (3.0, 3, 6, 6, 4)]:
        with test(f"{n} queries, {keys} keys in blocks of {block}, scores × {scale:g}: "
                  "acc / l == softmax(scores) @ values"):
            scores, values = scale * torch.randn(n, keys), torch.randn(keys, d_v)
            m = torch.full((n, 1), float("-inf"))
            l, acc = torch.zeros(n, 1), torch.zeros(n, d_v)  # noqa: E741 -- the exercise's names
            for start in range(0, keys, block):
                part = slice(start, start + block)
                m, l, acc = expect_tuple(online_softmax_step(m, l, acc, scores[:, part], values[part]),  # noqa: E741
                                         3, names="(m, l, acc)")
            expect_close(m, scores.amax(dim=-1, keepdim=True), what="the running maximum m")
            expect_close(acc / l, scores.softmax(dim=-1) @ values, what="acc / l")
