"""A key/value cache for incremental (token-by-token) decoding."""

from __future__ import annotations

import torch
from torch import Tensor

from ._validate import tensor

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
        tensor("k", k, dims=4, kind="float", shape="(B, H_kv, S_new, D)")
        tensor("v", v, dims=4, kind="float", shape="(B, H_kv, S_new, D)")
        if k.shape[:3] != v.shape[:3]:
            raise ValueError(f"k and v must share (B, H_kv, S_new), got k {tuple(k.shape)} and v {tuple(v.shape)}")
        if k.dtype != v.dtype:
            raise TypeError(f"k and v must share one dtype, got k {k.dtype} and v {v.dtype}")
        if k.device != v.device:
            raise ValueError(f"k and v must be on one device, got k {k.device} and v {v.device}")
        if self.k is None:
            self.k, self.v = k, v
        else:
            for name, new, old in (("keys", k, self.k), ("values", v, self.v)):
                if new.shape[:2] != old.shape[:2] or new.shape[-1] != old.shape[-1]:
                    raise ValueError(
                        f"new {name} of shape {tuple(new.shape)} do not fit the cache's {tuple(old.shape)} "
                        "(batch, kv heads and head_dim must match); use a fresh KVCache per sequence batch"
                    )
            if k.dtype != self.k.dtype:
                raise TypeError(f"new keys are {k.dtype} but the cache holds {self.k.dtype}")
            if k.device != self.k.device:
                raise ValueError(f"new keys are on {k.device} but the cache is on {self.k.device}")
            self.k = torch.cat([self.k, k], dim=-2)
            self.v = torch.cat([self.v, v], dim=-2)
        return self.k, self.v

    def __repr__(self) -> str:
        shape = None if self.k is None else tuple(self.k.shape)
        return f"KVCache(length={len(self)}, shape={shape})"
