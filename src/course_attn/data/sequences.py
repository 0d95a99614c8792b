"""Synthetic sequence tasks with long-range dependencies (the background chapter)."""

from __future__ import annotations

import torch
from torch import Tensor

from .._validate import integer
from ._common import as_generator

__all__ = ["key_value_recall", "long_range_recall"]






def long_range_recall(
    num_examples: int,
    seq_len: int,
    *,
    num_keys: int = 16,
    num_fillers: int = 16,
    key_window: int = 4,
    generator: torch.Generator | int = 0,
) -> dict[str, Tensor]:
    """Sequences of filler tokens with one key token near the start; the label is that key.

    Token ids ``0 … num_keys - 1`` are *keys*, ids ``num_keys … num_keys + num_fillers - 1`` are
    *fillers* (so ``vocab_size = num_keys + num_fillers``). In each sequence exactly one position
    ``p``, drawn uniformly from ``0 … key_window - 1``, holds a key drawn uniformly from the
    ``num_keys`` keys; every other position holds a uniformly random filler. The label is the key.

    A model that reads the label out at the last position must carry the key over at least
    ``seq_len - key_window`` positions, so the distance grows with ``seq_len``; the last
    ``seq_len - key_window`` tokens are fillers independent of the label, so a model that sees only
    them is at chance, ``1 / num_keys``.

    Returns ``{"input_ids": (N, L) long, "labels": (N,) long, "key_position": (N,) long}`` with
    ``N = num_examples`` and ``L = seq_len``. An int ``generator`` seeds a fresh
    ``torch.Generator``; a ``torch.Generator`` is used (and advanced) as is, so two calls with the
    same one give two different, independent splits.
    """
    num_examples = integer("num_examples", num_examples, minimum=1)
    num_keys = integer("num_keys", num_keys, minimum=2)
    num_fillers = integer("num_fillers", num_fillers, minimum=1)
    key_window = integer("key_window", key_window, minimum=1)
    seq_len = integer("seq_len", seq_len, minimum=1)
    if seq_len <= key_window:
        raise ValueError(
            f"seq_len must be larger than key_window so that the key lies in the past, "
            f"got seq_len={seq_len}, key_window={key_window}"
        )
    g = as_generator(generator)
    n = num_examples
    input_ids = torch.randint(num_keys, num_keys + num_fillers, (n, seq_len), generator=g)  # (N, L)
    labels = torch.randint(0, num_keys, (n,), generator=g)  # (N,)
    key_position = torch.randint(0, key_window, (n,), generator=g)  # (N,)
    input_ids[torch.arange(n), key_position] = labels
    return {"input_ids": input_ids, "labels": labels, "key_position": key_position}


def key_value_recall(
    num_examples: int,
    seq_len: int,
    *,
    num_keys: int = 32,
    num_values: int = 4,
    generator: torch.Generator | int = 0,
) -> dict[str, Tensor]:
    """A small dictionary of (key, value) items, then a query key; the label is that key's value.

    Each sequence holds ``seq_len - 1`` items with distinct keys, then one query token. The item
    "key ``k`` has value ``v``" is the single token id ``k * num_values + v``; the query "value of
    key ``k``?" is id ``num_keys * num_values + k``, so ``vocab_size = num_keys * (num_values + 1)``.
    Keys are drawn without replacement from ``num_keys``, values uniformly from ``num_values``.
    The queried item is drawn uniformly from the first half of the items (positions
    ``0 … max(1, (seq_len - 1) // 2) - 1``), so the answer lies at least ``seq_len // 2`` tokens
    before the query, and a model that sees only the last ``seq_len // 2`` tokens (the query and
    the second half of the items) is at chance, ``1 / num_values``.

    A model that reads the sequence from left to right before it sees the query cannot know which
    item will be asked for: it has to keep them all.

    Returns ``{"input_ids": (N, L) long, "labels": (N,) long, "key_position": (N,) long}``, where
    ``key_position`` is the position of the queried item. An int ``generator`` seeds a fresh
    ``torch.Generator``; a ``torch.Generator`` is used (and advanced) as is.
    """
    num_examples = integer("num_examples", num_examples, minimum=1)
    num_keys = integer("num_keys", num_keys, minimum=1)
    num_values = integer("num_values", num_values, minimum=2)
    seq_len = integer("seq_len", seq_len, minimum=2)
    num_items = seq_len - 1
    if num_items > num_keys:
        raise ValueError(
            f"seq_len - 1 items need as many distinct keys: seq_len must be <= num_keys + 1 = "
            f"{num_keys + 1}, got seq_len={seq_len}"
        )
    g = as_generator(generator)
    n = num_examples
    rows = torch.arange(n)
    keys = torch.rand(n, num_keys, generator=g).argsort(dim=-1)[:, :num_items]  # (N, L-1), distinct
    values = torch.randint(0, num_values, (n, num_items), generator=g)  # (N, L-1)
    key_position = torch.randint(0, max(1, num_items // 2), (n,), generator=g)  # (N,)
    query = num_keys * num_values + keys[rows, key_position]  # (N,)
    input_ids = torch.cat([keys * num_values + values, query[:, None]], dim=1)  # (N, L)
    return {"input_ids": input_ids, "labels": values[rows, key_position], "key_position": key_position}
