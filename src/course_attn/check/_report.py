"""The machinery behind :mod:`course_attn.check`: run an exercise's tests, print a report, raise.

An exercise's checks are one function, decorated with :func:`exercise`, whose positional
parameters receive the student's functions and whose keyword-only parameters are options.
Each test is a ``with test("what it checks"):`` block; the blocks run one after the other,
and a failing block is recorded and skipped over, so the report lists every test::

    @exercise("03_algorithm", 1, "one output row by hand")
    def attention_row(attention_row):
        q, K, V = torch.randn(16), torch.randn(5, 16), torch.randn(5, 3)
        with test("5 keys: agrees with ca.scaled_dot_product_attention"):
            expect_close(attention_row(q, K, V), reference(q, K, V))

Inside the body the student's functions are wrapped: a ``NotImplementedError`` stops the check
with "not implemented yet", any other exception fails the test and names it. Inputs come from
torch's random generator seeded with 0 inside a forked RNG state, so a check prints the same
thing on every run and leaves the notebook's random numbers alone. Warnings raised during a check
are printed with the report (on stdout: nbgrader scores a test cell that writes to stderr 0).
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "EXERCISES", "Exercise", "TestFailure", "exercise", "expect_close", "expect_equal",
    "expect_number", "expect_raises", "expect_tensor", "expect_tuple", "fail", "test",
]

PASS, FAIL = "\u2713", "\u2717"  # ✓ ✗


class TestFailure(AssertionError):
    """A test found a wrong answer; the message says what is wrong."""

    __test__ = False  # not a pytest test class


class _NotImplementedYet(Exception):
    """The student's function still raises ``NotImplementedError``."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of a chapter: where it is and what it is worth.

    ``chapter`` is the notebook's file name without ``.ipynb`` (``"03_algorithm"``); ``number``
    counts the exercises of that chapter from 1; ``points`` is what the autograder gives for it.
    """

    name: str
    chapter: str
    number: int
    title: str
    points: int
    check: Callable[..., None]


EXERCISES: dict[str, Exercise] = {}
_runs: list[_Run] = []  # the check being run (a stack: a check never calls another, but be safe)


def fail(message: str) -> None:
    """End the current test with ``message``."""
    raise TestFailure(message)


# ----------------------------------------------------------------------------- running and reporting


class _Run:
    """What one call of a check found: a list of (test, failure message or None)."""

    def __init__(self, ex: Exercise):
        self.exercise = ex
        self.results: list[tuple[str, str | None]] = []
        self.not_implemented: str | None = None
        self.notes: list[str] = []

    @property
    def failures(self) -> list[tuple[str, str]]:
        return [(name, msg) for name, msg in self.results if msg is not None]

    @property
    def passed(self) -> bool:
        return self.not_implemented is None and not self.failures

    def report(self) -> str:
        ex = self.exercise
        head = f"check.{ex.name} (chapter {_chapter_number(ex.chapter)}, exercise {ex.number}: {ex.title})"
        if self.not_implemented is not None:
            lines = [f"{head}: not implemented yet",
                     f"  {self.not_implemented} still raises NotImplementedError: replace the stub "
                     "with your code, then run this cell again."]
        else:
            n, n_bad = len(self.results), len(self.failures)
            verdict = f"all {n} tests passed" if not n_bad else f"{n - n_bad} of {n} tests passed, {n_bad} FAILED"
            lines = [f"{head}: {verdict}"]
            for name, msg in self.results:
                lines.append(f"  {PASS if msg is None else FAIL} {name}")
                if msg is not None:
                    lines += [f"      {line}" for line in msg.splitlines()]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def summary(self) -> str:
        ex = self.exercise
        if self.not_implemented is not None:
            return f"{ex.name}: not implemented yet"
        name, msg = self.failures[0]
        return (f"{ex.name}: {len(self.failures)} of {len(self.results)} tests failed "
                f"(the report above lists them); first: {name}: {msg}")


class test:  # noqa: N801 -- reads as ``with test("..."):``
    """One test of a check: a ``with`` block whose failure is recorded, not raised."""

    __test__ = False

    def __init__(self, description: str):
        self.description = description

    def __enter__(self) -> test:
        return self

    def __exit__(self, kind, error, tb) -> bool:
        run = _runs[-1]
        if kind is None:
            run.results.append((self.description, None))
            return False
        if issubclass(kind, _NotImplementedYet):
            return False  # stops the whole check
        if issubclass(kind, TestFailure):
            message = str(error)
        elif issubclass(kind, Exception):
            message = f"{kind.__name__} while checking your result: {error}"
        else:
            return False  # KeyboardInterrupt and the like
        run.results.append((self.description, message))
        return True


class _Student:
    """The student's function, calling which turns its exceptions into readable failures."""

    def __init__(self, fn: Callable, name: str):
        self.fn, self.name = fn, name

    def __call__(self, *args, **kwargs):
        try:
            return self.fn(*args, **kwargs)
        except NotImplementedError:
            raise _NotImplementedYet(self.name) from None
        except TestFailure:
            raise
        except Exception as error:  # the student's bug, not ours: name it
            raise TestFailure(f"{self.name} raised {type(error).__name__}: {error}") from None

    def __repr__(self) -> str:
        return self.name


def _chapter_number(chapter: str) -> str:
    """``"03_algorithm"`` → ``"03"``; ``"06_1_customer_service"`` → ``"06.1"``."""
    parts = chapter.split("_")
    return ".".join(p for p in parts[:2] if p.isdigit()) or chapter


def exercise(chapter: str, number: int, title: str, *, points: int = 1):
    """Register the decorated function as the check of exercise ``number`` of ``chapter``.

    The returned function is what students call: ``check.attention_row(attention_row)``. It
    prints the report and raises ``AssertionError`` unless every test passed, so that the same
    call is an nbgrader test cell.
    """

    def decorate(body: Callable[..., None]) -> Callable[..., None]:
        name = body.__name__
        signature = inspect.signature(body)
        wanted = [p.name for p in signature.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

        @functools.wraps(body)
        def check(*functions: Callable, **options) -> None:
            if len(functions) != len(wanted):
                raise TypeError(f"check.{name} takes your function{'s' if len(wanted) > 1 else ''} "
                                f"{', '.join(wanted)}: check.{name}({', '.join(wanted)})")
            for label, fn in zip(wanted, functions, strict=True):
                if not callable(fn):
                    raise AssertionError(f"check.{name}: expected your function {label}, got "
                                         f"{type(fn).__name__} {fn!r:.60}")
            run = _Run(EXERCISES[name])
            students = [_Student(fn, getattr(fn, "__name__", label))
                        for label, fn in zip(wanted, functions, strict=True)]
            _runs.append(run)
            try:
                with torch.random.fork_rng(devices=[]), warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    torch.manual_seed(0)
                    body(*students, **options)
            except _NotImplementedYet as error:
                run.not_implemented = str(error)
            except TestFailure as error:  # a failure outside any ``with test`` block
                run.results.append(("calling your function", str(error)))
            finally:
                _runs.pop()
            run.notes += sorted({f"{w.category.__name__}: {w.message}" for w in caught})
            print(run.report())
            if not run.passed:
                raise AssertionError(run.summary())

        if name in EXERCISES:
            raise ValueError(f"two exercises are called {name!r}")
        EXERCISES[name] = Exercise(name, chapter, number, title, points, check)
        return check

    return decorate


# ----------------------------------------------------------------------------- expectations


def _fmt(index: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, index)) + ("," if len(index) == 1 else "") + ")"


def _what_is(value) -> str:
    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"


def expect_tensor(got, *, shape=None, dtype: torch.dtype | None = None, what: str = "the result") -> Tensor:
    """Fail unless ``got`` is a tensor (of ``shape`` and ``dtype`` when given); return it."""
    if got is None:
        fail(f"{what} is None: did you forget to `return` it?")
    if not isinstance(got, Tensor):
        wanted = f" of shape {tuple(shape)}" if shape is not None else ""
        fail(f"{what} is {_what_is(got)}, expected a tensor{wanted}")
    if shape is not None and tuple(got.shape) != tuple(shape):
        fail(f"{what} has shape {tuple(got.shape)}, expected shape {tuple(shape)}")
    if dtype is not None and got.dtype != dtype:
        fail(f"{what} has dtype {got.dtype}, expected {dtype}")
    return got


def expect_tuple(got, length: int, *, what: str = "the result", names: str = "") -> tuple:
    """Fail unless ``got`` is a tuple or list of ``length`` items (``names`` says which)."""
    if got is None:
        fail(f"{what} is None: did you forget to `return` it?")
    if not isinstance(got, (tuple, list)) or len(got) != length:
        fail(f"{what} is {_what_is(got)}, expected a tuple of {length}{f' {names}' if names else ''}")
    return tuple(got)


def expect_close(got, expected, *, atol: float = 1e-5, rtol: float = 1e-5, what: str = "the result",
                 hints: dict[str, Tensor] | None = None) -> None:
    """Fail unless tensor ``got`` has the shape of ``expected`` and its values within tolerance.

    Wrong values are described by the largest absolute error, where it is and how many entries
    are off. ``hints`` maps a sentence to a typical wrong answer; if ``got`` equals one, the
    sentence is added to the message. Boolean and integer tensors are compared exactly.
    """
    expected = torch.as_tensor(expected)
    got = expect_tensor(got, shape=expected.shape, what=what)
    got_c, exp_c = got.detach().cpu(), expected.detach().cpu()
    exact = not (exp_c.is_floating_point() or exp_c.is_complex())
    if exact and got_c.dtype != exp_c.dtype and (got_c.dtype == torch.bool or exp_c.dtype == torch.bool):
        fail(f"{what} has dtype {got_c.dtype}, expected {exp_c.dtype}")
    if exact:
        bad = got_c != exp_c
        tol = None
    else:
        g, e = got_c.to(torch.float64), exp_c.to(torch.float64)
        broken = ~torch.isfinite(g) & torch.isfinite(e)
        if broken.any():
            index = tuple(int(i) for i in broken.nonzero()[0])
            fail(f"{what} holds {g[index].item()} at index {_fmt(index)} where {e[index].item():.6g} was expected "
                 f"({int(broken.sum())} of {g.numel()} entries are NaN or inf); did something overflow?")
        err = (g - e).abs().nan_to_num(0.0)
        tol = atol + rtol * e.abs()
        bad = err > tol
    if not bad.any():
        return
    if exact:
        index = tuple(int(i) for i in bad.nonzero()[0])
        message = (f"{what} differs in {int(bad.sum())} of {bad.numel()} entries; first at index {_fmt(index)}: "
                   f"got {got_c[index].item()}, expected {exp_c[index].item()}")
    else:
        index = tuple(int(i) for i in torch.unravel_index(err.argmax(), err.shape))
        message = (f"wrong values in {what}: max abs error {err.max().item():.3g} at index {_fmt(index)} "
                   f"(got {g[index].item():.6g}, expected {e[index].item():.6g}); "
                   f"{int(bad.sum())} of {bad.numel()} entries "
                   + ("differ" if atol == rtol == 0 else f"off by more than {atol:g} + {rtol:g}·|expected|"))
    for sentence, wrong in (hints or {}).items():
        wrong = torch.as_tensor(wrong).detach().cpu()
        if wrong.shape == got_c.shape and torch.allclose(got_c.to(wrong.dtype), wrong, atol=atol, rtol=rtol):
            message += f"\nhint: {sentence}"
            break
    fail(message)


def expect_number(got, expected: float, *, rel_tol: float = 1e-9, abs_tol: float = 0.0,
                  what: str = "the result") -> None:
    """Fail unless ``got`` is a real Python number close to ``expected``."""
    if got is None:
        fail(f"{what} is None: did you forget to `return` it?")
    if isinstance(got, Tensor):
        fail(f"{what} is a tensor, expected a Python number: use `.item()`")
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        fail(f"{what} is {_what_is(got)}, expected a number")
    if not math.isclose(float(got), expected, rel_tol=rel_tol, abs_tol=abs_tol):
        relative = abs(float(got) - expected) / max(abs(expected), 1e-300)
        fail(f"{what} is {got!r}, expected {expected!r} (relative error {relative:.2g})")


def expect_equal(got, expected, *, what: str = "the result") -> None:
    """Fail unless ``got == expected`` (ints, devices, strings...)."""
    if got is None and expected is not None:
        fail(f"{what} is None: did you forget to `return` it?")
    if got != expected:
        fail(f"{what} is {got!r}, expected {expected!r}")


def expect_raises(kind: type[Exception], fn: Callable, *args, what: str = "", **kwargs) -> None:
    """Fail unless calling the student's ``fn(*args)`` raises ``kind``."""
    raw = fn.fn if isinstance(fn, _Student) else fn
    name = getattr(fn, "name", getattr(fn, "__name__", "the function"))
    call = what or f"{name}({', '.join(map(repr, args))})"
    try:
        raw(*args, **kwargs)
    except kind:
        return
    except NotImplementedError:
        raise _NotImplementedYet(name) from None
    except Exception as error:
        fail(f"{call} raised {type(error).__name__} ({error}), expected {kind.__name__}")
    fail(f"{call} returned without raising {kind.__name__}")
