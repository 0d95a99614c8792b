"""Position information (位置编码): six schemes behind one interface.

Attention on its own is blind to order: permute the tokens and the outputs permute with them.
Every scheme below is a :class:`PositionScheme` with four hooks; each scheme overrides the ones
it needs and leaves the others as no-ops, so that the encoder and :class:`~course_attn.MultiHeadAttention`
can call all four without knowing which scheme they hold.

=============  ====================  ===========================================
scheme         hook it uses          where the position enters
=============  ====================  ===========================================
sinusoidal     ``embed``             added to the token embeddings (absolute)
learned        ``embed``             added to the token embeddings (absolute)
shaw           ``score_bias`` +      relative key and value embeddings
               ``value_term``
t5             ``score_bias``        a learned bias per head and distance bucket
rope           ``rotate``            queries and keys rotated by their position
alibi          ``score_bias``        a fixed linear penalty on distance per head
=============  ====================  ===========================================

Positions are integer tensors: ``q_pos (L,)`` and ``k_pos (S,)``. During incremental decoding
the queries sit at the end of the keys (``q_pos = k_pos[-L:]``).
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["PositionScheme", "SCHEMES", "build"]


class PositionScheme(nn.Module):
    """Base class: every hook is a no-op. Subclasses override what their scheme needs."""

    #: True when :meth:`value_term` is used: attention must then run the math backend.
    needs_weights: bool = False

    def embed(self, x: Tensor, positions: Tensor) -> Tensor:
        """Token embeddings ``x (B, L, E)`` at ``positions (L,)`` → ``(B, L, E)``."""
        return x

    def rotate(self, x: Tensor, positions: Tensor) -> Tensor:
        """Queries or keys ``x (B, H, L, D)`` at ``positions (L,)`` → ``(B, H, L, D)``."""
        return x

    def score_bias(self, q: Tensor, q_pos: Tensor, k_pos: Tensor, scale: float) -> Tensor | None:
        """A float ``(B or 1, H or 1, L, S)`` added to the scaled scores, or ``None``.

        ``q (B, H, L, D)`` are the projected queries (Shaw's bias depends on them);
        ``scale`` is the factor the scores were multiplied by.
        """
        return None

    def value_term(self, weights: Tensor, q_pos: Tensor, k_pos: Tensor) -> Tensor | None:
        """A ``(B, H, L, D)`` term added to ``weights @ v``, or ``None``. ``weights (B, H, L, S)``."""
        return None
