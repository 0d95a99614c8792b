"""A key/value cache for incremental (token-by-token) decoding."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["KVCache"]


class KVCache:
    """The keys and values one self-attention layer has produced so far.

    At each decoding step the layer projects only the new tokens, appends their keys and
    values here, and attends from the new queries to everything cached. Tensors are kept
    as ``(B, H_kv, S, D)``: with grouped-query attention the cache holds the shared heads
    only, which is what makes GQA cheap at inference.
    """

    def __init__(self) -> None:
        self.k: Tensor | None = None
        self.v: Tensor | None = None

    def __len__(self) -> int:
        return 0 if self.k is None else self.k.shape[-2]

    def update(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Append ``k, v (B, H_kv, S_new, D)``; return all keys and values ``(B, H_kv, S, D)``."""
        if self.k is None:
            self.k, self.v = k, v
        else:
            if k.shape[:2] != self.k.shape[:2] or k.shape[-1] != self.k.shape[-1]:
                raise ValueError(
                    f"new keys of shape {tuple(k.shape)} do not fit the cache's {tuple(self.k.shape)} "
                    "(batch, kv heads and head_dim must match); use a fresh KVCache per sequence batch"
                )
            self.k = torch.cat([self.k, k], dim=-2)
            self.v = torch.cat([self.v, v], dim=-2)
        return self.k, self.v

    def __repr__(self) -> str:
        shape = None if self.k is None else tuple(self.k.shape)
        return f"KVCache(length={len(self)}, shape={shape})"
