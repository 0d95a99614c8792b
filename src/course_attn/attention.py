"""Multi-head attention (多头注意力) as a module: projections, heads, output projection."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._validate import flag, integer, number, one_of
from .cache import KVCache
from .functional import BACKENDS, _check_mask, scaled_dot_product_attention
from .masks import combine
from .positional import PositionScheme

__all__ = ["MultiHeadAttention"]


class MultiHeadAttention(nn.Module):
    """Multi-head attention with one mask convention and interchangeable backends.

    ``embed_dim`` is split into ``num_heads`` heads of ``head_dim = embed_dim // num_heads``.
    ``num_kv_heads`` (default ``num_heads``) gives grouped-query attention: each
    key/value head is shared by ``num_heads // num_kv_heads`` query heads
    (``num_kv_heads=1`` is multi-query attention); no backend copies the shared heads.

    ``kdim`` / ``vdim`` are the feature sizes of ``key`` / ``value`` inputs for
    cross-attention (default ``embed_dim``). ``backend`` is one of ``"auto"``, ``"math"``,
    ``"sdpa"`` or ``"chunked"`` (see :func:`course_attn.scaled_dot_product_attention`).

    ``position`` is an optional relative :class:`~course_attn.positional.PositionScheme`
    (RoPE, ALiBi, T5, Shaw) applied in self-attention; one instance may be shared by all layers.
    Additive biases (ALiBi, T5) go to the kernel as a function of positions, so the chunked
    backend computes them block by block and never holds the ``(B, H, L, S)`` biases; Shaw's
    relative values need the weights, so with Shaw the module always runs the ``"math"`` backend.

    Conventions (those of :func:`~course_attn.scaled_dot_product_attention`, which differ from
    ``nn.MultiheadAttention``): a boolean ``attn_mask`` is ``True`` where a query **may attend** (``nn.MultiheadAttention``'s
    ``True`` means *ignore*: port its masks with :func:`course_attn.masks.from_torch`, or the whole
    module with :meth:`from_torch`); ``causal=True`` is aligned bottom-right when ``L != S``; a query
    allowed to see no key gets a zero attention output *before* the output projection, so the
    module returns ``out_proj.bias`` for it (and zero weights).
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        *,
        kdim: int | None = None,
        vdim: int | None = None,
        num_kv_heads: int | None = None,
        bias: bool = True,
        dropout: float = 0.0,
        batch_first: bool = True,
        backend: str = "auto",
        position: PositionScheme | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        embed_dim = integer("embed_dim", embed_dim, minimum=1)
        num_heads = integer("num_heads", num_heads, minimum=1)
        num_kv_heads = num_heads if num_kv_heads is None else integer("num_kv_heads", num_kv_heads, minimum=1)
        kdim = embed_dim if kdim is None else integer("kdim", kdim, minimum=1)
        vdim = embed_dim if vdim is None else integer("vdim", vdim, minimum=1)
        if embed_dim % num_heads:
            raise ValueError(
                f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}; "
                "each head needs embed_dim // num_heads features"
            )
        if num_heads % num_kv_heads:
            raise ValueError(
                f"num_heads={num_heads} is not divisible by num_kv_heads={num_kv_heads}; "
                "each key/value head must serve the same number of query heads"
            )
        dropout = number("dropout", dropout, low=0.0, high=1.0, high_open=True)
        bias, batch_first = flag("bias", bias), flag("batch_first", batch_first)
        one_of("backend", backend, BACKENDS)
        if position is not None and (not isinstance(position, PositionScheme) or position.absolute):
            raise TypeError(
                "position must be a relative course_attn.positional.PositionScheme (rope, alibi, t5, shaw), "
                f"got {type(position).__name__}; absolute schemes are added to the embeddings instead"
            )

        self.embed_dim, self.kdim, self.vdim = embed_dim, kdim, vdim
        self.num_heads, self.num_kv_heads = num_heads, num_kv_heads
        self.head_dim = embed_dim // num_heads
        self.dropout, self.batch_first, self.backend = dropout, batch_first, backend
        self.position = position

        factory = {"device": device, "dtype": dtype}
        kv_dim = num_kv_heads * self.head_dim
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias, **factory)
        self.k_proj = nn.Linear(kdim, kv_dim, bias=bias, **factory)
        self.v_proj = nn.Linear(vdim, kv_dim, bias=bias, **factory)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias, **factory)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # The same scheme as torch.nn.MultiheadAttention: Xavier input projections, zero biases.
        for proj in (self.q_proj, self.k_proj, self.v_proj):
            nn.init.xavier_uniform_(proj.weight)
        for proj in (self.q_proj, self.k_proj, self.v_proj, self.out_proj):
            if proj.bias is not None:
                nn.init.zeros_(proj.bias)

    def forward(
        self,
        query: Tensor,
        key: Tensor | None = None,
        value: Tensor | None = None,
        *,
        attn_mask: Tensor | None = None,
        key_mask: Tensor | None = None,
        causal: bool = False,
        need_weights: bool = False,
        average_attn_weights: bool = False,
        cache: KVCache | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """Attend from ``query`` to ``key``/``value`` (self-attention when both are omitted).

        Shapes with ``batch_first=True`` (otherwise swap the first two dims):
        ``query (B, L, embed_dim)``, ``key (B, S, kdim)``, ``value (B, S, vdim)``
        → ``out (B, L, embed_dim)``.

        * ``key_mask (B, S)``: ``True``/1 for real tokens, ``False``/0 for padding --
          a tokenizer's ``attention_mask`` can be passed straight in.
        * ``attn_mask``: ``(L, S)``, ``(B, L, S)`` or ``(B, H, L, S)``; boolean ``True``
          = may attend, or float added to the scores.
        * ``causal=True`` blocks future keys; all masks given are combined.
        * ``cache``: a :class:`~course_attn.KVCache` for incremental self-attention. The new
          tokens' keys and values are appended to it and the queries attend to all of them,
          so masks cover ``S = len(cache)`` keys after the update; ``causal`` is aligned so
          that the new queries come last.

        ``weights`` is ``(B, H, L, S)`` per head, ``(B, L, S)`` if
        ``average_attn_weights``, or ``None`` unless ``need_weights=True``.
        """
        causal, need_weights = flag("causal", causal), flag("need_weights", need_weights)
        average_attn_weights = flag("average_attn_weights", average_attn_weights)
        if (key is None) != (value is None):
            raise ValueError(
                "pass key and value together (cross-attention) or neither (self-attention), "
                f"got key={'a tensor' if key is not None else None} and value={'a tensor' if value is not None else None}"
            )
        if cache is not None and not isinstance(cache, KVCache):
            raise TypeError(f"cache must be a course_attn.KVCache or None, got {type(cache).__name__}")
        self_attention = key is None
        if not self_attention and (cache is not None or self.position is not None):
            raise ValueError("cache and position schemes apply to self-attention only: call with key=value=None")
        if self_attention:
            key = value = query
        query, key, value = self._check_inputs(query, key, value)
        if not self.batch_first:
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        B, L, _ = query.shape
        S_new = key.shape[1]
        H, Hkv, D = self.num_heads, self.num_kv_heads, self.head_dim
        past = 0 if cache is None else len(cache)
        S = past + S_new  # keys attended to, cached ones included

        mask = combine(self._attn_mask_4d(attn_mask, query, B, L, S), self._key_mask_4d(key_mask, query, B, S))

        q = self.q_proj(query).view(B, L, H, D).transpose(1, 2)  # (B, H, L, D)
        k = self.k_proj(key).view(B, S_new, Hkv, D).transpose(1, 2)  # (B, Hkv, S_new, D)
        v = self.v_proj(value).view(B, S_new, Hkv, D).transpose(1, 2)  # (B, Hkv, S_new, D)
        backend, wants_weights, bias = self.backend, need_weights, None
        if self.position is not None:
            q_pos = torch.arange(past, S, device=query.device)  # the new tokens: their queries and keys
            k_pos = torch.arange(S, device=query.device)  # every key, cached ones first
            q, k = self.position.rotate(q, q_pos), self.position.rotate(k, q_pos)
            bias = self._position_bias(q, q_pos, k_pos)
            if self.position.needs_weights:  # e.g. Shaw's relative values: weights @ a^V
                backend, wants_weights = "math", True
        if cache is not None:
            k, v = cache.update(k, v)  # (B, Hkv, S, D)

        out, weights = scaled_dot_product_attention(
            q, k, v, mask,
            causal=causal,
            dropout_p=self.dropout,
            need_weights=wants_weights,
            training=self.training,
            backend=backend,
            bias=bias,
            enable_gqa=Hkv != H,  # query heads h*g ... h*g+g-1 share kv head h
        )  # (B, H, L, D), (B, H, L, S) or None
        if self.position is not None and self.position.needs_weights:
            out = out + self.position.value_term(weights, q_pos, k_pos)  # (B, H, L, D)
            weights = weights if need_weights else None
        out = self.out_proj(out.transpose(1, 2).reshape(B, L, H * D))  # (B, L, embed_dim)
        if not self.batch_first:
            out = out.transpose(0, 1)
        if weights is not None and average_attn_weights:
            weights = weights.mean(dim=1)  # (B, L, S)
        return out, weights

    def _position_bias(self, q, q_pos, k_pos):
        """The scheme's score bias as a function of query rows and key columns (see
        :func:`~course_attn.scaled_dot_product_attention`'s ``bias``), or ``None`` if it adds none."""
        if type(self.position).score_bias is PositionScheme.score_bias:
            return None
        scale = self.head_dim ** -0.5
        return lambda rows, cols: self.position.score_bias(q[:, :, rows], q_pos[rows], k_pos[cols], scale)

    @classmethod
    def from_torch(cls, m: nn.MultiheadAttention, *, backend: str = "auto") -> "MultiHeadAttention":
        """Build an equivalent module holding the same weights as ``m``.

        Handles packed (``in_proj_weight``) and separate (``kdim``/``vdim``)
        projection layouts and keeps ``m.batch_first``. Remember the conventions
        differ: convert ``m``'s boolean masks with :func:`course_attn.masks.from_torch`.
        """
        if not isinstance(m, nn.MultiheadAttention):
            raise TypeError(f"from_torch expects a torch.nn.MultiheadAttention, got {type(m).__name__}")
        if m.bias_k is not None or m.add_zero_attn:
            raise ValueError("from_torch does not support add_bias_kv=True or add_zero_attn=True")
        weight = m.out_proj.weight
        new = cls(
            m.embed_dim, m.num_heads, kdim=m.kdim, vdim=m.vdim, bias=m.in_proj_bias is not None,
            dropout=m.dropout, batch_first=m.batch_first, backend=backend,
            device=weight.device, dtype=weight.dtype,
        )
        if m._qkv_same_embed_dim:
            w_q, w_k, w_v = m.in_proj_weight.chunk(3)
        else:
            w_q, w_k, w_v = m.q_proj_weight, m.k_proj_weight, m.v_proj_weight
        b_q = b_k = b_v = None
        if m.in_proj_bias is not None:
            b_q, b_k, b_v = m.in_proj_bias.chunk(3)
        with torch.no_grad():
            for proj, w, b in ((new.q_proj, w_q, b_q), (new.k_proj, w_k, b_k), (new.v_proj, w_v, b_v),
                               (new.out_proj, m.out_proj.weight, m.out_proj.bias)):
                proj.weight.copy_(w)
                if b is not None:
                    proj.bias.copy_(b)
        new.train(m.training)
        return new

    def extra_repr(self) -> str:
        extra = f", num_kv_heads={self.num_kv_heads}" if self.num_kv_heads != self.num_heads else ""
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}{extra}, "
                f"head_dim={self.head_dim}, backend={self.backend!r}")

    # --- input checks -------------------------------------------------------------------------

    def _check_inputs(self, query, key, value):
        layout = "(B, L, E)" if self.batch_first else "(L, B, E)"
        for name, x, dim in (("query", query, self.embed_dim), ("key", key, self.kdim), ("value", value, self.vdim)):
            if not isinstance(x, Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
            if x.dim() != 3:
                raise ValueError(
                    f"{name} must be 3-D {layout} with batch_first={self.batch_first}, got shape "
                    f"{tuple(x.shape)}; for a single sequence add a batch dim"
                )
            if x.shape[-1] != dim:
                arg = {"query": "embed_dim", "key": "kdim", "value": "vdim"}[name]
                raise ValueError(f"{name} has {x.shape[-1]} features but the module expects {arg}={dim}")
            if x.dtype != self.q_proj.weight.dtype:
                raise TypeError(f"{name} has dtype {x.dtype} but the module's weights are {self.q_proj.weight.dtype}")
            if x.device != self.q_proj.weight.device:
                raise ValueError(f"{name} is on {x.device} but the module's weights are on {self.q_proj.weight.device}")
        b = 0 if self.batch_first else 1
        if not query.shape[b] == key.shape[b] == value.shape[b]:
            raise ValueError(
                f"query, key and value must share the batch size, got {query.shape[b]}, {key.shape[b]}, {value.shape[b]}"
            )
        if key.shape[1 - b] != value.shape[1 - b]:
            raise ValueError(
                f"key and value must have the same length S, got key {tuple(key.shape)} and value {tuple(value.shape)}"
            )
        return query, key, value

    def _attn_mask_4d(self, attn_mask, query, B, L, S):
        """``attn_mask`` as ``(1 or B, 1 or H, L, S)``."""
        if attn_mask is None:
            return None
        if not isinstance(attn_mask, Tensor):
            raise TypeError(f"attn_mask must be a torch.Tensor, got {type(attn_mask).__name__}")
        H = self.num_heads
        if attn_mask.dim() == 3 and attn_mask.shape[0] == B * H and B * H != B:
            raise ValueError(
                f"attn_mask of shape {tuple(attn_mask.shape)} looks like nn.MultiheadAttention's (B*H, L, S); "
                f"course_attn takes (L, S), (B, L, S) or (B, H, L, S): use attn_mask.view({B}, {H}, {L}, {S})"
            )
        if attn_mask.dim() == 2:
            attn_mask = attn_mask[None, None]
        elif attn_mask.dim() == 3:
            attn_mask = attn_mask[:, None]
        elif attn_mask.dim() != 4:
            raise ValueError(
                f"attn_mask must be (L, S), (B, L, S) or (B, H, L, S), got shape {tuple(attn_mask.shape)}"
            )
        return _check_mask(attn_mask, (B, H, L, S), dtype=query.dtype, device=query.device, name="attn_mask")

    def _key_mask_4d(self, key_mask, query, B, S):
        """``key_mask (B, S)``, True/1 = real token, as a boolean ``(B, 1, 1, S)``."""
        if key_mask is None:
            return None
        if not isinstance(key_mask, Tensor):
            raise TypeError(f"key_mask must be a torch.Tensor, got {type(key_mask).__name__}")
        if key_mask.shape != (B, S):
            raise ValueError(f"key_mask must be (B, S) = ({B}, {S}), True for real tokens; got {tuple(key_mask.shape)}")
        if key_mask.device != query.device:
            raise ValueError(f"key_mask is on {key_mask.device} but query is on {query.device}")
        if key_mask.dtype.is_floating_point or key_mask.is_complex():
            raise TypeError(
                f"key_mask must be bool or 0/1 integers (True/1 = real token), got dtype {key_mask.dtype}; "
                "for additive biases use attn_mask"
            )
        if key_mask.dtype != torch.bool:
            if not ((key_mask == 0) | (key_mask == 1)).all():
                raise ValueError("key_mask must hold only 0 and 1 (1 = real token), like a tokenizer's attention_mask")
            key_mask = key_mask.bool()
        return key_mask[:, None, None, :]  # (B, 1, 1, S)
