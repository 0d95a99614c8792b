"""The memory-efficient "chunked" backend against the math backend."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import course_attn as ca
from conftest import FP32
from course_attn.chunked import chunked_attention


@settings(max_examples=60, deadline=None)
@given(
    L=st.integers(1, 12), S=st.integers(1, 12), E=st.integers(1, 8), block_q=st.integers(1, 5),
    block_k=st.integers(1, 5), causal=st.booleans(), mask=st.sampled_from(["none", "bool", "float", "padding"]),
    seed=st.integers(0, 2**16),
)
def test_matches_the_math_backend(L, S, E, block_q, block_k, causal, mask, seed):
    torch.manual_seed(seed)
    q, k, v = torch.randn(2, 3, L, E), torch.randn(2, 3, S, E), torch.randn(2, 3, S, 5)
    m = {"none": None, "bool": torch.rand(L, S) > 0.4, "float": torch.randn(3, L, S),
         "padding": ca.masks.padding_mask(torch.randint(0, S + 1, (2,)), S)[:, None, None]}[mask]
    expected, _ = ca.scaled_dot_product_attention(q, k, v, m, causal=causal, backend="math")
    got = chunked_attention(q, k, v, m, causal=causal, block_q=block_q, block_k=block_k)
    torch.testing.assert_close(got, expected, **FP32)


def test_backend_option_and_module():
    q, k, v = torch.randn(3, 2, 4, 300, 16).unbind(0)
    expected, _ = ca.scaled_dot_product_attention(q, k, v, causal=True, backend="math")
    got, weights = ca.scaled_dot_product_attention(q, k, v, causal=True, backend="chunked")
    torch.testing.assert_close(got, expected, **FP32)
    assert weights is None
    with pytest.raises(ValueError, match="backend='chunked' cannot return attention weights"):
        ca.scaled_dot_product_attention(q, k, v, backend="chunked", need_weights=True)


@pytest.mark.parametrize("position", ["alibi", "t5", "rope"])
def test_position_biases_go_through_the_chunked_backend(position):
    scheme = ca.positional.build(position, d_model=32, num_heads=4)
    m = ca.MultiHeadAttention(32, 4, position=scheme, backend="math").eval()
    x, key_mask = torch.randn(2, 20, 32), ca.masks.padding_mask([20, 13], 20)
    expected = m(x, key_mask=key_mask, causal=True)[0]
    m.backend = "chunked"
    torch.testing.assert_close(m(x, key_mask=key_mask, causal=True)[0], expected, **FP32)


def test_gradients_match_the_math_backend():
    q, k, v = (torch.randn(2, 2, 37, 8, dtype=torch.float64) for _ in range(3))
    mask = torch.rand(37, 37) > 0.2
    grads = []
    for backend in ("math", "chunked"):
        inputs = [t.clone().requires_grad_() for t in (q, k, v)]
        out, _ = ca.scaled_dot_product_attention(*inputs, mask, causal=True, backend=backend)
        (out * torch.linspace(-1, 1, 8, dtype=torch.float64)).sum().backward()
        grads.append([t.grad for t in inputs])
    for g_math, g_chunked in zip(*grads):
        torch.testing.assert_close(g_chunked, g_math)


def test_gradcheck_with_small_blocks():
    q, k, v = (torch.randn(1, 5, 3, dtype=torch.float64, requires_grad=True) for _ in range(3))
    assert torch.autograd.gradcheck(lambda q, k, v: chunked_attention(q, k, v, causal=True, block_q=2, block_k=2),
                                    (q, k, v))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_and_empty_rows(dtype):
    q, k, v = (torch.randn(1, 2, 40, 16) for _ in range(3))
    mask = torch.ones(40, 40, dtype=torch.bool)
    mask[3] = False
    expected, _ = ca.scaled_dot_product_attention(q, k, v, mask, backend="math")
    got = chunked_attention(q.to(dtype), k.to(dtype), v.to(dtype), mask, block_q=16, block_k=16)
    assert got.dtype == dtype and torch.isfinite(got).all() and (got[:, :, 3] == 0).all()
    torch.testing.assert_close(got.float(), expected, atol=2e-2, rtol=2e-2)


def test_dropout_only_in_training():
    q, k, v = torch.randn(3, 1, 2, 64, 8).unbind(0)
    plain, _ = ca.scaled_dot_product_attention(q, k, v, backend="chunked")
    evaluated, _ = ca.scaled_dot_product_attention(q, k, v, backend="chunked", dropout_p=0.5, training=False)
    torch.testing.assert_close(evaluated, plain)
    dropped, _ = ca.scaled_dot_product_attention(q, k, v, backend="chunked", dropout_p=0.5)
    assert not torch.allclose(dropped, plain)
    # averaged over many draws, dropout (rescaled by 1/(1-p)) leaves the output unbiased
    mean = torch.stack([ca.scaled_dot_product_attention(q, k, v, backend="chunked", dropout_p=0.5)[0]
                        for _ in range(150)]).mean(0)
    assert (mean - plain).abs().mean() < 0.05 * plain.abs().mean() + 0.02


def test_block_size_errors():
    q = torch.randn(1, 4, 8)
    with pytest.raises(ValueError, match="block_k must be a positive int, got 0"):
        chunked_attention(q, q, q, block_k=0)
