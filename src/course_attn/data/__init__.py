"""Synthetic data sets that the chapters generate from a seed: no downloads, same numbers every run
(and, in :mod:`~course_attn.data.real`, real data sets read offline from pinned packages).

Every generator takes a ``generator`` (a ``torch.Generator``, or an int to seed a fresh one) and
returns tensors (or texts and label tensors) whose first dimension is the example, ready for
:func:`course_attn.fit` and :func:`course_attn.iterate_batches`. One module per topic:

* :mod:`~course_attn.data.sequences` -- long-range recall tasks (background chapter);
* :mod:`~course_attn.data.finance` -- financial headlines (topic, sentiment) and a stream of them;
* :mod:`~course_attn.data.trends` -- markers for length extrapolation, counted sentiment with its exact optimum;
* :mod:`~course_attn.data.real` -- real data sets read offline from pinned packages or one committed
  file, checksummed (clothing reviews, Chinese reviews, MovieLens-100k, MNIST, UEA time series), and
  :func:`~course_attn.data.real.split`, splits in which identical texts never straddle two parts.

The application modules are imported by name (``from course_attn.data import finance``).
"""

from .real import (
    chinese_reviews,
    clothing_reviews,
    mnist_digits,
    movielens_100k,
    normalize_text,
    split,
    time_series,
)
from .sequences import key_value_recall, long_range_recall

__all__ = [
    "chinese_reviews",
    "clothing_reviews",
    "key_value_recall",
    "long_range_recall",
    "mnist_digits",
    "movielens_100k",
    "normalize_text",
    "split",
    "time_series",
]
