"""Position schemes side by side: the similarity or the bias between every pair of positions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

from .._validate import integer
from ..positional import (ALiBi, LearnedPositionalEmbedding, PositionScheme, RotaryEmbedding,
                          ShawRelativePosition, SinusoidalPositionalEncoding, T5RelativeBias)
from ._page import View, check_decimals, check_title, encode


# The label of each kind of scheme, filled with the scheme's settings (views.js holds their Chinese).
_LABELS = {SinusoidalPositionalEncoding: "sinusoidal (d = {0.d_model})",
           LearnedPositionalEmbedding: "learned (d = {0.d_model})",
           RotaryEmbedding: "RoPE (d_k = {0.head_dim})",
           ALiBi: "ALiBi ({0.num_heads} heads)",
           T5RelativeBias: "T5 buckets ({0.num_buckets} buckets, max_distance {0.max_distance})",
           ShawRelativePosition: "Shaw (clip distance {0.max_distance})"}


def scheme_name(scheme: PositionScheme) -> str:
    """The label :func:`position_view` gives a scheme passed in a list: its kind and size, e.g. ``"RoPE (d_k = 64)"``."""
    label = next((label for kind, label in _LABELS.items() if isinstance(scheme, kind)), None)
    return label.format(scheme) if label else type(scheme).__name__


@torch.no_grad()
def position_matrices(scheme: PositionScheme, positions: int) -> tuple[str, list[tuple[str, torch.Tensor]]]:
    """What :func:`position_view` draws for one scheme: a sentence saying what it is, and
    ``(label, (positions, positions) tensor)`` pairs, one per head where the scheme has heads.

    * sinusoidal, learned: cosine similarity of the vectors added at positions ``i`` and ``j``;
    * RoPE: ``q_i · k_j`` for one unit vector (all entries equal) rotated to positions ``i`` and ``j``;
    * ALiBi: the bias ``-m_h |i - j|`` of each head (``causal=False`` only: the causal one is ``-inf`` above the diagonal);
    * T5: the bucket of ``j - i`` (each bucket has one learned bias per head);
    * Shaw: the row ``clip(j - i, -k, k) + k`` of the learned vectors ``a^K``, ``a^V``.
    """
    pos = torch.arange(positions)
    if isinstance(scheme, (SinusoidalPositionalEncoding, LearnedPositionalEmbedding)):
        vectors = scheme.embed(torch.zeros(1, positions, scheme.d_model), pos)[0]  # (n, d): what is added
        unit = F.normalize(vectors.double(), dim=-1)                                # (n, d)
        return ("cosine similarity of the position vectors added to the tokens at positions i and j",
                [("", unit @ unit.T)])
    if isinstance(scheme, RotaryEmbedding):
        x = torch.full((1, 1, positions, scheme.head_dim), scheme.head_dim ** -0.5)  # (1, 1, n, D): unit rows
        rotated = scheme.rotate(x, pos)[0, 0].double()                                 # (n, D)
        return ("score q\u1d62 \u00b7 k\u2c7c of one unit vector (all entries equal) rotated to positions i and j",
                [("", rotated @ rotated.T)])
    if isinstance(scheme, ALiBi):
        if scheme.causal:
            raise ValueError("position_view draws ALiBi(causal=False); the causal bias is -inf above the diagonal")
        bias = scheme.score_bias(torch.zeros(1, scheme.num_heads, positions, 1), pos, pos, 1.0)[0]  # (H, n, n)
        slopes = scheme.slopes.tolist()
        return ("bias \u2212m\u2095 |i \u2212 j| added to the scores (one slope per head)",
                [(f"head {h + 1}: slope 1/{1 / m:g}", bias[h]) for h, m in enumerate(slopes)])
    if isinstance(scheme, T5RelativeBias):
        buckets = scheme.bucket(pos[None, :] - pos[:, None])  # (n, n)
        return ("bucket of the offset j \u2212 i: each bucket has one learned bias per head",
                [("", buckets)])
    if isinstance(scheme, ShawRelativePosition):
        return ("row clip(j \u2212 i, \u2212k, k) + k of the learned vectors a\u1d37, a\u2c7d used for the pair",
                [("", scheme.relative_index(pos, pos))])
    raise TypeError(f"schemes must hold course_attn.positional schemes (sinusoidal, learned, RoPE, ALiBi, T5, "
                    f"Shaw), got {type(scheme).__name__}")


def _spec(scheme: PositionScheme) -> dict:
    """The scheme's class and settings, so that a reader (or a test) can rebuild it."""
    fields = ("d_model", "max_len", "head_dim", "base", "num_heads", "causal", "num_buckets", "max_distance",
              "bidirectional")
    return {"class": type(scheme).__name__,
            "args": {f: getattr(scheme, f) for f in fields if hasattr(scheme, f)}}


def position_view(schemes: Mapping[str, PositionScheme] | Sequence[PositionScheme], *, positions: int = 32,
                  query: int | None = None, decimals: int = 3, title: str | None = None) -> View:
    """The position schemes of :mod:`course_attn.positional`, compared between positions ``0 … positions-1``.

    ``schemes`` maps a label to a scheme module, or is a list of modules, labelled by ``scheme_name``
    (those labels also read in Chinese on a Chinese page; a label of your own stays as written). For each,
    :func:`position_matrices` computes a ``(positions, positions)`` matrix (one per head for ALiBi);
    the reader picks the scheme, the head and a query position ``i`` (``query``, default the middle)
    and sees the matrix as a heatmap and row ``i`` as a curve over the key positions ``j``.
    """
    if isinstance(schemes, PositionScheme):
        schemes = [schemes]
    if isinstance(schemes, Mapping):
        items = list(schemes.items())
    elif isinstance(schemes, Sequence) and not isinstance(schemes, str):
        items = [(scheme_name(s), s) for s in schemes]
    else:
        raise TypeError(f"schemes must be a dict of label: scheme or a list of schemes, got {type(schemes).__name__}")
    if not items:
        raise ValueError("schemes is empty: give at least one position scheme")
    positions = integer("positions", positions, minimum=2)
    query = positions // 2 if query is None else integer("query", query)
    if not 0 <= query < positions:
        raise ValueError(f"query must be in [0, {positions}), got {query}")
    decimals = check_decimals(decimals)
    entries = []
    for label, scheme in items:
        if not isinstance(label, str):
            raise TypeError(f"scheme labels must be str, got {label!r}")
        if not isinstance(scheme, PositionScheme):
            raise TypeError(f"schemes[{label!r}] must be a course_attn.positional scheme, got {type(scheme).__name__}")
        what, matrices = position_matrices(scheme, positions)
        entries.append({"label": label, "what": what, "variant_name": "head", "spec": _spec(scheme),
                        "variants": [{"label": name, "values": encode(m, decimals)} for name, m in matrices]})
    return View("positions", {
        "title": check_title(title) or "Position schemes: how two positions relate",
        "positions": positions, "scheme": 0, "query": query, "decimals": decimals, "schemes": entries,
    })
