"""Argument checks and seeding shared by the data generators (private)."""

from __future__ import annotations

import torch


def check_int(name: str, value, minimum: int) -> None:
    """Raise unless ``value`` is an int (not a bool) that is at least ``minimum``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def check_number(name: str, value) -> float:
    """Return ``value`` as a float; raise unless it is an int or a float (not a bool)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    return float(value)


def check_fraction(name: str, value, *, low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a float in [0, 1] (ends excluded where ``low_open``/``high_open``)."""
    value = check_number(name, value)
    above = value > 0.0 if low_open else value >= 0.0
    below = value < 1.0 if high_open else value <= 1.0
    if not (above and below):
        interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return value


def as_generator(generator: torch.Generator | int) -> torch.Generator:
    """A ``torch.Generator`` as given, or a fresh one seeded with the int ``generator``."""
    if isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, int) and not isinstance(generator, bool):
        return torch.Generator().manual_seed(generator)
    raise TypeError(f"generator must be a torch.Generator or an int seed, got {type(generator).__name__}")
