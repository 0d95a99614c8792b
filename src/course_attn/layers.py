"""Transformer blocks: feed-forward, encoder block, decoder block.

Each block wraps its sub-layers with a residual connection (残差连接) and LayerNorm (层归一化),
in one of two orders (``config.norm``)::

    post-LN (Vaswani et al. 2017, BERT):  x = LN(x + sublayer(x))
    pre-LN  (GPT-2, most recent models):  x = x + sublayer(LN(x))
"""

from __future__ import annotations

from torch import Tensor, nn

from ._validate import flag, integer, number, one_of, tensor
from .attention import MultiHeadAttention
from .cache import KVCache
from .config import ACTIVATIONS, TransformerConfig
from .positional import PositionScheme

__all__ = ["FeedForward", "EncoderBlock", "DecoderBlock"]


class FeedForward(nn.Module):
    """Position-wise feed-forward network: ``fc2(dropout(act(fc1(x))))``, ``(..., d_model) → (..., d_model)``."""

    def __init__(self, d_model: int, d_ff: int, *, activation: str = "gelu", dropout: float = 0.0) -> None:
        super().__init__()
        d_model, d_ff = integer("d_model", d_model, minimum=1), integer("d_ff", d_ff, minimum=1)
        self.fc1 = nn.Linear(d_model, d_ff)
        self.act = nn.GELU() if one_of("activation", activation, ACTIVATIONS) == "gelu" else nn.ReLU()
        self.dropout = nn.Dropout(number("dropout", dropout, low=0, high=1, high_open=True))
        self.fc2 = nn.Linear(d_ff, d_model)

    def forward(self, x: Tensor) -> Tensor:
        tensor("x", x, kind="float")
        if x.shape[-1:] != (self.fc1.in_features,):
            raise ValueError(f"x must be (..., d_model={self.fc1.in_features}), got shape {tuple(x.shape)}")
        return self.fc2(self.dropout(self.act(self.fc1(x))))


def _check_config(config) -> None:
    if not isinstance(config, TransformerConfig):
        raise TypeError(f"config must be a TransformerConfig, got {type(config).__name__}")


def _attention(config: TransformerConfig, position: PositionScheme | None) -> MultiHeadAttention:
    return MultiHeadAttention(
        config.d_model, config.num_heads, num_kv_heads=config.num_kv_heads,
        dropout=config.attn_dropout, backend=config.backend, position=position,
    )


class _Residual(nn.Module):
    """``x + dropout(sublayer(...))`` with a LayerNorm before (pre-LN) or after (post-LN) it."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.pre = config.norm == "pre"
        self.norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, sublayer) -> tuple[Tensor, Tensor | None]:
        """``sublayer(h)`` returns ``(out, extra)``; ``extra`` (attention weights) is passed through."""
        if self.pre:
            out, extra = sublayer(self.norm(x))
            return x + self.dropout(out), extra
        out, extra = sublayer(x)
        return self.norm(x + self.dropout(out)), extra


class EncoderBlock(nn.Module):
    """Self-attention then feed-forward, each inside a residual connection with LayerNorm.

    Sub-layers: ``attn`` (:class:`MultiHeadAttention`) with ``attn_residual.norm``, and ``ff``
    (:class:`FeedForward`) with ``ff_residual.norm``.
    """

    def __init__(self, config: TransformerConfig, position: PositionScheme | None = None) -> None:
        super().__init__()
        _check_config(config)
        self.attn = _attention(config, position)
        self.ff = FeedForward(config.d_model, config.d_ff, activation=config.activation)
        self.attn_residual = _Residual(config)
        self.ff_residual = _Residual(config)

    def forward(
        self, x: Tensor, *, key_mask: Tensor | None = None, attn_mask: Tensor | None = None,
        causal: bool = False, need_weights: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """``x (B, L, d_model)`` → ``(B, L, d_model)`` and the weights ``(B, H, L, L)`` if asked."""
        x, weights = self.attn_residual(
            x, lambda h: self.attn(h, attn_mask=attn_mask, key_mask=key_mask, causal=causal, need_weights=need_weights)
        )
        x, _ = self.ff_residual(x, lambda h: (self.ff(h), None))
        return x, weights


class DecoderBlock(nn.Module):
    """Causal self-attention, cross-attention to the encoder's output (optional), feed-forward.

    Without ``cross_attention`` this is the block of a decoder-only language model.
    """

    def __init__(
        self, config: TransformerConfig, position: PositionScheme | None = None, *, cross_attention: bool = True
    ) -> None:
        super().__init__()
        _check_config(config)
        self.self_attn = _attention(config, position)
        self.self_residual = _Residual(config)
        self.cross_attn = _attention(config, None) if flag("cross_attention", cross_attention) else None
        self.cross_residual = _Residual(config) if cross_attention else None
        self.ff = FeedForward(config.d_model, config.d_ff, activation=config.activation)
        self.ff_residual = _Residual(config)

    def forward(
        self, x: Tensor, memory: Tensor | None = None, *, key_mask: Tensor | None = None,
        memory_key_mask: Tensor | None = None, cache: KVCache | None = None, need_weights: bool = False,
    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """``x (B, L, d)``, ``memory (B, S, d)`` → ``x (B, L, d)``, self weights, cross weights.

        With a ``cache`` only the new tokens are passed in ``x``; ``key_mask`` then covers all
        tokens so far (cached and new).
        """
        if (memory is None) != (self.cross_attn is None):
            raise ValueError(
                "memory must be given exactly when the block has cross-attention "
                f"(cross_attention={self.cross_attn is not None}, memory={'given' if memory is not None else None})"
            )
        x, self_weights = self.self_residual(
            x, lambda h: self.self_attn(h, key_mask=key_mask, causal=True, cache=cache, need_weights=need_weights)
        )
        cross_weights = None
        if self.cross_attn is not None:
            x, cross_weights = self.cross_residual(
                x, lambda h: self.cross_attn(h, memory, memory, key_mask=memory_key_mask, need_weights=need_weights)
            )
        x, _ = self.ff_residual(x, lambda h: (self.ff(h), None))
        return x, self_weights, cross_weights
