"""course_attn.check: every chapter's solutions pass their checks, typical wrong answers fail them.

The solutions are read from the chapter notebooks themselves (the code between `# BEGIN SOLUTION`
and `# END SOLUTION`), so a check and its notebook cannot drift apart. Each wrong answer must fail
with the message a student needs: "not implemented yet", "None", both shapes, the largest error.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
import torch

from course_attn import check
from course_attn.check._report import TestFailure, expect_close, expect_number

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import assignments  # noqa: E402  (imports nbgrader only when it grades)



# What a chapter's solution cells find in the notebook: its imports and constants.
PRELUDE = """
import math
import re
import torch
import torch.nn.functional as F
from torch import nn
import course_attn as ca
from course_attn import positional as pos
NUM_KEYS, NUM_VALUES = 32, 4
"""
# Options that a test cell passes to its check, matching PRELUDE.
OPTIONS = {
    "answer_from_last": dict(num_keys=32, num_values=4),
}
CHAPTERS = sorted({ex.chapter for ex in check.exercises()})


def notebook_exercises():
    """(chapter, assignments.Exercise, notebook) for every exercise of the chapters with checks."""
    found = []
    for chapter in CHAPTERS:
        nb = nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", as_version=4)
        found += [(chapter, ex, nb) for ex in assignments.find_exercises(nb)]
    return found


EXERCISES = {ex.name: (chapter, ex, nb) for chapter, ex, nb in notebook_exercises()}


def solution_functions(name: str, replace: str | None = None) -> list:
    """The exercise's functions as the notebook defines them; ``replace`` swaps the solution regions."""
    _, ex, nb = EXERCISES[name]
    namespace: dict = {}
    exec(PRELUDE, namespace)
    for i in ex.solution_cells:
        source = nb.cells[i].source
        if replace is not None:
            source = re.sub(r"( *)# BEGIN SOLUTION\n.*?# END SOLUTION", lambda m: m.group(1) + replace,
                            source, flags=re.DOTALL)
        exec(compile(source, f"<{name} solution>", "exec"), namespace)
    return [namespace[f] for f in ex.functions]


def run_check(name: str, functions, capsys) -> tuple[str | None, str]:
    """Run ``check.<name>``; return (the AssertionError's message or None, what it printed)."""
    try:
        getattr(check, name)(*functions, **OPTIONS.get(name, {}))
    except AssertionError as error:
        return str(error), capsys.readouterr().out
    return None, capsys.readouterr().out


# ----------------------------------------------------------------------------- the notebooks and the registry


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_exercise_of_a_chapter_has_a_check_that_its_test_cell_calls(chapter):
    nb = nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", as_version=4)
    found = assignments.find_exercises(nb)
    assert [ex.name for ex in found] == [ex.name for ex in check.exercises(chapter)]
    for ex in found:
        registered = check.EXERCISES[ex.name]
        assert registered.number == ex.number, f"{ex.name}: exercise {ex.number} in the notebook"
        test_cell = nb.cells[ex.test_cell].source
        assert "from course_attn import check" in test_cell
        assert f"check.{ex.name}({', '.join(ex.functions)}" in test_cell


def test_exercises_lists_each_exercise_once_in_course_order():
    listed = check.exercises()
    assert len(listed) == len({ex.name for ex in listed}) == 30
    assert [ex.name for ex in check.exercises("03")] == ["attention_row", "score_matrix_mib", "mha_parameters"]
    assert check.exercises("03") == check.exercises("03_algorithm")
    assert [ex.name for ex in check.exercises("06_1")] == ["macro_f1", "keep_mask"]
    assert check.exercises("06_1") == check.exercises("06_1_customer_service")
    assert len(check.exercises("06")) == 8


# ----------------------------------------------------------------------------- solutions pass


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_the_notebook_solution_passes_its_check(name, capsys):
    error, out = run_check(name, solution_functions(name), capsys)
    assert error is None, out
    assert re.search(r"all \d+ tests passed", out) and "\u2717" not in out


def test_a_check_leaves_the_random_numbers_of_the_notebook_alone(capsys):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check.my_attention(*solution_functions("my_attention"))
    assert torch.equal(torch.rand(3), expected)


# ----------------------------------------------------------------------------- wrong answers fail, helpfully


def _first_tensor_index(result) -> int | None:
    return next((i for i, x in enumerate(result) if isinstance(x, torch.Tensor)), None)


def perturb(result, kind: str):
    """A wrong version of a correct result: ``wrong_shape`` or ``slightly_wrong``."""
    if isinstance(result, tuple):
        i = _first_tensor_index(result)
        return (*result[:i], perturb(result[i], kind), *result[i + 1:])
    if isinstance(result, torch.Tensor):
        if kind == "wrong_shape":
            return result.unsqueeze(0)
        wrong = result.clone()
        if wrong.dtype == torch.bool:
            wrong.view(-1)[-1] = ~wrong.view(-1)[-1]
        elif not wrong.is_floating_point():
            wrong.view(-1)[0] += 1
        else:
            wrong = wrong + 1e-3 * (1 + wrong.abs())
        return wrong
    if result is None:  # a legitimate answer ("no such pattern"): leave it
        return None
    if isinstance(result, str):
        return [result] if kind == "wrong_shape" else result[:-1]
    if isinstance(result, list):
        return result[:-1] if kind == "wrong_shape" else [result[0] * 1.001, *result[1:]]
    if isinstance(result, int):
        return [result] if kind == "wrong_shape" else result + 1
    return [result] if kind == "wrong_shape" else result * 1.001


def wrong_functions(name: str, kind: str) -> list:
    """The solution functions with the first one's result made wrong."""
    first, *rest = solution_functions(name)

    def wrong(*args, **kwargs):
        return perturb(first(*args, **kwargs), kind)

    wrong.__name__ = first.__name__
    return [wrong, *rest]


def expected_message(name: str, kind: str) -> str:
    """A regular expression the failure message must match."""
    if kind == "not_implemented":
        return "not implemented yet"
    if kind == "return_none":
        return r"is None: did you forget to `return`"
    result = {  # what a correct first function returns, by exercise
        "answer_from_last": "long", "decoder_mask": "bool", "first_input_gradient": "number",
        "score_matrix_mib": "number", "mha_parameters": "number", "count_parameters": "number",
        "kv_cache_mib": "number", "alibi_slopes": "list", "macro_f1": "number",
        "keep_mask": "bool", "keep_last": "bool", "drop_items": "long",
    }.get(name, "float")
    if kind == "wrong_shape":
        return {"number": r"is a list, expected a number", "list": r"got \d+ slopes for \d+ heads",
                "text": r"is a list, expected a str or None", "flag": r"is a list, expected 0 or 1"}.get(
            result, r"has shape \([\d, ]+\), expected shape \([\d, ]+\)")
    return {"number": r"relative error", "long": r"differs in \d+ of \d+ entries", "bool": r"differs in \d+ of",
            "text": r"is '.+', expected '.+'", "flag": r"is \d, expected (0 or 1|\d)",
            }.get(result, r"max abs error [\d.e-]+ at index \(")


@pytest.mark.parametrize("kind", ["not_implemented", "return_none", "wrong_shape", "slightly_wrong"])
@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_a_wrong_answer_fails_its_check_with_a_helpful_message(name, kind, capsys):
    if kind == "not_implemented":
        functions = solution_functions(name, replace="raise NotImplementedError()")
    elif kind == "return_none":
        functions = solution_functions(name, replace="return None")
    else:
        functions = wrong_functions(name, kind)
    error, out = run_check(name, functions, capsys)
    assert error is not None, f"the check passed a {kind} answer:\n{out}"
    assert error.startswith(f"{name}: ")
    assert re.search(expected_message(name, kind), error), f"{error}\n{out}"
    assert re.search(expected_message(name, kind), out), out


def test_a_report_lists_every_test_and_what_failed(capsys):
    def halfway(q, k, v):  # right for one key only
        return v.mean(0).expand(q.shape[0], v.shape[-1])

    error, out = run_check("my_attention", [halfway], capsys)
    lines = out.splitlines()
    assert lines[0] == (
        "check.my_attention (chapter 00, exercise 1: the attention formula): 2 of 5 tests passed, 3 FAILED")
    assert sum(line.lstrip().startswith("\u2713") for line in lines) == 2  # one key; one query and one key
    assert sum(line.lstrip().startswith("\u2717") for line in lines) == 3
    assert "3 of 5 tests failed" in error


def test_the_header_names_the_section_of_an_applications_chapter(capsys):
    def stub(text):
        raise NotImplementedError

    _, out = run_check("macro_f1", [stub], capsys)
    assert out.startswith("check.macro_f1 (chapter 06.1, exercise 1: "), out


def test_an_exception_in_the_students_code_is_named(capsys):
    def broken(q, k, v):
        return q @ v  # (L, d) @ (S, d_v): the inner sizes differ

    error, out = run_check("my_attention", [broken], capsys)
    assert "broken raised RuntimeError: mat1 and mat2 shapes cannot be multiplied" in out
    assert "broken raised RuntimeError" in error


def test_hints_name_the_typical_mistake(capsys):
    def view_only(x, num_heads):
        B, L, d = x.shape
        return x.view(B, num_heads, L, d // num_heads)

    _, merge = solution_functions("split_heads")
    _, out = run_check("split_heads", [view_only, merge], capsys)
    assert "hint: this is x.view(B, H, L, d_h)" in out

    def without_scale(q, k, v):
        return (q @ k.T).softmax(-1) @ v

    _, out = run_check("my_attention", [without_scale], capsys)
    assert "hint: the scores must be divided by sqrt(d)" in out


def test_a_check_needs_a_function_per_argument():
    with pytest.raises(TypeError, match=r"check.split_heads\(split_heads, merge_heads\)"):
        check.split_heads(lambda x, h: x)
    with pytest.raises(AssertionError, match="expected your function attention_row, got NoneType"):
        check.attention_row(None)


def test_warnings_are_reported_on_stdout_not_stderr(capsys):
    import warnings

    (solution,) = solution_functions("my_attention")

    def noisy(q, k, v):
        warnings.warn("a warning from the student's code", stacklevel=2)
        return solution(q, k, v)

    check.my_attention(noisy)
    captured = capsys.readouterr()
    assert "note: UserWarning: a warning from the student's code" in captured.out
    assert captured.err == ""  # nbgrader scores a test cell that writes to stderr 0


# ----------------------------------------------------------------------------- the comparisons themselves


def test_assert_close_names_both_shapes_and_the_largest_error():
    with pytest.raises(AssertionError, match=r"has shape \(2, 3\), expected shape \(3, 2\)"):
        check.assert_close(torch.zeros(2, 3), torch.zeros(3, 2))
    wrong = torch.zeros(2, 3)
    wrong[1, 2] = 0.5
    with pytest.raises(TestFailure, match=r"max abs error 0.5 at index \(1, 2\) \(got 0.5, expected 0\)"):
        expect_close(wrong, torch.zeros(2, 3))
    with pytest.raises(TestFailure, match=r"holds nan at index \(0,\)"):
        expect_close(torch.tensor([float("nan"), 1.0]), torch.tensor([0.0, 1.0]))
    with pytest.raises(TestFailure, match="dtype torch.int64, expected torch.bool"):
        expect_close(torch.tensor([1, 0]), torch.tensor([True, False]))
    with pytest.raises(TestFailure, match="use `.item\\(\\)`"):
        expect_number(torch.tensor(1.0), 1.0)
    expect_close(torch.ones(3) + 1e-7, torch.ones(3))


# ----------------------------------------------------------------------------- chapter 6: the typical mistakes


def variant(name: str, old: str, new: str) -> list:
    """The exercise's functions from its notebook solution with ``old`` replaced by ``new``."""
    _, ex, nb = EXERCISES[name]
    namespace: dict = {}
    exec(PRELUDE, namespace)
    for i in ex.solution_cells:
        source = nb.cells[i].source
        assert old in source, f"the solution of {name} no longer has {old!r}"
        exec(compile(source.replace(old, new), f"<{name} variant>", "exec"), namespace)
    return [namespace[f] for f in ex.functions]


MISTAKES = [  # (exercise, old, new: a typical mistake in the notebook's solution, what the report says)
    ("macro_f1", "torch.cat([pred, truth]).unique()", "truth.unique()", "hint: a class that occurs only in the"),
    ("macro_f1", "torch.cat([pred, truth]).unique()", "pred.unique()", "hint: a class that the model never predicts"),
    ("macro_f1", "return sum(scores) / len(scores)", "return (pred == truth).float().mean().item()",
     "hint: that is the accuracy"),
    ("keep_mask", "return ~removed", "return removed", "hint: True means kept"),
    ("keep_mask", "ranked = importance.masked_fill", "ranked = (-importance).masked_fill",
     "hint: remove the most important"),
    ("keep_mask", 'ranked = importance.masked_fill(~allowed, float("-inf"))', "ranked = importance",
     "hint: rank only the allowed positions"),
    ("ewma_share", "    for d in", "    alpha = 1 - alpha\n    for d in", "hint: alpha weighs the new day"),
    ("ewma_share", "num, den = neg.clone(), n.clone()", "num, den = alpha * neg, alpha * n",
     "hint: start from the first day's counts"),
    ("ewma_share", "num / den.clamp(min=1e-9)", "num / den", "holds NaN on the days before the first headline"),
    ("bootstrap_gap", "correct_b[idx].float()", "correct_b[torch.randint(0, n, (reps, n), generator=generator)].float()",
     "hint: resample the examples, not the models separately"),
    ("bootstrap_gap", "idx = torch.randint(0, n, (reps, n), generator=generator)",
     "idx = torch.stack([torch.randperm(n, generator=generator) for _ in range(reps)])",
     "hint: draw with replacement"),
    ("bootstrap_gap", "return correct_a[idx].float().mean(1) - correct_b[idx].float().mean(1)",
     "return correct_b[idx].float().mean(1) - correct_a[idx].float().mean(1)", "hint: A minus B"),
    ("keep_last", "return key_mask & recent", "return recent.expand_as(key_mask)", "hint: keep only real items"),
    ("keep_last", "return key_mask & recent",
     "return key_mask & (key_mask.cumsum(1) <= k)", "hint: the most recent items are the last ones"),
    ("drop_items", "return input_ids.gather(1, order).masked_fill(~new_mask, 0), new_mask",
     "return input_ids.masked_fill(~keep, 0), keep", "hint: the result must be left-padded again"),
    ("drop_items", ".masked_fill(~new_mask, 0), new_mask", ", new_mask", "hint: put 0 in the padding positions"),
    ("shuffle_frames", "torch.rand(B, T, generator=generator)", "torch.rand(1, T, generator=generator).expand(B, T)",
     "every series got the same order"),
    ("shuffle_frames", "torch.rand(B, T, generator=generator)", "torch.rand(B, T)",
     "draw the random numbers with generator=generator"),
    ("shuffle_frames", "return frames[torch.arange(B)[:, None], order]",
     "return frames.gather(1, torch.rand(frames.shape, generator=generator).argsort(1))",
     "some output frame is not a frame of the same series"),
    ("shuffle_frames", "return frames[torch.arange(B)[:, None], order]",
     "return torch.stack([s.roll(int(o[0]) + 1, 0) for s, o in zip(frames, order)])",
     "a shift such as torch.roll keeps the order"),
    ("zero_patches", "grid = keep.reshape(B, H // patch, W // patch)",
     "grid = keep.reshape(B, W // patch, H // patch).transpose(1, 2)", "hint: patches are numbered row by row"),
    ("zero_patches", "return images * pixels", "return images * ~pixels",
     "hint: keep is True for the patches that stay"),
    ("zero_patches", "grid = keep.reshape(B, H // patch, W // patch)",
     "grid = keep[:1].expand(B, -1).reshape(B, H // patch, W // patch)", "hint: each image has its own keep row"),
    ("zero_patches", "return images * pixels", "images *= pixels\n    return images",
     "zero_patches changed its input images"),
]


@pytest.mark.parametrize("name, old, new, message", MISTAKES, ids=[f"{m[0]}-{i}" for i, m in enumerate(MISTAKES)])
def test_a_typical_mistake_of_chapter_6_fails_with_its_hint(name, old, new, message, capsys):
    error, out = run_check(name, variant(name, old, new), capsys)
    assert error is not None, f"the check passed the mistake:\n{out}"
    assert message in out, out
