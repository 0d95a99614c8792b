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

import inspect
import math

import torch
from torch import Tensor, nn

from ._validate import flag, integer, number

__all__ = [
    "PositionScheme",
    "SinusoidalPositionalEncoding",
    "LearnedPositionalEmbedding",
    "ShawRelativePosition",
    "T5RelativeBias",
    "RotaryEmbedding",
    "ALiBi",
    "SCHEMES",
    "build",
]


class PositionScheme(nn.Module):
    """Base class: every hook is a no-op. Subclasses override what their scheme needs."""

    #: True for schemes that only add to the token embeddings (the model's input), False for
    #: relative schemes, which act inside every self-attention layer.
    absolute: bool = False
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


# --- absolute schemes: added to the token embeddings ---------------------------------------------


class SinusoidalPositionalEncoding(PositionScheme):
    """Fixed sines and cosines added to the token embeddings (Vaswani et al., NeurIPS 2017, §3.5).

    ``PE[pos, 2i] = sin(pos / 10000^(2i/d))`` and ``PE[pos, 2i+1] = cos(pos / 10000^(2i/d))``
    with ``d = d_model``. Computed on the fly, so any position works; ``max_len``, if given, is an
    upper bound on the positions (a model's declared context). With an odd ``d_model`` the last
    dim is a sine without its cosine partner.

    Shapes: ``x (B, L, d_model)``, ``positions (L,)`` → ``(B, L, d_model)``.
    """

    absolute = True

    def __init__(self, d_model: int, max_len: int | None = None) -> None:
        super().__init__()
        integer("d_model", d_model, minimum=1)
        if max_len is not None:
            integer("max_len", max_len, minimum=1)
        self.d_model, self.max_len = d_model, max_len

    def encoding(self, positions: Tensor) -> Tensor:
        """The table's rows ``PE[positions]`` → float32 ``(L, d_model)``.

        Always computed in float32, whatever the model's dtype: in float16 or bfloat16 the
        frequencies and angles would be rounded, and positions past a few hundred encoded wrongly.
        """
        _check_positions(positions, "positions", limit=self.max_len, who=type(self).__name__)
        exponents = torch.arange(0, self.d_model, 2, device=positions.device, dtype=torch.float32) / self.d_model
        angles = positions.float()[:, None] * 10000.0**-exponents  # (L, ceil(d/2))
        pe = angles.new_empty(len(positions), self.d_model)  # (L, d_model)
        pe[:, 0::2] = angles.sin()
        pe[:, 1::2] = angles[:, : self.d_model // 2].cos()
        return pe

    def embed(self, x: Tensor, positions: Tensor) -> Tensor:
        _check_embed_input(x, positions, self.d_model)
        return x + self.encoding(positions).to(x.dtype)  # (B, L, d_model)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}"


class LearnedPositionalEmbedding(PositionScheme):
    """A trained vector per position added to the token embeddings (Vaswani et al. 2017, Table 3 (E); BERT, GPT-2).

    ``table`` is an ``nn.Embedding(max_len, d_model)``: positions ``>= max_len`` have no vector and
    raise a ``ValueError``, which is the price of learning them.

    Shapes: ``x (B, L, d_model)``, ``positions (L,)`` → ``(B, L, d_model)``.
    """

    absolute = True

    def __init__(self, max_len: int, d_model: int) -> None:
        super().__init__()
        integer("max_len", max_len, minimum=1)
        integer("d_model", d_model, minimum=1)
        self.max_len, self.d_model = max_len, d_model
        self.table = nn.Embedding(max_len, d_model)

    def embed(self, x: Tensor, positions: Tensor) -> Tensor:
        _check_embed_input(x, positions, self.d_model)
        _check_positions(positions, "positions", limit=self.max_len, who=type(self).__name__)
        return x + self.table(positions).to(x.dtype)  # (B, L, d_model)


# --- relative schemes: used inside attention --------------------------------------------------


class ShawRelativePosition(PositionScheme):
    """Relative position representations (Shaw, Uszkoreit & Vaswani, NAACL 2018).

    Key ``j`` seen from query ``i`` gets two learned vectors ``a^K_ij`` and ``a^V_ij`` of size
    ``head_dim``, shared by all heads and indexed by the clipped distance
    ``clip(j - i, -k, k) + k`` with ``k = max_distance``::

        e_ij = q_i · (k_j + a^K_ij) * scale      (eq. 4; scale = 1/sqrt(head_dim))
        z_i  = Σ_j α_ij (v_j + a^V_ij)           (eq. 3)

    :meth:`score_bias` is the ``a^K`` part of ``e_ij``, ``(B, H, L, S)``; :meth:`value_term` the
    ``a^V`` part of ``z_i``, ``(B, H, L, D)``. Neither builds the ``(L, S, D)`` tensor of vectors:
    ``q @ a_k.T`` has only ``2k + 1`` columns, gathered by relative index, and the weights are
    summed into ``2k + 1`` buckets before ``@ a_v``.
    """

    needs_weights = True

    def __init__(self, head_dim: int, max_distance: int = 16) -> None:
        super().__init__()
        integer("head_dim", head_dim, minimum=1)
        integer("max_distance", max_distance, minimum=1)
        self.head_dim, self.max_distance = head_dim, max_distance
        self.a_k = nn.Parameter(torch.randn(2 * max_distance + 1, head_dim))  # (2k+1, D)
        self.a_v = nn.Parameter(torch.randn(2 * max_distance + 1, head_dim))  # (2k+1, D)

    def relative_index(self, q_pos: Tensor, k_pos: Tensor) -> Tensor:
        """Row of ``a_k`` / ``a_v`` for each (query, key) pair: ``clip(j - i, -k, k) + k`` → ``(L, S)``."""
        _check_positions(q_pos, "q_pos")
        _check_positions(k_pos, "k_pos")
        k = self.max_distance
        return (k_pos[None, :] - q_pos[:, None]).clamp(-k, k) + k  # (L, S)

    def score_bias(self, q: Tensor, q_pos: Tensor, k_pos: Tensor, scale: float) -> Tensor:
        _check_heads_input(q, "q", q_pos, "q_pos", head_dim=self.head_dim, who=type(self).__name__)
        index = self.relative_index(q_pos, k_pos)  # (L, S)
        B, H, L, _ = q.shape
        per_distance = q @ self.a_k.T  # (B, H, L, 2k+1): q_i · a^K for every clipped distance
        return per_distance.gather(-1, index.expand(B, H, L, -1)) * scale  # (B, H, L, S)

    def value_term(self, weights: Tensor, q_pos: Tensor, k_pos: Tensor) -> Tensor:
        index = self.relative_index(q_pos, k_pos)  # (L, S)
        if not isinstance(weights, Tensor) or weights.dim() != 4 or weights.shape[2:] != index.shape:
            got = tuple(weights.shape) if isinstance(weights, Tensor) else type(weights).__name__
            raise ValueError(
                f"weights must be (B, H, L, S) with (L, S) = {tuple(index.shape)} from q_pos, k_pos; got {got}"
            )
        B, H, L, S = weights.shape
        buckets = weights.new_zeros(B, H, L, 2 * self.max_distance + 1)  # (B, H, L, 2k+1)
        buckets = buckets.scatter_add(-1, index.expand(B, H, L, S), weights)  # weight per clipped distance
        return buckets @ self.a_v  # (B, H, L, D)

    def extra_repr(self) -> str:
        return f"head_dim={self.head_dim}, max_distance={self.max_distance}"


class T5RelativeBias(PositionScheme):
    """A learned scalar per head and relative-distance bucket (Raffel et al., JMLR 2020, §2.1).

    The distance ``j - i`` falls into one of ``num_buckets`` buckets (:meth:`bucket`): small
    distances get a bucket each, larger ones share logarithmically wider buckets, and all
    distances beyond ``max_distance`` share the last one. ``bidirectional=True`` gives keys before
    and after the query separate halves of the buckets; ``False`` (T5's decoder) treats all future
    keys as distance 0. ``bias[h, i, j] = table[bucket(j - i), h]``.

    T5 itself does not scale its scores by ``1/sqrt(d)`` (the factor is folded into its weight
    initialisation); here, like every ``score_bias``, the bias is added to the *scaled* scores.

    Shapes: ``q (B, H, L, D)``, ``q_pos (L,)``, ``k_pos (S,)`` → bias ``(1, H, L, S)``.
    """

    def __init__(self, num_heads: int, num_buckets: int = 32, max_distance: int = 128,
                 bidirectional: bool = True) -> None:
        super().__init__()
        integer("num_heads", num_heads, minimum=1)
        integer("num_buckets", num_buckets, minimum=1)
        integer("max_distance", max_distance, minimum=1)
        flag("bidirectional", bidirectional)
        per_side = num_buckets // 2 if bidirectional else num_buckets
        if per_side < 2:
            raise ValueError(
                f"num_buckets={num_buckets} is too few: T5 needs at least 2 buckets per direction "
                f"(num_buckets >= {4 if bidirectional else 2} with bidirectional={bidirectional})"
            )
        if max_distance <= per_side // 2:
            raise ValueError(
                f"max_distance={max_distance} must exceed the {per_side // 2} exact buckets per direction "
                f"that num_buckets={num_buckets} gives"
            )
        self.num_heads, self.num_buckets = num_heads, num_buckets
        self.max_distance, self.bidirectional = max_distance, bidirectional
        self.table = nn.Embedding(num_buckets, num_heads)

    def bucket(self, relative_position: Tensor) -> Tensor:
        """Bucket of each distance ``j - i`` (integer tensor of any shape) → same shape, in ``[0, num_buckets)``."""
        if not isinstance(relative_position, Tensor) or relative_position.dtype.is_floating_point \
                or relative_position.dtype == torch.bool or relative_position.is_complex():
            got = relative_position.dtype if isinstance(relative_position, Tensor) else type(relative_position).__name__
            raise TypeError(f"relative_position must be an integer tensor of distances j - i, got {got}")
        buckets = torch.zeros_like(relative_position)
        n = self.num_buckets
        if self.bidirectional:
            n //= 2
            buckets += (relative_position > 0).long() * n  # keys after the query use the upper half
            distance = relative_position.abs()
        else:
            distance = (-relative_position).clamp(min=0)  # future keys count as distance 0
        exact = n // 2  # distances 0 .. exact-1 get a bucket each
        log_ratio = torch.log(distance.clamp(min=1).float() / exact) / math.log(self.max_distance / exact)
        wide = (exact + (log_ratio * (n - exact)).long()).clamp(max=n - 1)  # log-spaced, capped
        return buckets + torch.where(distance < exact, distance, wide)

    def score_bias(self, q: Tensor, q_pos: Tensor, k_pos: Tensor, scale: float) -> Tensor:
        _check_heads_input(q, "q", q_pos, "q_pos", num_heads=self.num_heads, who=type(self).__name__)
        _check_positions(k_pos, "k_pos")
        buckets = self.bucket(k_pos[None, :] - q_pos[:, None])  # (L, S)
        return self.table(buckets).permute(2, 0, 1)[None].to(q.dtype)  # (1, H, L, S)

    def extra_repr(self) -> str:
        return (f"num_heads={self.num_heads}, num_buckets={self.num_buckets}, "
                f"max_distance={self.max_distance}, bidirectional={self.bidirectional}")


class RotaryEmbedding(PositionScheme):
    """Rotary position embedding, RoPE (Su et al., "RoFormer", Neurocomputing 2024; arXiv 2021).

    Queries and keys at position ``m`` are rotated, pair of dims by pair of dims, by the angles
    ``m θ_i`` with ``θ_i = base^(-2i/D)``; then ``q_m · k_n`` depends on ``m - n`` only.

    Layout: the **half-split** pairs ``(i, i + D/2)``, rotated with ``rotate_half`` as in GPT-NeoX
    and Hugging Face Llama. The paper pairs adjacent dims ``(2i, 2i+1)``; the two layouts differ
    by a fixed permutation of the head dims, which the learned projections absorb.

    Shapes: ``x (B, H, L, D)``, ``positions (L,)`` → ``(B, H, L, D)``.
    """

    def __init__(self, head_dim: int, base: float = 10000.0) -> None:
        super().__init__()
        integer("head_dim", head_dim, minimum=1)
        if head_dim % 2:
            raise ValueError(f"head_dim must be even for RoPE (it rotates pairs of dims), got {head_dim}")
        self.head_dim, self.base = head_dim, number("base", base, low=1.0, low_open=True)

    @property
    def inv_freq(self) -> Tensor:
        """The frequencies ``θ_i = base^(-2i/D)``, float32 ``(D/2,)`` on the CPU.

        Computed on the fly, never stored as a buffer: ``model.half()`` would round a stored
        copy, and every position past a few hundred would be rotated by the wrong angle.
        """
        exponents = torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim
        return 1.0 / self.base**exponents  # (D/2,)

    def rotate(self, x: Tensor, positions: Tensor) -> Tensor:
        _check_heads_input(x, "x", positions, "positions", head_dim=self.head_dim, who=type(self).__name__)
        angles = positions.float()[:, None] * self.inv_freq.to(x.device)  # (L, D/2), float32
        angles = torch.cat((angles, angles), dim=-1)  # (L, D): dims i and i + D/2 share an angle
        cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)  # (L, D)
        x1, x2 = x.chunk(2, dim=-1)  # (B, H, L, D/2) each
        return x * cos + torch.cat((-x2, x1), dim=-1) * sin  # (B, H, L, D)

    def extra_repr(self) -> str:
        return f"head_dim={self.head_dim}, base={self.base}"


class ALiBi(PositionScheme):
    """Attention with linear biases (Press, Smith & Lewis, ICLR 2022). No parameters.

    Head ``h`` adds ``-m_h × distance`` to its scores. Slopes: for ``n`` heads, ``n`` a power of
    two, ``m_h = 2^(-8h/n)``, ``h = 1 … n`` (8 heads: 1/2, 1/4, …, 1/256); otherwise the slopes of
    the power of two just below ``n``, then every other slope of twice that power, as in the
    authors' code.

    The paper defines the bias for causal models: ``-m_h (i - j)`` for keys ``j <= i``.
    ``causal=False`` (default) uses the symmetric ``-m_h |i - j|``, equal to it on ``j <= i`` and
    usable without a causal mask. ``causal=True`` uses the paper's form and ``-inf`` for future
    keys, so that the bias itself blocks them.

    Shapes: ``q (B, H, L, D)``, ``q_pos (L,)``, ``k_pos (S,)`` → bias ``(1, H, L, S)``.
    """

    def __init__(self, num_heads: int, causal: bool = False) -> None:
        super().__init__()
        integer("num_heads", num_heads, minimum=1)
        flag("causal", causal)
        self.num_heads, self.causal = num_heads, causal

    @property
    def slopes(self) -> Tensor:
        """The head slopes ``m_h``, float32 ``(H,)`` on the CPU (computed, not stored, so ``.half()``
        cannot round them)."""
        return torch.tensor(_alibi_slopes(self.num_heads))

    def score_bias(self, q: Tensor, q_pos: Tensor, k_pos: Tensor, scale: float) -> Tensor:
        _check_heads_input(q, "q", q_pos, "q_pos", num_heads=self.num_heads, who=type(self).__name__)
        _check_positions(k_pos, "k_pos")
        behind = q_pos[:, None] - k_pos[None, :]  # (L, S): i - j
        bias = -self.slopes.to(q.device)[:, None, None] * behind.abs()  # (H, L, S), float32
        if self.causal:
            bias = bias.masked_fill(behind < 0, float("-inf"))  # future keys
        return bias[None].to(q.dtype)  # (1, H, L, S)

    def extra_repr(self) -> str:
        return f"num_heads={self.num_heads}, causal={self.causal}"


def _alibi_slopes(n: int) -> list[float]:
    """ALiBi's ``n`` head slopes (geometric for a power of two, interleaved otherwise)."""
    p = 2 ** math.floor(math.log2(n))  # the power of two at or below n
    slopes = [2.0 ** (-8 * h / p) for h in range(1, p + 1)]
    return slopes + _alibi_slopes(2 * p)[0::2][: n - p] if p < n else slopes


# --- factory ------------------------------------------------------------------------------


#: The names that :func:`build` and ``TransformerConfig(position=...)`` accept.
SCHEMES = ("sinusoidal", "learned", "shaw", "t5", "rope", "alibi")


_CLASSES = {
    "sinusoidal": SinusoidalPositionalEncoding, "learned": LearnedPositionalEmbedding, "shaw": ShawRelativePosition,
    "t5": T5RelativeBias, "rope": RotaryEmbedding, "alibi": ALiBi,
}


def build(name: str, *, d_model: int, num_heads: int, max_len: int | None = 512, **options) -> PositionScheme:
    """The scheme called ``name`` (one of :data:`SCHEMES`) sized for a model.

    ``head_dim = d_model // num_heads`` sizes Shaw and RoPE; ``max_len`` bounds the absolute
    schemes (``None`` lets the sinusoidal one take any position). ``options`` go to the class,
    e.g. ``build("shaw", d_model=64, num_heads=4, max_distance=8)``.
    """
    if name not in SCHEMES:
        raise ValueError(f"unknown position scheme {name!r}; expected one of {SCHEMES}")
    cls = _CLASSES[name]
    sized = {"d_model", "max_len", "head_dim", "num_heads"}  # set by build itself
    own = sorted(set(inspect.signature(cls.__init__).parameters) - {"self"} - sized)
    unknown = sorted(set(options) - set(own))
    if unknown:
        raise TypeError(f"position scheme {name!r} ({cls.__name__}) takes no option {', '.join(map(repr, unknown))}; "
                        f"its options are {own or 'none'}")
    d_model = integer("d_model", d_model, minimum=1)
    num_heads = integer("num_heads", num_heads, minimum=1)
    if d_model % num_heads:
        raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}")
    head_dim = d_model // num_heads
    sizes = {"sinusoidal": (d_model, max_len), "learned": (max_len, d_model), "shaw": (head_dim,),
             "t5": (num_heads,), "rope": (head_dim,), "alibi": (num_heads,)}
    return cls(*sizes[name], **options)


# --- input checks ---------------------------------------------------------------------------


def _check_positions(positions, name: str, *, limit: int | None = None, who: str = "") -> None:
    """``positions`` must be a 1-D integer tensor; with ``limit``, its entries lie in ``[0, limit)``."""
    if not isinstance(positions, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of integer positions, got {type(positions).__name__}")
    if positions.dtype.is_floating_point or positions.is_complex() or positions.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer positions, got dtype {positions.dtype}")
    if positions.dim() != 1:
        raise ValueError(f"{name} must be 1-D, one position per token, got shape {tuple(positions.shape)}")
    if limit is not None and positions.numel():
        low, high = int(positions.min()), int(positions.max())
        if low < 0:
            raise ValueError(f"{name} must be >= 0, got {low}")
        if high >= limit:
            raise ValueError(
                f"{name} reach {high}, a sequence of length {high + 1}, but {who} has max_len={limit}; "
                "positions must be < max_len"
            )


def _check_embed_input(x, positions, d_model: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 3 or x.shape[-1] != d_model:
        raise ValueError(f"x must be (B, L, d_model={d_model}), got shape {tuple(x.shape)}")
    _check_positions(positions, "positions")
    if len(positions) != x.shape[1]:
        raise ValueError(f"positions has {len(positions)} entries but x has L={x.shape[1]} tokens")


def _check_heads_input(x, name: str, positions, pos_name: str, *, head_dim: int | None = None,
                       num_heads: int | None = None, who: str = "") -> None:
    """``x (B, H, L, D)`` against its positions ``(L,)`` and the scheme's sizes."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{name} must be 4-D (B, H, L, D), got shape {tuple(x.shape)}")
    _check_positions(positions, pos_name)
    if x.shape[2] != len(positions):
        raise ValueError(f"{name} has L={x.shape[2]} tokens but {pos_name} has {len(positions)} positions")
    if head_dim is not None and x.shape[3] != head_dim:
        raise ValueError(f"{name} has head_dim {x.shape[3]} but {who} was built with head_dim={head_dim}")
    if num_heads is not None and x.shape[1] != num_heads:
        raise ValueError(f"{name} has {x.shape[1]} heads but {who} was built with num_heads={num_heads}")
