import pytest
import torch
import torch.nn.functional as F

from course_attn import masks
from conftest import reference_causal


@pytest.mark.parametrize("L", [1, 2, 7])
def test_causal_mask_square_is_lower_triangle(L):
    assert torch.equal(masks.causal_mask(L), torch.ones(L, L).tril().bool())


@pytest.mark.parametrize("L,S", [(1, 5), (3, 7), (5, 3), (4, 4)])
def test_causal_mask_is_bottom_right_aligned(L, S):
    expected = torch.tensor([[j <= i + (S - L) for j in range(S)] for i in range(L)])
    got = masks.causal_mask(L, S)
    assert torch.equal(got, expected)
    assert torch.equal(got, reference_causal(L, S))
    if L <= S:
        assert got[-1].all(), "the last query must see every key"


def test_causal_mask_matches_torch_is_causal_when_square():
    q, k, v = torch.randn(3, 2, 6, 4).unbind(0)
    ours = F.scaled_dot_product_attention(q, k, v, attn_mask=masks.causal_mask(6))
    torch_causal = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(ours, torch_causal)


def test_causal_mask_rejects_bad_lengths():
    with pytest.raises(ValueError, match="L must be a non-negative int"):
        masks.causal_mask(-1)
    with pytest.raises(TypeError, match="S must be a non-negative int, got 2.5"):
        masks.causal_mask(3, 2.5)
    with pytest.raises(TypeError, match="L must be a non-negative int, got True"):
        masks.causal_mask(True)


@pytest.mark.parametrize("call,error,message", [
    (lambda: masks.padding_mask([3, 5], 6.0), TypeError, "S must be a non-negative int, got 6.0"),
    (lambda: masks.from_torch([True, False]), TypeError, "the mask given to from_torch.. must be a torch.Tensor, got list"),
    (lambda: masks.to_additive(torch.tensor([True, False]), torch.long), TypeError,
     "to_additive: dtype must be a floating-point torch.dtype .to hold -inf., got torch.int64"),
])
def test_bad_mask_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_padding_mask_marks_real_tokens():
    got = masks.padding_mask([3, 1, 0], 4)
    expected = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]]).bool()
    assert torch.equal(got, expected)
    assert masks.padding_mask(torch.tensor([2, 4])).shape == (2, 4)  # S defaults to the longest


@pytest.mark.parametrize(
    "lengths,S,error,match",
    [
        ([3, 5], 4, ValueError, "S=4 is shorter than the longest length 5"),
        ([2, -1], 4, ValueError, "lengths must be >= 0"),
        ([1.5, 2.0], 4, TypeError, "lengths must be a 1-D sequence of ints"),
        ([[1, 2]], 4, TypeError, "lengths must be a 1-D sequence of ints"),
    ],
)
def test_padding_mask_errors(lengths, S, error, match):
    with pytest.raises(error, match=match):
        masks.padding_mask(lengths, S)


def test_combine_booleans_needs_both_to_allow():
    a = torch.tensor([[True, True, False]])
    b = torch.tensor([[True], [False]])
    assert torch.equal(masks.combine(a, None, b), torch.tensor([[True, True, False], [False, False, False]]))
    assert masks.combine(None, None) is None


def test_combine_bool_and_float_adds_and_blocks():
    allowed = torch.tensor([True, False, True])
    bias = torch.tensor([0.5, 0.25, -1.0])
    got = masks.combine(allowed, bias)
    assert got.dtype == torch.float32
    assert torch.equal(got, torch.tensor([0.5, float("-inf"), -1.0]))
    assert torch.equal(masks.combine(bias, bias), 2 * bias)


def test_combine_errors():
    with pytest.raises(ValueError, match=r"mask shapes \(2,\), \(3,\) do not broadcast"):
        masks.combine(torch.ones(2).bool(), torch.ones(3).bool())
    with pytest.raises(TypeError, match="must be bool .* got dtype torch.int64"):
        masks.combine(torch.ones(2, dtype=torch.long))


def test_to_additive():
    got = masks.to_additive(torch.tensor([True, False]), torch.float16)
    assert got.dtype == torch.float16 and got.tolist() == [0.0, float("-inf")]


def test_torch_convention_round_trip():
    ours = torch.tensor([[True, True, False]])
    assert torch.equal(masks.to_torch(ours), torch.tensor([[False, False, True]]))
    assert torch.equal(masks.from_torch(masks.to_torch(ours)), ours)
    bias = torch.randn(2, 3)
    assert masks.from_torch(bias) is bias
    assert masks.from_torch(None) is None


def brute_force_window(L, S, left, right):
    """FlashAttention's local window, one (query, key) pair at a time: key j is visible from query i
    when i + (S - L) - left <= j <= i + (S - L) + right, a None side being unbounded."""
    rows = []
    for i in range(L):
        p = i + (S - L)  # the query's absolute position (bottom-right alignment)
        rows.append([(left is None or j >= p - left) and (right is None or j <= p + right) for j in range(S)])
    return torch.tensor(rows, dtype=torch.bool).reshape(L, S)


@pytest.mark.parametrize("L,S", [(1, 1), (5, 5), (3, 9), (9, 3), (0, 4), (4, 0), (13, 17)])
@pytest.mark.parametrize("left,right", [(0, 0), (2, 0), (1, 3), (None, 0), (0, None), (4, None), (None, None), (30, 30)])
def test_sliding_window_mask_matches_brute_force(L, S, left, right):
    got = masks.sliding_window_mask(L, S, left=left, right=right)
    assert got.dtype == torch.bool
    assert torch.equal(got, brute_force_window(L, S, left, right))


@pytest.mark.parametrize("L,S", [(6, 6), (3, 8), (8, 3)])
def test_sliding_window_mask_special_cases(L, S):
    assert torch.equal(masks.sliding_window_mask(L, S, left=None), masks.causal_mask(L, S))
    assert masks.sliding_window_mask(L, S, left=None, right=None).all()
    diagonal = masks.sliding_window_mask(L, S, left=0, right=0)  # each query sees only its own position
    assert torch.equal(diagonal, torch.ones(L, S).tril(S - L).triu(S - L).bool())
    assert torch.equal(masks.sliding_window_mask(L, left=1), masks.sliding_window_mask(L, L, left=1))


def test_sliding_window_mask_mistral_window():
    """A causal window of the last w = 3 keys, the query's own included, is left = w - 1."""
    got = masks.sliding_window_mask(5, left=2)
    expected = torch.tensor([
        [1, 0, 0, 0, 0],
        [1, 1, 0, 0, 0],
        [1, 1, 1, 0, 0],
        [0, 1, 1, 1, 0],
        [0, 0, 1, 1, 1],
    ]).bool()
    assert torch.equal(got, expected)
    assert got.sum(dim=-1).max() == 3


@pytest.mark.parametrize(
    "args,kwargs,error,match",
    [
        ((-1,), dict(left=2), ValueError, "L must be a non-negative int, got -1"),
        ((3, 2.5), dict(left=2), TypeError, r"S must be a non-negative int, got 2.5"),
        ((3,), dict(left=-1), ValueError, "left must be a non-negative int, got -1"),
        ((3,), dict(left=1, right=-2), ValueError, "right must be a non-negative int, got -2"),
        ((3,), dict(left=True), TypeError, "left must be a non-negative int, got True"),
        ((3,), dict(left=1.0), TypeError, "left must be a non-negative int"),
    ],
)
def test_sliding_window_mask_errors(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        masks.sliding_window_mask(*args, **kwargs)


def test_sliding_window_mask_needs_left():
    with pytest.raises(TypeError, match="left"):
        masks.sliding_window_mask(4)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8])
def test_to_additive_rejects_integer_masks(dtype):
    """A 0/1 integer mask would become biases of 0 and 1, blocking nothing."""
    with pytest.raises(TypeError, match=rf"must be bool .* got dtype {dtype}; convert a 0/1 mask with mask.bool\(\)"):
        masks.to_additive(torch.tensor([1, 0], dtype=dtype))


def test_to_additive_casts_float_masks():
    bias = torch.tensor([0.5, float("-inf")], dtype=torch.float64)
    got = masks.to_additive(bias, torch.float16)
    assert got.dtype == torch.float16 and got.tolist() == [0.5, float("-inf")]
