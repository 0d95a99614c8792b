"""ca.show_error: broken code on a page prints its error and never stops "Run all"."""

import io

import pytest

import course_attn as ca
from course_attn.errors import describe, error_of


def _deep(n):
    if n == 0:
        raise ValueError("not enough values to unpack (expected 2, got 1)")
    _deep(n - 1)


def test_shows_the_error_and_goes_on():
    out = io.StringIO()
    with ca.show_error(ValueError, file=out) as shown:
        _deep(6)
        raise AssertionError("never reached")
    assert isinstance(shown.error, ValueError)
    text = out.getvalue().rstrip()
    assert text.endswith("ValueError: not enough values to unpack (expected 2, got 1)")
    assert "_deep(6)" in text, "the block's own line is printed"
    assert "more frames" in text and text.count('File "') == 3  # first + 2 innermost


def test_code_that_runs_is_a_failed_expectation():
    with pytest.raises(AssertionError, match="expected to raise KeyError, but it ran without error"):
        with ca.show_error(KeyError, file=io.StringIO()):
            pass


def test_another_error_is_not_hidden():
    with pytest.raises(TypeError, match="wrong kind"):
        with ca.show_error(ValueError, file=io.StringIO()):
            raise TypeError("wrong kind")
    with pytest.raises(KeyboardInterrupt):
        with ca.show_error(file=io.StringIO()):
            raise KeyboardInterrupt


def test_tuple_of_types_and_default():
    with ca.show_error((KeyError, IndexError), file=io.StringIO()) as shown:
        [][1]
    assert isinstance(shown.error, IndexError)
    with ca.show_error(file=io.StringIO()) as shown:
        {}["x"]
    assert isinstance(shown.error, KeyError)


def test_bad_arguments():
    with pytest.raises(TypeError, match="expect must be an Exception subclass"):
        ca.show_error("ValueError")
    with pytest.raises(TypeError, match="expect must be an Exception subclass"):
        ca.show_error(KeyboardInterrupt)
    with pytest.raises(ValueError, match="frames must be a positive int"):
        ca.show_error(frames=0)


def test_error_of_and_describe():
    err = error_of(int, "x")
    assert isinstance(err, ValueError)
    assert describe(err).startswith("ValueError: invalid literal for int()")
    assert error_of(int, "3") is None and describe(None) == "no error"
    long = describe(RuntimeError("word " * 40), width=30)
    assert all(len(line) <= 30 for line in long.splitlines()) and long.count("\n") > 3
    with pytest.raises(TypeError, match="fn must be callable"):
        error_of(3)
    with pytest.raises(TypeError, match="err must be an exception"):
        describe("boom")
