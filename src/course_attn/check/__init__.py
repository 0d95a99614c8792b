"""Instant feedback on the exercises: ``check.<exercise>(your_function)``.

Each exercise of the course has a check named after the function it asks for. It runs that
exercise's tests against your function, on inputs it makes itself, and prints what passed and what
failed (a wrong shape names both shapes; wrong values give the largest error and where it is; an
exception names itself; a stub that still raises ``NotImplementedError`` says "not implemented
yet")::

    from course_attn import check

    check.attention_row(attention_row)              # chapter 3, exercise 1
    check.split_heads(split_heads, merge_heads)     # two functions, one exercise
    check.answer_from_last(answer_from_last, num_keys=NUM_KEYS, num_values=NUM_VALUES)

A check raises ``AssertionError`` if any test failed, so the same call is the exercise's
autograded test cell. It needs nothing but this package, on Colab as anywhere else.

``check.exercises()`` lists the exercises; ``check.assert_close(got, expected)`` is the
comparison the checks use, for tests of your own.
"""

from __future__ import annotations

from . import ch00, ch01, ch02, ch03, ch04, ch05, ch06_1, ch06_2, ch06_3, ch06_4, ch07, ch08, ch09
from ._report import EXERCISES, Exercise
from ._report import expect_close as assert_close
from .ch00 import my_attention
from .ch01 import answer_from_last, elman_rnn, first_input_gradient
from .ch02 import pre_ln_block, rms_norm, split_heads
from .ch03 import attention_row, mha_parameters, score_matrix_mib
from .ch04 import alibi_slopes, sinusoidal_table, softmax_backward
from .ch05 import compute_attention, mean_pooled_embeddings, next_token_score
from .ch06_1 import keep_mask, macro_f1
from .ch06_2 import bootstrap_gap, ewma_share
from .ch06_3 import drop_items, keep_last
from .ch06_4 import shuffle_frames, zero_patches
from .ch07 import count_parameters, pick_device
from .ch08 import kv_cache_mib, online_softmax_step
from .ch09 import attend_with_cache, decoder_mask

CHAPTER_MODULES = (ch00, ch01, ch02, ch03, ch04, ch05, ch06_1, ch06_2, ch06_3, ch06_4, ch07, ch08, ch09)


def exercises(chapter: str | None = None) -> list[Exercise]:
    """Every exercise with a check, in course order; only those of ``chapter`` if given.

    ``chapter`` is a notebook's name ("03_algorithm", "06_1_customer_service") or the start of
    one up to an underscore: "03", "06_1", or "06" for the four notebooks of chapter 6.
    """
    found = sorted(EXERCISES.values(), key=lambda ex: (ex.chapter, ex.number))
    if chapter is None:
        return found
    return [ex for ex in found if ex.chapter == chapter or ex.chapter.startswith(chapter + "_")]


__all__ = [
    "EXERCISES", "Exercise", "alibi_slopes", "answer_from_last", "assert_close", "attend_with_cache",
    "attention_row", "bootstrap_gap", "compute_attention", "count_parameters", "decoder_mask", "drop_items",
    "elman_rnn", "ewma_share", "exercises", "first_input_gradient", "keep_last", "keep_mask",
    "kv_cache_mib", "macro_f1", "mean_pooled_embeddings", "mha_parameters", "my_attention", "next_token_score",
    "online_softmax_step", "pick_device", "pre_ln_block", "rms_norm", "score_matrix_mib", "shuffle_frames",
    "sinusoidal_table", "softmax_backward", "split_heads", "zero_patches",
]
