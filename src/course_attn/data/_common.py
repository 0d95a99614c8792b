"""Seeding shared by the data generators (private)."""

from __future__ import annotations

import torch


def as_generator(generator: torch.Generator | int) -> torch.Generator:
    """A ``torch.Generator`` as given, or a fresh one seeded with the int ``generator``."""
    if isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, int) and not isinstance(generator, bool):
        return torch.Generator().manual_seed(generator)
    raise TypeError(f"generator must be a torch.Generator or an int seed, got {type(generator).__name__}")
