"""One configuration object for every Transformer in the package."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._validate import flag, integer, number, one_of
from .functional import BACKENDS
from .positional import SCHEMES

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
    ``backend`` is the attention backend of every layer, one of ``"auto"``, ``"math"``, ``"sdpa"``,
    ``"chunked"`` (see :func:`~course_attn.scaled_dot_product_attention`). Every field is checked
    when the config is made.
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
            setattr(self, name, integer(f"TransformerConfig.{name}", getattr(self, name), minimum=1))
        if self.d_model % self.num_heads:
            raise ValueError(
                f"TransformerConfig: d_model={self.d_model} is not divisible by num_heads={self.num_heads}"
            )
        if self.num_kv_heads is not None:
            self.num_kv_heads = integer("TransformerConfig.num_kv_heads", self.num_kv_heads, minimum=1)
            if self.num_heads % self.num_kv_heads:
                raise ValueError(f"TransformerConfig: num_heads={self.num_heads} is not divisible by "
                                 f"num_kv_heads={self.num_kv_heads}")
        for name in ("dropout", "attn_dropout"):
            setattr(self, name, number(f"TransformerConfig.{name}", getattr(self, name), low=0, high=1, high_open=True))
        if self.position is not None:
            one_of("TransformerConfig.position", self.position, SCHEMES)
        if not isinstance(self.position_options, dict):
            raise TypeError("TransformerConfig.position_options must be a dict, "
                            f"got {type(self.position_options).__name__}")
        one_of("TransformerConfig.norm", self.norm, NORMS)
        one_of("TransformerConfig.activation", self.activation, ACTIVATIONS)
        self.layer_norm_eps = number("TransformerConfig.layer_norm_eps", self.layer_norm_eps, low=0, low_open=True)
        self.type_vocab_size = integer("TransformerConfig.type_vocab_size", self.type_vocab_size, minimum=0)
        flag("TransformerConfig.embedding_norm", self.embedding_norm)
        one_of("TransformerConfig.backend", self.backend, BACKENDS)

    @property
    def head_dim(self) -> int:
        return self.d_model // self.num_heads
