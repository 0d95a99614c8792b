"""The small synthetic tasks of the trends chapter: markers (positions and length) and counted sentiment
(robustness), with the exact best accuracy that any classifier can reach on the noisy sentiment task.

For example::

    data = marker_data(2048, 16, generator=0)          # two per-token tasks on one sequence
    data = counted_sentiment(2048, generator=1)        # one label per sequence
    noisy = token_noise(data["input_ids"], 0.2, 32, generator=2)
    bayes_accuracy(0.2)                                # the exact optimum under that noise
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .._validate import integer, number, tensor
from ._common import as_generator

__all__ = ["marker_data", "counted_sentiment", "token_noise", "counting_rule", "bayes_accuracy"]


def marker_data(num_examples: int, length: int, *, num_markers: int = 4, num_fillers: int = 12,
                p_marker: float = 0.25, generator: torch.Generator | int = 0) -> dict:
    """Sequences of *markers* (ids ``0 … num_markers-1``) and *fillers* (the next ``num_fillers`` ids).

    Each position holds a marker with probability ``p_marker`` (uniform among markers), else a
    uniform filler. Two per-token tasks for a causal model (``-100``: no label):

    - ``"previous"``: the token one position back (none at position 0);
    - ``"last_marker"``: the most recent marker so far, the current token included (none before
      the first marker).

    Returns ``{"input_ids": (N, L), "labels": {"previous": (N, L), "last_marker": (N, L)}}``.
    """
    n, length = integer("num_examples", num_examples, minimum=1), integer("length", length, minimum=2)
    M, F = integer("num_markers", num_markers, minimum=1), integer("num_fillers", num_fillers, minimum=1)
    p_marker = number("p_marker", p_marker, low=0.0, high=1.0)
    g = as_generator(generator)
    is_marker = torch.rand(n, length, generator=g) < p_marker  # (N, L)
    ids = torch.where(is_marker, torch.randint(0, M, (n, length), generator=g),
                      torch.randint(M, M + F, (n, length), generator=g))  # (N, L)
    previous = ids.roll(1, dims=1)
    previous[:, 0] = -100  # the first token has none
    last = torch.full((n, length), -100)
    current = torch.full((n,), -100)  # no marker seen yet
    for i in range(length):
        current = torch.where(is_marker[:, i], ids[:, i], current)
        last[:, i] = current
    return {"input_ids": ids, "labels": {"previous": previous, "last_marker": last}}


# --- counted sentiment: the robustness task ----------------------------------------------------------
# ids 0-3 positive words, 4-7 negative words, 8 … vocab-1 neutral.
_POS, _NEG = 4, 4


def counted_sentiment(num_examples: int, *, length: int = 24, num_words: int = 5, vocab_size: int = 32,
                      generator: torch.Generator | int = 0) -> dict:
    """Sequences of neutral tokens with ``num_words`` sentiment words at random positions.

    The number of positive words ``n_pos`` is uniform on ``0 … num_words`` (the rest are negative);
    a positive word is a uniform id in ``0 … 3``, a negative one in ``4 … 7``, a neutral token in
    ``8 … vocab_size-1``. The label is 1 when most sentiment words are positive (``num_words`` odd, so
    there is no tie). Returns ``{"input_ids": (N, L), "labels": {"sentiment": (N,)}}``.
    """
    n, L = integer("num_examples", num_examples, minimum=1), integer("length", length, minimum=1)
    W, V = integer("num_words", num_words, minimum=1), integer("vocab_size", vocab_size, minimum=9)
    if W % 2 == 0 or W > L:
        raise ValueError(f"num_words must be odd (no ties) and at most length={L}, got {W}")
    g = as_generator(generator)
    ids = torch.randint(_POS + _NEG, V, (n, L), generator=g)  # (N, L) neutral
    n_pos = torch.randint(0, W + 1, (n,), generator=g)  # (N,)
    slots = torch.rand(n, L, generator=g).argsort(-1)[:, :W]  # (N, W) distinct positions
    rows = torch.arange(n)
    for s in range(W):
        word = torch.where(s < n_pos, torch.randint(0, _POS, (n,), generator=g),
                           torch.randint(_POS, _POS + _NEG, (n,), generator=g))
        ids[rows, slots[:, s]] = word
    return {"input_ids": ids, "labels": {"sentiment": (n_pos > W // 2).long()}}


def token_noise(input_ids: Tensor, p: float, vocab_size: int, *, generator: torch.Generator | int = 0,
                uniform: Tensor | None = None, replacement: Tensor | None = None) -> Tensor:
    """Replace each token, with probability ``p``, by a uniformly random token (possibly itself).

    Pass the same ``uniform`` and ``replacement`` tensors (shaped like ``input_ids``) for several
    ``p``: a token corrupted at rate ``p`` is then corrupted at every larger rate as well.
    """
    tensor("input_ids", input_ids, kind="int", shape="(N, L)")
    p, V = number("p", p, low=0.0, high=1.0), integer("vocab_size", vocab_size, minimum=1)
    g = as_generator(generator)
    u = torch.rand(input_ids.shape, generator=g) if uniform is None else uniform
    r = torch.randint(0, V, input_ids.shape, generator=g) if replacement is None else replacement
    if u.shape != input_ids.shape or r.shape != input_ids.shape:
        raise ValueError(f"uniform and replacement must have the shape of input_ids {tuple(input_ids.shape)}")
    return torch.where(u < p, r, input_ids)


def counting_rule(input_ids: Tensor) -> Tensor:
    """Predict 1 when a sequence holds more positive (ids 0-3) than negative (ids 4-7) words: ``(N,)``."""
    tensor("input_ids", input_ids, dims=2, kind="int", shape="(N, L)")
    pos = (input_ids < _POS).sum(1)
    neg = ((input_ids >= _POS) & (input_ids < _POS + _NEG)).sum(1)
    return (pos > neg).long()


def _count_distribution(n: int, probs: tuple[float, float, float]) -> Tensor:
    """``P(a positive, b negative observed)`` for ``n`` tokens with class probabilities ``probs``: (n+1, n+1)."""
    out = torch.zeros(n + 1, n + 1, dtype=torch.float64)
    pp, pn, p0 = probs
    for a in range(n + 1):
        for b in range(n + 1 - a):
            c = n - a - b
            out[a, b] = math.factorial(n) / (math.factorial(a) * math.factorial(b) * math.factorial(c)) \
                * pp ** a * pn ** b * p0 ** c
    return out


def _convolve(x: Tensor, y: Tensor) -> Tensor:
    n, m = x.shape[0], y.shape[0]
    out = torch.zeros(n + m - 1, n + m - 1, dtype=torch.float64)
    for a in range(n):
        for b in range(n):
            if x[a, b] != 0:
                out[a:a + m, b:b + m] += x[a, b] * y
    return out


def bayes_accuracy(p: float, *, length: int = 24, num_words: int = 5, vocab_size: int = 32) -> dict:
    """Exact accuracies on :func:`counted_sentiment` under :func:`token_noise` at rate ``p``.

    Every token's id is uniform within its class (positive, negative, neutral), before and after
    noise, and positions are exchangeable, so the counts ``(a, b)`` of positive and negative words
    seen are a sufficient statistic. Summing over them exactly gives ``{"bayes": ..., "rule": ...}``:
    the accuracy of the Bayes-optimal classifier (the most probable label for each ``(a, b)``) and of
    :func:`counting_rule` (``a > b``), with no sampling error.
    """
    p = number("p", p, low=0.0, high=1.0)
    L, W, V = integer("length", length, minimum=1), integer("num_words", num_words, minimum=1), \
        integer("vocab_size", vocab_size, minimum=9)
    if W % 2 == 0 or W > L:
        raise ValueError(f"num_words must be odd (no ties) and at most length={L}, got {W}")
    fp, fn, f0 = _POS / V, _NEG / V, (V - _POS - _NEG) / V  # a random token's class
    pos_word = (1 - p + p * fp, p * fn, p * f0)  # what a positive word is seen as
    neg_word = (p * fp, 1 - p + p * fn, p * f0)
    neutral = (p * fp, p * fn, 1 - p + p * f0)
    background = _count_distribution(L - W, neutral)
    joint = {}  # label -> P(a, b, label)
    for n_pos in range(W + 1):
        words = _convolve(_count_distribution(n_pos, pos_word), _count_distribution(W - n_pos, neg_word))
        dist = _convolve(words, background) / (W + 1)  # (L+1, L+1), prior 1 / (W + 1)
        label = int(n_pos > W // 2)
        joint[label] = joint.get(label, 0) + dist
    bayes = torch.maximum(joint[0], joint[1]).sum().item()
    a = torch.arange(L + 1)
    says_positive = a[:, None] > a[None, :]  # (L+1, L+1)
    rule = (joint[1][says_positive].sum() + joint[0][~says_positive].sum()).item()
    return {"bayes": bayes, "rule": rule}
