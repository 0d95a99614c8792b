import math
import random

import pytest
import torch

import course_attn as ca


def test_spread_matches_the_sample_statistics():
    s = ca.Spread((0.8, 0.9, 1.0))
    assert s.mean == pytest.approx(0.9)
    assert s.std == pytest.approx(0.1)            # sample std (n - 1)
    assert (s.low, s.high) == (0.8, 1.0)
    assert f"{s:.2f}" == "0.90 ± 0.10"
    assert str(s) == "0.900 ± 0.100 (3 seeds)"
    assert ca.Spread((0.5,)).std == 0.0


def test_over_seeds_seeds_every_generator_before_each_run():
    draws = ca.over_seeds(lambda seed: torch.rand(()).item() + random.random(), seeds=(3, 4, 3))
    assert draws.values[0] == draws.values[2] != draws.values[1]


def test_over_seeds_with_several_scores():
    out = ca.over_seeds(lambda seed: {"val": seed, "test": 2 * seed}, seeds=(1, 2, 3))
    assert out["val"].mean == 2 and out["test"].values == (2.0, 4.0, 6.0)


@pytest.mark.parametrize("run, seeds, error, match", [
    (lambda s: 1.0, (), ValueError, "non-empty"),
    (lambda s: 1.0, "012", ValueError, "sequence of ints"),
    (lambda s: 1.0, (0, 1.5), TypeError, "seeds\\[1\\]"),
    (3, (0,), TypeError, "function seed -> score"),
    (lambda s: "high", (0,), TypeError, "number or a dict"),
    (lambda s: {"a": 1} if s else 1.0, (0, 1), TypeError, "not both"),
    (lambda s: {"a": 1} if s else {"b": 1}, (0, 1), ValueError, "returned keys"),
    (lambda s: math.nan, (0,), ValueError, "finite"),
])
def test_bad_inputs(run, seeds, error, match):
    with pytest.raises(error, match=match):
        ca.over_seeds(run, seeds)
