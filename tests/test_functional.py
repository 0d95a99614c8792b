"""course_attn.scaled_dot_product_attention against F.scaled_dot_product_attention."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import course_attn as ca
from conftest import FP32, reference_causal

MASK_KINDS = ["none", "bool", "float", "padding", "causal", "bool+causal", "float+causal"]


def make_case(B, H, L, S, E, Ev, kind, dtype=torch.float32):
    """Random q, k, v, a course_attn mask + causal flag, and the same mask for torch (True = may attend)."""
    q, k, v = torch.randn(B, H, L, E, dtype=dtype), torch.randn(B, H, S, E, dtype=dtype), torch.randn(B, H, S, Ev, dtype=dtype)
    mask, causal, allowed, bias = None, "causal" in kind, torch.ones(B, H, L, S, dtype=torch.bool), None
    if kind.startswith("bool"):
        mask = torch.rand(B, 1, L, S) > 0.3
        allowed = allowed & mask
    elif kind.startswith("float"):
        bias = torch.randn(1, H, L, S)
        bias[..., :, S // 2] = float("-inf")  # a blocked column, as an additive mask
        mask = bias
        allowed = allowed & torch.isfinite(bias)
    elif kind == "padding":
        lengths = torch.randint(0, S + 1, (B,))
        mask = ca.masks.padding_mask(lengths, S)[:, None, None, :]  # (B, 1, 1, S)
        allowed = allowed & mask
    if causal:
        allowed = allowed & reference_causal(L, S)
    return q, k, v, mask, causal, allowed, bias


def torch_reference(q, k, v, allowed, bias, scale=None):
    """F.sdpa in float64 on the rows that allow at least one key; zeros elsewhere (course_attn's contract)."""
    empty = ~allowed.any(-1, keepdim=True)
    attn = torch.zeros(allowed.shape, dtype=torch.float64).masked_fill(~(allowed | empty), float("-inf"))
    if bias is not None:
        attn = attn + bias.double().masked_fill(~torch.isfinite(bias), 0.0)
    out = F.scaled_dot_product_attention(q.double(), k.double(), v.double(), attn_mask=attn, scale=scale)
    return out.masked_fill(empty, 0.0), empty


@settings(max_examples=80, deadline=None)
@given(
    B=st.integers(1, 3), H=st.integers(1, 3), L=st.integers(1, 9), S=st.integers(1, 9),
    E=st.integers(1, 16), Ev=st.integers(1, 16), kind=st.sampled_from(MASK_KINDS),
    backend=st.sampled_from(["math", "sdpa"]), seed=st.integers(0, 2**16),
)
def test_matches_torch_sdpa(B, H, L, S, E, Ev, kind, backend, seed):
    torch.manual_seed(seed)
    q, k, v, mask, causal, allowed, bias = make_case(B, H, L, S, E, Ev, kind)
    out, weights = ca.scaled_dot_product_attention(q, k, v, mask, causal=causal, backend=backend)
    expected, _ = torch_reference(q, k, v, allowed, bias)
    assert weights is None
    assert out.shape == (B, H, L, Ev) and out.dtype == torch.float32
    torch.testing.assert_close(out.double(), expected, **FP32)


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_weights_are_the_masked_softmax(kind):
    q, k, v, mask, causal, allowed, bias = make_case(2, 3, 5, 7, 8, 6, kind)
    scale = 0.3
    out, weights = ca.scaled_dot_product_attention(q, k, v, mask, causal=causal, scale=scale, need_weights=True)
    scores = (q.double() @ k.double().transpose(-2, -1)) * scale
    if bias is not None:
        scores = scores + bias.double()
    expected = scores.masked_fill(~allowed, float("-inf")).softmax(-1).nan_to_num(0.0)  # empty rows -> 0
    torch.testing.assert_close(weights.double(), expected, **FP32)
    torch.testing.assert_close(out, weights @ v, **FP32)
    assert torch.equal(weights == 0, ~allowed | ~allowed.any(-1, keepdim=True))


@pytest.mark.parametrize("L,S", [(4, 4), (3, 6), (6, 3)])
def test_causal_uses_bottom_right_alignment(L, S):
    q, k, v = torch.randn(1, 2, L, 8), torch.randn(1, 2, S, 8), torch.randn(1, 2, S, 8)
    for backend in ("math", "sdpa"):
        out, _ = ca.scaled_dot_product_attention(q, k, v, causal=True, backend=backend)
        expected, _ = torch_reference(q, k, v, reference_causal(L, S).expand(1, 2, L, S), None)
        torch.testing.assert_close(out.double(), expected, **FP32)


@pytest.mark.parametrize("backend", ["math", "sdpa"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_fully_masked_rows_give_zeros_not_nan(backend, dtype, kind):
    q, k, v = (torch.randn(2, 2, 4, 8, dtype=dtype, requires_grad=True) for _ in range(3))
    if kind == "bool":
        mask = torch.ones(4, 4, dtype=torch.bool)
        mask[1] = False
    else:
        mask = torch.zeros(4, 4, dtype=dtype)
        mask[1] = float("-inf")
    out, weights = ca.scaled_dot_product_attention(q, k, v, mask, backend=backend, need_weights=backend == "math")
    assert torch.isfinite(out).all()
    assert (out[:, :, 1] == 0).all()
    assert (out[:, :, [0, 2, 3]].abs().sum(-1) > 0).all()
    if weights is not None:
        assert (weights[:, :, 1] == 0).all()
        torch.testing.assert_close(weights[:, :, [0, 2, 3]].float().sum(-1), torch.ones(2, 2, 3), atol=1e-2, rtol=0)
    out.sum().backward()
    for t in (q, k, v):
        assert torch.isfinite(t.grad).all()
    assert (q.grad[:, :, 1] == 0).all(), "an empty row must not send gradient to its query"


@pytest.mark.parametrize("backend", ["math", "sdpa"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_with_masks_is_finite_and_close(backend, dtype):
    q, k, v, mask, causal, allowed, bias = make_case(2, 2, 16, 16, 32, 32, "bool+causal")
    out, _ = ca.scaled_dot_product_attention(q.to(dtype), k.to(dtype), v.to(dtype), mask, causal=True, backend=backend)
    expected, _ = torch_reference(q, k, v, allowed, None)
    assert out.dtype == dtype and torch.isfinite(out).all()
    torch.testing.assert_close(out.double(), expected, atol=3e-2, rtol=3e-2)


def test_dropout_only_in_training_and_weights_explain_output():
    q, k, v = torch.randn(3, 2, 1, 64, 16).unbind(0)
    plain, w_plain = ca.scaled_dot_product_attention(q, k, v, need_weights=True)
    evaluated, _ = ca.scaled_dot_product_attention(q, k, v, dropout_p=0.5, need_weights=True, training=False)
    torch.testing.assert_close(evaluated, plain)

    out, w = ca.scaled_dot_product_attention(q, k, v, dropout_p=0.5, need_weights=True, training=True)
    torch.testing.assert_close(out, w @ v, **FP32)
    kept = w != 0
    assert 0.35 < kept.float().mean() < 0.65  # about half of the weights are dropped
    torch.testing.assert_close(w[kept], 2 * w_plain[kept])  # survivors are rescaled by 1 / (1 - p)

    fused, _ = ca.scaled_dot_product_attention(q, k, v, dropout_p=0.5, backend="sdpa")
    assert not torch.allclose(fused, plain)


def test_default_scale_is_one_over_sqrt_e():
    q, k, v = torch.randn(3, 1, 5, 9).unbind(0)
    _, w = ca.scaled_dot_product_attention(q, k, v, need_weights=True)
    expected = (q @ k.transpose(-2, -1) / math.sqrt(9)).softmax(-1)
    torch.testing.assert_close(w, expected, **FP32)


def test_backends_agree_on_gradients():
    q, k, v, mask, causal, _, _ = make_case(2, 2, 6, 6, 8, 8, "bool+causal", dtype=torch.float64)
    grads = []
    for backend in ("math", "sdpa"):
        inputs = [t.clone().requires_grad_() for t in (q, k, v)]
        out, _ = ca.scaled_dot_product_attention(*inputs, mask, causal=causal, backend=backend)
        (out * torch.arange(8.0, dtype=torch.float64)).sum().backward()
        grads.append([t.grad for t in inputs])
    for g_math, g_sdpa in zip(*grads):
        torch.testing.assert_close(g_math, g_sdpa)


def test_math_backend_passes_gradcheck():
    q, k, v = (torch.randn(1, 2, 3, 4, dtype=torch.float64, requires_grad=True) for _ in range(3))
    mask = torch.tensor([[True, False, True], [True, True, False], [False, False, False]])
    assert torch.autograd.gradcheck(
        lambda q, k, v: ca.scaled_dot_product_attention(q, k, v, mask, backend="math")[0], (q, k, v)
    )


@pytest.mark.parametrize("backend", ["math", "sdpa", "chunked"])
def test_float16_scores_that_fit_after_scaling_do_not_overflow(backend):
    """|q·k| = 2·10⁵ overflows float16 (max 65504); scaled by 1/8 the scores fit, and so must the result."""
    q = torch.full((1, 2, 64), 8.0)  # q·k = 64 · 8 · 400 = 204800 before scaling
    k = torch.full((1, 3, 64), 400.0)
    k[0, 1] = 399.0  # so that the softmax is not uniform
    v = torch.randn(1, 3, 4)
    expected, _ = ca.scaled_dot_product_attention(q.double(), k.double(), v.double(), backend="math")
    out, _ = ca.scaled_dot_product_attention(q.half(), k.half(), v.half(), backend=backend)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out.double(), expected, atol=1e-2, rtol=1e-2)


@pytest.mark.parametrize("backend", ["math", "sdpa", "chunked"])
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_one_flag_per_key_mask_works_with_every_backend(backend, kind):
    """A 1-D mask ``(S,)`` broadcasts like ``(1, S)``; it used to fail inside torch with "sdpa"."""
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 6, 8), torch.randn(2, 3, 6, 4)
    keep = torch.tensor([True, False, True, True, False, True])
    mask = keep if kind == "bool" else torch.zeros(6).masked_fill(~keep, float("-inf"))
    out, _ = ca.scaled_dot_product_attention(q, k, v, mask, backend=backend)
    expected, _ = ca.scaled_dot_product_attention(q, k[..., keep, :], v[..., keep, :], backend="math")
    torch.testing.assert_close(out, expected, **FP32)


@pytest.mark.parametrize("backend", ["math", "sdpa", "chunked"])
@pytest.mark.parametrize("L,S", [(0, 5), (4, 0), (0, 0)])
def test_empty_lengths_give_empty_or_zero_outputs(backend, L, S):
    q, k, v = torch.randn(2, 3, L, 8), torch.randn(2, 3, S, 8), torch.randn(2, 3, S, 4)
    for causal in (False, True):
        out, _ = ca.scaled_dot_product_attention(q, k, v, causal=causal, backend=backend)
        assert out.shape == (2, 3, L, 4) and (out == 0).all()


@pytest.mark.parametrize("backend", ["math", "sdpa", "chunked"])
def test_score_bias_function_equals_the_same_float_mask(backend):
    q, k, v = torch.randn(2, 4, 9, 8), torch.randn(2, 4, 11, 8), torch.randn(2, 4, 11, 5)
    table = torch.randn(1, 4, 9, 11)
    calls = []

    def bias(rows, cols):
        calls.append((rows, cols))
        return table[..., rows, cols]

    blocks = {"block_q": 4, "block_k": 3} if backend == "chunked" else {}
    out, _ = ca.scaled_dot_product_attention(q, k, v, causal=True, bias=bias, backend=backend, **blocks)
    expected, _ = ca.scaled_dot_product_attention(q, k, v, table, causal=True, backend="math")
    torch.testing.assert_close(out, expected, **FP32)
    if backend == "chunked":  # block by block, never the whole (L, S) table
        assert len(calls) > 3 and all(r.stop - r.start <= 4 and c.stop - c.start <= 3 for r, c in calls)


@pytest.mark.parametrize("backend", ["math", "sdpa", "chunked"])
@pytest.mark.parametrize("mask_shape", [None, (9, 11), (2, 1, 9, 11), (1, 6, 9, 11)])
def test_grouped_query_attention_equals_repeated_heads(backend, mask_shape):
    """``enable_gqa``: 6 query heads share 2 key/value heads, as ``repeat_interleave`` would give them."""
    q, k, v = torch.randn(2, 6, 9, 8), torch.randn(2, 2, 11, 8), torch.randn(2, 2, 11, 5)
    mask = None if mask_shape is None else torch.rand(mask_shape) > 0.3
    out, _ = ca.scaled_dot_product_attention(q, k, v, mask, causal=True, enable_gqa=True, backend=backend)
    expected, _ = ca.scaled_dot_product_attention(
        q, k.repeat_interleave(3, dim=1), v.repeat_interleave(3, dim=1), mask, causal=True, backend="math")
    torch.testing.assert_close(out, expected, **FP32)
    if backend == "math":
        _, weights = ca.scaled_dot_product_attention(q, k, v, mask, enable_gqa=True, need_weights=True)
        assert weights.shape == (2, 6, 9, 11)
        torch.testing.assert_close(weights @ v.repeat_interleave(3, dim=1), 
                                   ca.scaled_dot_product_attention(q, k, v, mask, enable_gqa=True)[0], **FP32)


@pytest.mark.parametrize("backend", ["math", "sdpa", "chunked"])
def test_grouped_query_attention_does_not_copy_the_shared_heads(backend):
    """8 query heads on 1 key/value head: repeating k and v (8 × 2048 × 64 floats each, 8 MiB in all)
    is the cost that ``enable_gqa`` must not pay, whatever the backend."""
    from course_attn.profiling import peak_extra_bytes
    q, k, v = torch.randn(1, 8, 64, 64), torch.randn(1, 1, 2048, 64), torch.randn(1, 1, 2048, 64)

    def grouped():
        return ca.scaled_dot_product_attention(q, k, v, enable_gqa=True, backend=backend)

    def repeated():
        k8, v8 = k.repeat_interleave(8, dim=1), v.repeat_interleave(8, dim=1)  # (1, 8, 2048, 64)
        return ca.scaled_dot_product_attention(q, k8, v8, backend=backend)

    assert peak_extra_bytes(grouped) < peak_extra_bytes(repeated) - 6 * 2**20
