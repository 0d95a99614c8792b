import pytest
import torch

import course_attn as ca
from course_attn.interpret import occlusion


def test_removes_the_k_highest_allowed_positions_and_as_many_random_ones():
    importance = torch.tensor([[0.1, 0.5, 0.3, 0.9],
                               [0.4, 0.2, 0.8, 0.6]])
    allowed = torch.tensor([[True, True, True, False],   # position 3 may not go, though highest
                            [True, True, False, True]])
    seen = []

    def score(keep):
        seen.append(keep.clone())
        return keep.float().mean()

    out = occlusion(score, importance, k=2, allowed=allowed, repeats=4, seed=1)
    full, top, *random = seen
    assert full.all()
    assert top.tolist() == [[True, False, False, True], [False, True, True, False]]
    for keep in random:
        assert (keep | allowed).all(), "only allowed positions are removed"
        assert ((~keep).sum(dim=1) == 2).all(), "k per row, as in the top arm"
    assert out.full == 1.0 and out.top == 0.5 and out.random.values == (0.5,) * 4 and out.k == 2


def test_a_model_that_uses_what_it_attends_to_loses_more_from_top_removal():
    # the "model" is right on an example only if it keeps position 0; importance points at 0
    N, T = 200, 10
    importance = torch.rand(N, T)
    importance[:, 0] = 2.0
    out = occlusion(lambda keep: keep[:, 0].float().mean(), importance, k=3, repeats=5)
    assert out.full == 1.0 and out.top == 0.0
    assert 0.6 < out.random.mean < 0.8   # P(position 0 survives 3 random removals of 10) = 0.7


def test_rows_with_fewer_allowed_positions_than_k_lose_them_all():
    allowed = torch.tensor([[True, False, False]])
    out = occlusion(lambda keep: (~keep).sum().float(), torch.rand(1, 3), k=2, allowed=allowed, repeats=2)
    assert out.top == 1.0 and out.random.values == (1.0, 1.0)


def test_same_seed_same_random_draws():
    imp = torch.rand(5, 8)
    a = occlusion(lambda keep: keep[:, :4].float().mean(), imp, k=3, seed=7)
    b = occlusion(lambda keep: keep[:, :4].float().mean(), imp, k=3, seed=7)
    assert a.random == b.random


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(score=3), TypeError, "score must be a function"),
    (dict(importance=torch.ones(4)), ValueError, "importance"),
    (dict(importance=torch.tensor([[1.0, float("nan")]])), ValueError, "finite"),
    (dict(k=0), ValueError, "k"),
    (dict(allowed=torch.ones(2, 2)), TypeError, "allowed"),
    (dict(allowed=torch.ones(3, 2, dtype=torch.bool)), ValueError, "shape of importance"),
    (dict(score=lambda keep: float("nan")), ValueError, "finite number"),
    (dict(score=lambda keep: "good"), ValueError, "finite number"),
    (dict(repeats=0), ValueError, "repeats"),
])
def test_bad_inputs(kwargs, error, match):
    args = dict(score=lambda keep: 1.0, importance=torch.rand(2, 2), k=1) | kwargs
    with pytest.raises(error, match=match):
        occlusion(args.pop("score"), args.pop("importance"), args.pop("k"), **args)
