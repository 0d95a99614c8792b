"""Results over several seeds: a claim about a model is a mean and a spread, never one run.

    acc = ca.over_seeds(lambda seed: train_and_score(seed), seeds=(0, 1, 2))
    print(acc)                  # 0.912 ± 0.006 (3 seeds)
    assert acc.low > baseline   # the worst seed still beats it
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._validate import integer
from .runtime import seed_everything

__all__ = ["Spread", "over_seeds"]


@dataclass(frozen=True)
class Spread:
    """One score measured once per seed: ``values``, their ``mean``, sample standard deviation
    ``std`` (0 for one seed), and the worst and best seed (``low``, ``high``)."""

    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("Spread needs at least one value")
        for v in self.values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"every value of a Spread must be a finite number, got {v!r}")

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)

    @property
    def std(self) -> float:
        n = len(self.values)
        if n == 1:
            return 0.0
        m = self.mean
        return math.sqrt(sum((v - m) ** 2 for v in self.values) / (n - 1))

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def __format__(self, spec: str) -> str:
        spec = spec or ".3f"
        return f"{self.mean:{spec}} ± {self.std:{spec}}"

    def __str__(self) -> str:
        return f"{self:.3f} ({len(self.values)} seeds)"


def over_seeds(run: Callable[[int], float | dict[str, float]], seeds: Sequence[int] = (0, 1, 2)
               ) -> Spread | dict[str, Spread]:
    """Call ``run(seed)`` once per seed, after :func:`~course_attn.seed_everything` ``(seed)``.

    ``run`` returns a number (→ one :class:`Spread`) or a dict of numbers with the same keys every
    time (→ ``{key: Spread}``), e.g. ``{"val": ..., "test": ...}``.
    """
    if not callable(run):
        raise TypeError(f"run must be a function seed -> score, got {type(run).__name__}")
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or not seeds:
        raise ValueError(f"seeds must be a non-empty sequence of ints, got {seeds!r}")
    seeds = [integer(f"seeds[{i}]", s) for i, s in enumerate(seeds)]
    results = []
    for seed in seeds:
        seed_everything(seed)
        results.append(run(seed))
    if all(isinstance(r, dict) for r in results):
        keys = list(results[0])
        for seed, r in zip(seeds, results):
            if list(r) != keys:
                raise ValueError(f"run({seed}) returned keys {list(r)}, run({seeds[0]}) returned {keys}")
        return {k: Spread(tuple(float(r[k]) for r in results)) for k in keys}
    if any(isinstance(r, dict) for r in results):
        raise TypeError("run must return a number every time or a dict every time, not both")
    for seed, r in zip(seeds, results):
        if isinstance(r, bool) or not isinstance(r, (int, float)) and not hasattr(r, "__float__"):
            raise TypeError(f"run({seed}) must return a number or a dict of numbers, got {type(r).__name__}")
    return Spread(tuple(float(r) for r in results))
