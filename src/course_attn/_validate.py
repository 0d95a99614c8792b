"""The package's argument checks, written once (private).

Each check raises ``TypeError`` when the argument has the wrong type and ``ValueError`` when it has
the right type but a wrong value, with a message that names the argument, what it got and what was
expected. Each returns the value, normalized (``int``, ``float``, ``bool``), so that a caller can write
``n = integer("n", n, minimum=1)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection

import torch
from torch import Tensor


def integer(name: str, value, *, minimum: int | None = None) -> int:
    """``value`` as an ``int``: an integer (Python or a 0-d integer tensor), not a bool, ``>= minimum``."""
    if isinstance(value, Tensor) and value.dim() == 0 and not value.dtype.is_floating_point and value.dtype != torch.bool:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        expected = _int_words(minimum)
        raise TypeError(f"{name} must be {expected}, got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be {_int_words(minimum)}, got {value}")
    return value


def _int_words(minimum: int | None) -> str:
    if minimum == 1:
        return "a positive int"
    if minimum == 0:
        return "a non-negative int"
    return "an int" if minimum is None else f"an int >= {minimum}"


def flag(name: str, value) -> bool:
    """``value`` if it is a real ``bool``: ``causal="no"`` or ``1`` is an error, not a truthy value."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return value


def number(name: str, value, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite ``float`` (not a bool) in the interval ``[low, high]``.

    ``low_open`` / ``high_open`` exclude an end; a missing end is unbounded. NaN and ±inf are refused.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    inside = math.isfinite(value)
    if low is not None:
        inside = inside and (value > low if low_open else value >= low)
    if high is not None:
        inside = inside and (value < high if high_open else value <= high)
    if not inside:
        left = "-inf" if low is None else f"{low:g}"
        right = "inf" if high is None else f"{high:g}"
        interval = ("(" if low_open or low is None else "[") + f"{left}, {right}" + (")" if high_open or high is None else "]")
        raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")
    return value


def one_of(name: str, value, choices: Collection):
    """``value`` if it is one of ``choices``."""
    if not any(value is c or (type(value) is type(c) and value == c) for c in choices):
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def tensor(name: str, value, *, dims: int | tuple[int, ...] | None = None, kind: str | None = None,
           shape: str = "") -> Tensor:
    """``value`` if it is a tensor with ``dims`` dimensions (one count or several) of dtype ``kind``.

    ``kind`` is ``"float"``, ``"int"`` (integers, not bool), ``"bool"`` or ``"bool_or_int"``; ``shape``
    is the expected layout for the message, e.g. ``"(B, L)"``.
    """
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor{' ' + shape if shape else ''}, got {type(value).__name__}")
    if dims is not None:
        allowed = (dims,) if isinstance(dims, int) else tuple(dims)
        if value.dim() not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {want}{' ' + shape if shape else ''}, got shape {tuple(value.shape)}")
    if kind is not None and not _KINDS[kind](value.dtype):
        raise TypeError(f"{name} must hold {_KIND_WORDS[kind]}, got dtype {value.dtype}")
    return value


def torch_device(name: str, value) -> torch.device:
    """``value`` as a ``torch.device`` this machine has: a device, or a name such as ``"cpu"`` or ``"cuda:1"``."""
    expected = "a torch.device or a device name such as 'cpu' or 'cuda'"
    if not isinstance(value, (str, torch.device)):
        raise TypeError(f"{name} must be {expected}, got {value!r} ({type(value).__name__})")
    try:
        device = torch.device(value)
    except RuntimeError:
        raise ValueError(f"{name} must be {expected}, got {value!r}") from None
    if device.type in _ACCELERATORS and not _ACCELERATORS[device.type]():
        raise ValueError(f"{name} is {str(device)!r} but this machine has no {device.type.upper()} device; "
                         "course_attn.device() picks the best one it has")
    return device


_ACCELERATORS = {"cuda": torch.cuda.is_available, "mps": torch.backends.mps.is_available}


def _is_int(dtype: torch.dtype) -> bool:
    return not dtype.is_floating_point and not dtype.is_complex and dtype != torch.bool


_KINDS = {
    "float": lambda d: d.is_floating_point,
    "int": _is_int,
    "bool": lambda d: d == torch.bool,
    "bool_or_int": lambda d: d == torch.bool or _is_int(d),
}
_KIND_WORDS = {
    "float": "floating-point values", "int": "integers", "bool": "booleans",
    "bool_or_int": "booleans or 0/1 integers",
}

