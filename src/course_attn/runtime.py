"""Where and how reproducibly the course runs: device choice and seeding."""

from __future__ import annotations

import random

import numpy as np
import torch

from ._validate import integer

__all__ = ["device", "seed_everything"]


def device() -> torch.device:
    """The best available device: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices) so that every run prints the same numbers.

    Returns a ``torch.Generator`` seeded with ``seed`` for code that wants its own stream.
    """
    seed = integer("seed", seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds CUDA and MPS
    return torch.Generator().manual_seed(seed)
