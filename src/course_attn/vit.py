"""Tokens that are not words: image patches (the Vision Transformer) and frames of a signal.

A Transformer encoder sees a sequence of vectors; what makes it a vision or an audio model is only
how the input is cut into tokens. :func:`patchify` cuts images into patches, read row by row;
:class:`TokenClassifier` embeds any sequence of vectors linearly, puts a learned ``[CLS]`` token in
front, runs :class:`~course_attn.TransformerEncoder` (which adds the positions of
``config.position``) and classifies the ``[CLS]`` output: ViT's eq. 1-4 (Dosovitskiy et al., ICLR
2021) when the vectors are patches::

    tokens = patchify(images, 7)                     # (B, 28, 28) -> (B, 16, 49)
    config = ca.TransformerConfig(vocab_size=1, d_model=64, num_layers=2, max_len=17, position="learned")
    vit = TokenClassifier(49, 10, config)
    logits = vit(tokens)                             # (B, 10)
    maps = vit.attention_maps(tokens)                # per layer (B, H, 17, 17)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._validate import integer, tensor
from .config import TransformerConfig
from .models import TransformerEncoder
from .multitask import SequenceClassificationHead

__all__ = ["TokenClassifier", "patchify"]


def patchify(images: Tensor, patch: int) -> Tensor:
    """Cut ``images (B, H, W)`` into ``patch x patch`` squares, row-major: ``(B, (H/p)(W/p), p*p)``.

    Token ``k`` is the patch in grid row ``k // (W/p)`` and column ``k % (W/p)``, its pixels
    flattened row by row. ``H`` and ``W`` must be multiples of ``patch``.
    """
    tensor("images", images, dims=3, shape="(B, H, W)")
    p = integer("patch", patch, minimum=1)
    B, H, W = images.shape
    if H % p or W % p:
        raise ValueError(f"patch must divide the image's height and width, got patch={p} for images {H} x {W}")
    x = images.reshape(B, H // p, p, W // p, p)  # (B, rows, p, cols, p)
    x = x.permute(0, 1, 3, 2, 4)  # (B, rows, cols, p, p): without it, patches mix
    return x.reshape(B, (H // p) * (W // p), p * p)  # (B, N, p*p)


class TokenClassifier(nn.Module):
    """Vectors in, one label out: ``x (B, N, in_features)`` → logits ``(B, num_classes)``.

    A linear embedding of each vector, a learned ``[CLS]`` vector at position 0, the encoder of
    ``config`` (positions ``0 … N``, so ``config.max_len >= N + 1`` for a learned table), and a
    linear head on the ``[CLS]`` output. ``key_mask (B, N)`` marks real tokens (``True``) in
    padded batches; ``[CLS]`` is always real.
    """

    def __init__(self, in_features: int, num_classes: int, config: TransformerConfig) -> None:
        super().__init__()
        self.in_features = integer("in_features", in_features, minimum=1)
        if not isinstance(config, TransformerConfig):
            raise TypeError(f"config must be a course_attn.TransformerConfig, got {type(config).__name__}")
        self.embed = nn.Linear(in_features, config.d_model)
        self.cls = nn.Parameter(torch.zeros(1, 1, config.d_model))
        self.encoder = TransformerEncoder(config)
        self.head = SequenceClassificationHead(config.d_model, num_classes)

    def _encode(self, x: Tensor, key_mask: Tensor | None, need_weights: bool):
        tensor("x", x, dims=3, kind="float", shape=f"(B, N, {self.in_features})")
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x must be (B, N, {self.in_features}), got {tuple(x.shape)}")
        tokens = self.embed(x)  # (B, N, d)
        cls = self.cls.expand(len(x), -1, -1)  # (B, 1, d)
        if key_mask is not None:
            tensor("key_mask", key_mask, dims=2, kind="bool", shape="(B, N)")
            if key_mask.shape != x.shape[:2]:
                raise ValueError(f"key_mask must be (B, N) = {tuple(x.shape[:2])}, got {tuple(key_mask.shape)}")
            key_mask = torch.cat([key_mask.new_ones(len(x), 1), key_mask], dim=1)  # (B, N + 1)
        return self.encoder(embeds=torch.cat([cls, tokens], dim=1), key_mask=key_mask,
                            need_weights=need_weights)  # (B, N + 1, d)

    def forward(self, x: Tensor, key_mask: Tensor | None = None) -> Tensor:
        """``x (B, N, in_features)``, ``key_mask (B, N)`` → logits ``(B, num_classes)``."""
        return self.head(self._encode(x, key_mask, False).last_hidden_state)

    def attention_maps(self, x: Tensor, key_mask: Tensor | None = None) -> tuple[Tensor, ...]:
        """The attention weights of every layer, each ``(B, H, N + 1, N + 1)``; row and column 0
        are ``[CLS]``."""
        return self._encode(x, key_mask, True).attentions
