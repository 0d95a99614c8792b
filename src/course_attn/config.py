"""One configuration object for every Transformer in the package."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TransformerConfig"]

NORMS = ("post", "pre")
ACTIVATIONS = ("gelu", "relu")


@dataclass
class TransformerConfig:
    """Sizes and choices of an encoder, a decoder or an encoder-decoder.

    ``norm="post"`` is the original Transformer and BERT (LayerNorm after each residual
    sum); ``"pre"`` normalizes the input of each sub-layer and adds a final LayerNorm, which
    trains more stably when deep. ``position`` names a scheme of :mod:`course_attn.positional`
    (or ``None`` for no position information); ``position_options`` go to its constructor.
    """

    vocab_size: int
    d_model: int = 128
    num_heads: int = 4
    num_layers: int = 2
    d_ff: int | None = None  # default 4 * d_model
    num_kv_heads: int | None = None
    dropout: float = 0.1  # on embeddings and on each sub-layer's output
    attn_dropout: float = 0.0  # on the attention weights
    max_len: int = 512
    position: str | None = "sinusoidal"
    position_options: dict = field(default_factory=dict)
    norm: str = "pre"
    activation: str = "gelu"
    layer_norm_eps: float = 1e-5
    type_vocab_size: int = 0  # BERT's segment embeddings; 0 = none
    embedding_norm: bool = False  # BERT normalizes the summed embeddings
    backend: str = "auto"

    def __post_init__(self) -> None:
        if self.d_ff is None:
            self.d_ff = 4 * self.d_model
        for name in ("vocab_size", "d_model", "num_heads", "num_layers", "d_ff", "max_len"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"TransformerConfig.{name} must be a positive int, got {value!r}")
        if self.d_model % self.num_heads:
            raise ValueError(
                f"TransformerConfig: d_model={self.d_model} is not divisible by num_heads={self.num_heads}"
            )
        if self.norm not in NORMS:
            raise ValueError(f"TransformerConfig.norm must be one of {NORMS}, got {self.norm!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"TransformerConfig.activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        for name in ("dropout", "attn_dropout"):
            p = getattr(self, name)
            if not 0.0 <= p < 1.0:
                raise ValueError(f"TransformerConfig.{name} must be in [0, 1), got {p!r}")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.num_heads
