"""Synthetic data sets that the chapters generate from a seed: no downloads, same numbers every run.

Every generator takes a ``generator`` (a ``torch.Generator``, or an int to seed a fresh one) and
returns tensors (or texts and label tensors) whose first dimension is the example, ready for
:func:`course_attn.fit` and :func:`course_attn.iterate_batches`. One module per topic:

* :mod:`~course_attn.data.sequences` -- long-range recall tasks (background chapter).
"""

from .sequences import key_value_recall, long_range_recall

__all__ = ["key_value_recall", "long_range_recall"]
