"""Softmax with a temperature: the weights of one query over its keys as the scores are rescaled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from .._validate import integer, number, tensor
from ._page import View, check_decimals, check_labels, check_title, encode


def softmax_view(queries, keys, values=None, *, temperature: float = 1.0,
                 temperatures: tuple[float, float] = (0.01, 100.0), marks: Mapping[str, float] | None = None,
                 query: int = 0, query_labels: Sequence[str] | None = None, key_labels: Sequence[str] | None = None,
                 query_name: str = "query", decimals: int = 3, title: str | None = None) -> View:
    """Attention weights ``softmax(q · k_j / τ)`` of each query, with a slider for the temperature ``τ``.

    ``queries (Lq, d)`` (or one ``(d,)`` query) and ``keys (S, d)`` are float tensors. The view stores
    them and the scores ``queries @ keys.T (Lq, S)`` (to 6 decimals); the browser redraws
    ``softmax(scores / τ)`` for the ``τ`` the reader picks on a log scale between ``temperatures``: the
    weights of ``ca.scaled_dot_product_attention(q, keys, values, scale=1 / τ)``. ``values (S,)``, one
    number per key, adds the output ``Σ_j α_j v_j``. ``marks`` are buttons that jump to a named ``τ``,
    e.g. ``{"τ = √d_k": 8.0}``. With ``d = 2`` the queries and keys are also drawn on the unit circle.
    Several queries get a control named ``query_name``; ``query`` is the first one shown. The default
    ``title`` names the number of keys and ``d_k``.
    """
    queries = tensor("queries", queries, dims=(1, 2), kind="float", shape="(Lq, d) or (d,)")
    keys = tensor("keys", keys, dims=2, kind="float", shape="(S, d)")
    queries = queries.detach().double().cpu().reshape(-1, queries.shape[-1])  # (Lq, d)
    keys = keys.detach().double().cpu()                                         # (S, d)
    if queries.shape[1] != keys.shape[1]:
        raise ValueError(f"queries have d={queries.shape[1]} features but keys have {keys.shape[1]}")
    if values is not None:
        values = tensor("values", values, dims=1, kind="float", shape="(S,)").detach().double().cpu()
        if len(values) != len(keys):
            raise ValueError(f"values has {len(values)} entries but there are {len(keys)} keys")
    if not (isinstance(temperatures, Sequence) and len(temperatures) == 2):
        raise TypeError(f"temperatures must be a (low, high) pair, got {temperatures!r}")
    low = number("temperatures[0]", temperatures[0], low=0, low_open=True)
    high = number("temperatures[1]", temperatures[1], low=low, low_open=True)
    temperature = number("temperature", temperature, low=low, high=high)
    marks = dict(marks or {})
    for label, tau in marks.items():
        if not isinstance(label, str):
            raise TypeError(f"marks must map labels (str) to temperatures, got the key {label!r}")
        number(f"marks[{label!r}]", tau, low=low, high=high)
    query = integer("query", query)
    if not 0 <= query < len(queries):
        raise ValueError(f"query must be in [0, {len(queries)}), got {query}")
    if not isinstance(query_name, str):
        raise TypeError(f"query_name must be a str, got {type(query_name).__name__}")
    scores = queries @ keys.T  # (Lq, S)
    if not torch.isfinite(scores).all() or (values is not None and not torch.isfinite(values).all()):
        raise ValueError("queries, keys and values must be finite")
    return View("softmax", {
        "title": check_title(title) or (f"softmax(q \u00b7 k / \u03c4): the weights of {len(keys)} keys for one "
                                        f"query (d_k = {keys.shape[1]})"),
        "query_name": query_name, "decimals": check_decimals(decimals),
        "query_labels": check_labels("query_labels", query_labels, len(queries), lambda i: f"query {i}"),
        "key_labels": check_labels("key_labels", key_labels, len(keys), lambda j: f"key {j}"),
        "queries": encode(queries, 6), "keys": encode(keys, 6), "scores": encode(scores, 6),  # to 1e-6
        "query": query, "temperature": temperature, "temperatures": [low, high],
        "marks": [{"label": label, "value": float(tau)} for label, tau in marks.items()],
        "values": None if values is None else values.tolist(), "value_decimals": 2,
    })
