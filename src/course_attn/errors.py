"""Show an error on the page without stopping "Run all".

A chapter that runs broken code on purpose (the source article's code, a wrong shape) must not stop
a notebook's "Run all" at that cell: every later cell would never run. :class:`show_error` runs a
block, prints the error the way Python would (the last frames and the message) and lets the notebook
go on; with ``expect=`` it is also a check that the block fails, and fails the way we say::

    with ca.show_error(expect=ValueError) as shown:
        model(torch.tensor([0, 1, 2, 3]))        # 1-D input ids
    shown.error                                  # the ValueError, to assert on
"""

from __future__ import annotations

import sys
import textwrap
import traceback
from collections.abc import Callable

__all__ = ["show_error", "error_of", "describe"]


def describe(err: BaseException | None, width: int = 72) -> str:
    """An exception as ``'Type: message'``, wrapped at ``width`` characters; ``'no error'`` for None."""
    if err is None:
        return "no error"
    if not isinstance(err, BaseException):
        raise TypeError(f"err must be an exception or None, got {type(err).__name__}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 20:
        raise ValueError(f"width must be an int >= 20, got {width!r}")
    return textwrap.fill(f"{type(err).__name__}: {err}", width, subsequent_indent="    ")


def error_of(fn: Callable[..., object], *args, **kwargs) -> Exception | None:
    """Call ``fn(*args, **kwargs)`` and return the exception it raises, or None if it returns."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    try:
        fn(*args, **kwargs)
    except Exception as err:  # we want to look at it, not stop
        return err
    return None


class show_error:
    """Context manager: run the block; if it raises, print the error and carry on.

    ``expect``: an exception type (or tuple of types) the block must raise. If it raises nothing,
    ``AssertionError`` says so; if it raises another type, that error propagates unchanged. Without
    ``expect`` any ``Exception`` is shown (``KeyboardInterrupt`` always stops).
    ``frames``: how many of the innermost stack frames to print (the line of the block that failed
    is always printed too). After the block, ``.error`` holds the exception (None if none).
    """

    def __init__(self, expect: type[BaseException] | tuple[type[BaseException], ...] = Exception, *,
                 frames: int = 2, file=None):
        types = expect if isinstance(expect, tuple) else (expect,)
        if not types or not all(isinstance(t, type) and issubclass(t, Exception) for t in types):
            raise TypeError(f"expect must be an Exception subclass or a tuple of them, got {expect!r}")
        if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
            raise ValueError(f"frames must be a positive int, got {frames!r}")
        self.expect, self.frames, self.file = types, frames, file
        self.error: BaseException | None = None

    def __enter__(self) -> show_error:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None:
            names = " or ".join(t.__name__ for t in self.expect)
            raise AssertionError(f"the block was expected to raise {names}, but it ran without error")
        if not isinstance(exc, self.expect):
            return False  # not what we said would happen: let it stop the cell
        self.error = exc
        stack = traceback.extract_tb(tb)
        shown = stack[-self.frames:]
        if len(stack) > self.frames:
            shown = [stack[0]] + shown  # the line of the block itself
        lines = ["Traceback (innermost frames; the notebook goes on):\n"]
        for i, frame in enumerate(shown):
            if i == 1 and len(stack) > self.frames:
                lines.append(f"  ... {len(stack) - self.frames - 1} more frames ...\n")
            lines.extend(traceback.format_list([frame]))
        lines.extend(traceback.format_exception_only(exc_type, exc))
        print("".join(lines).rstrip(), file=self.file if self.file is not None else sys.stdout)
        return True  # suppressed: the next cell runs
