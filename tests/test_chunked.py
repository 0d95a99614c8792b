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
    with pytest.raises(TypeError, match="block_q must be a positive int, got 2.0"):
        chunked_attention(q, q, q, block_q=2.0)


@pytest.mark.parametrize("block_q,block_k", [(1, 1), (3, 7), (64, 16), (1000, 1000)])
def test_block_sizes_are_a_public_choice_that_does_not_change_the_result(block_q, block_k):
    q, k, v = torch.randn(2, 3, 50, 8), torch.randn(2, 3, 61, 8), torch.randn(2, 3, 61, 4)
    expected, _ = ca.scaled_dot_product_attention(q, k, v, causal=True, backend="math")
    got, _ = ca.scaled_dot_product_attention(q, k, v, causal=True, backend="chunked", block_q=block_q, block_k=block_k)
    torch.testing.assert_close(got, expected, **FP32)


@pytest.mark.parametrize("position", [None, "rope", "alibi", "t5"])
def test_chunked_memory_stays_flat_in_length_with_every_position_bias(position):
    """Self-attention at L = 1024 and 2048 with the chunked backend: extra memory grows like the
    (L, d) activations, never like the (B, H, L, L) biases (64 MiB at L = 2048 with 4 heads)."""
    from course_attn.profiling import peak_extra_bytes

    scheme = None if position is None else ca.positional.build(position, d_model=64, num_heads=4)
    m = ca.MultiHeadAttention(64, 4, position=scheme, backend="chunked").eval()
    peaks = {}
    with torch.no_grad():
        for L in (1024, 2048):
            x = torch.randn(1, L, 64)
            peaks[L] = peak_extra_bytes(lambda: m(x, causal=True)[0])
    one_bias = 4 * 2048 * 2048 * 4  # bytes of a float32 (1, H, L, L) tensor at L = 2048
    assert peaks[2048] < 0.2 * one_bias  # measured: 4 MiB without a bias, 7-8 MiB with ALiBi or T5 blocks
    assert peaks[2048] - peaks[1024] < 0.05 * one_bias  # grows by ~1 MiB (activations), not by 48 MiB
