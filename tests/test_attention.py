"""MultiHeadAttention against torch.nn.MultiheadAttention and explicit per-head references."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import course_attn as ca
from conftest import FP32, reference_causal


def torch_mha(E, H, *, kdim=None, vdim=None, bias=True, batch_first=True):
    m = nn.MultiheadAttention(E, H, kdim=kdim, vdim=vdim, bias=bias, batch_first=batch_first)
    with torch.no_grad():  # nonzero biases, so that a bias mix-up cannot hide
        for p in m.parameters():
            if p.dim() == 1:
                p.normal_()
    return m.eval()


@settings(max_examples=60, deadline=None)
@given(
    B=st.integers(1, 3), heads=st.sampled_from([1, 2, 4]), head_dim=st.integers(1, 6),
    L=st.integers(1, 7), S=st.integers(1, 7), cross=st.booleans(), separate_dims=st.booleans(),
    batch_first=st.booleans(), bias=st.booleans(),
    mask=st.sampled_from(["none", "padding", "bool", "float", "causal", "padding+bool"]),
    backend=st.sampled_from(["math", "sdpa"]), need_weights=st.booleans(), average=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_matches_torch_multihead_attention(
    B, heads, head_dim, L, S, cross, separate_dims, batch_first, bias, mask, backend, need_weights, average, seed
):
    torch.manual_seed(seed)
    E = heads * head_dim
    kdim, vdim = (E + 3, E + 1) if cross and separate_dims else (None, None)
    S = S if cross else L
    ref = torch_mha(E, heads, kdim=kdim, vdim=vdim, bias=bias, batch_first=batch_first)
    ours = ca.MultiHeadAttention.from_torch(ref, backend="math" if need_weights else backend)

    query = torch.randn(B, L, E)
    key = torch.randn(B, S, kdim or E) if cross else query
    value = torch.randn(B, S, vdim or E) if cross else query
    lengths = torch.randint(1, S + 1, (B,))  # every query keeps key 0, so no row is fully masked
    key_mask = ca.masks.padding_mask(lengths, S) if "padding" in mask else None
    attn_mask = None
    if "bool" in mask:
        attn_mask = torch.rand(L, S) > 0.5
        attn_mask[:, 0] = True
    elif mask == "float":
        attn_mask = torch.randn(B, heads, L, S)
    elif mask == "causal":
        attn_mask = reference_causal(L, S) | (torch.arange(S) == 0)

    def layout(x):
        return x if batch_first else x.transpose(0, 1)

    torch_attn_mask = ca.masks.to_torch(attn_mask)
    if mask == "float":
        torch_attn_mask = attn_mask.reshape(B * heads, L, S)
    expected, expected_w = ref(
        layout(query), layout(key), layout(value),
        key_padding_mask=ca.masks.to_torch(key_mask), attn_mask=torch_attn_mask,
        need_weights=need_weights, average_attn_weights=average,
    )
    out, w = ours(
        layout(query), None if not cross else layout(key), None if not cross else layout(value),
        attn_mask=attn_mask, key_mask=key_mask, need_weights=need_weights, average_attn_weights=average,
    )
    torch.testing.assert_close(out, expected, **FP32)
    if need_weights:
        torch.testing.assert_close(w, expected_w, **FP32)
    else:
        assert w is None


def test_causal_flag_matches_torch_causal_mask():
    ref = torch_mha(16, 4)
    ours = ca.MultiHeadAttention.from_torch(ref)
    x = torch.randn(2, 6, 16)
    expected, expected_w = ref(x, x, x, attn_mask=ca.masks.to_torch(ca.masks.causal_mask(6)), average_attn_weights=False)
    out, w = ours(x, causal=True, need_weights=True)
    torch.testing.assert_close(out, expected, **FP32)
    torch.testing.assert_close(w, expected_w, **FP32)
    torch.testing.assert_close(ours(x, causal=True)[0], expected, **FP32)  # the fused is_causal path


def test_gradients_match_torch():
    ref = torch_mha(12, 3)
    ours = ca.MultiHeadAttention.from_torch(ref)
    x = torch.randn(2, 5, 12)
    key_mask = ca.masks.padding_mask([5, 3], 5)
    ref(x, x, x, key_padding_mask=ca.masks.to_torch(key_mask))[0].pow(2).sum().backward()
    ours(x, key_mask=key_mask)[0].pow(2).sum().backward()
    w_q, w_k, w_v = ref.in_proj_weight.grad.chunk(3)
    torch.testing.assert_close(ours.q_proj.weight.grad, w_q, **FP32)
    torch.testing.assert_close(ours.k_proj.weight.grad, w_k, **FP32)
    torch.testing.assert_close(ours.v_proj.weight.grad, w_v, **FP32)
    torch.testing.assert_close(ours.out_proj.weight.grad, ref.out_proj.weight.grad, **FP32)


def per_head_reference(m, query, key, value):
    """Each head computed on its own from slices of the projection weights: no reshapes involved."""
    D, outs, weights = m.head_dim, [], []
    group = m.num_heads // m.num_kv_heads
    for h in range(m.num_heads):
        rows, kv_rows = slice(h * D, (h + 1) * D), slice((h // group) * D, (h // group + 1) * D)
        q = F.linear(query, m.q_proj.weight[rows], m.q_proj.bias[rows])  # (B, L, D)
        k = F.linear(key, m.k_proj.weight[kv_rows], m.k_proj.bias[kv_rows])  # (B, S, D)
        v = F.linear(value, m.v_proj.weight[kv_rows], m.v_proj.bias[kv_rows])  # (B, S, D)
        w = (q @ k.transpose(1, 2) / D**0.5).softmax(-1)  # (B, L, S)
        outs.append(w @ v)
        weights.append(w)
    return m.out_proj(torch.cat(outs, dim=-1)), torch.stack(weights, dim=1)


@pytest.mark.parametrize("num_kv_heads", [None, 2, 1])
@pytest.mark.parametrize("backend", ["math", "sdpa"])
def test_matches_per_head_reference(num_kv_heads, backend):
    m = ca.MultiHeadAttention(24, 4, kdim=10, vdim=7, num_kv_heads=num_kv_heads, backend=backend)
    nn.init.normal_(m.q_proj.bias), nn.init.normal_(m.k_proj.bias), nn.init.normal_(m.v_proj.bias)
    query, key, value = torch.randn(2, 5, 24), torch.randn(2, 9, 10), torch.randn(2, 9, 7)
    expected, expected_w = per_head_reference(m, query, key, value)
    out, w = m(query, key, value, need_weights=backend == "math")
    torch.testing.assert_close(out, expected, **FP32)
    if w is not None:
        torch.testing.assert_close(w, expected_w, **FP32)


def test_per_head_reference_catches_a_split_without_transpose():
    """Splitting heads with .view() but no transpose scrambles tokens; the reference must notice."""
    m = ca.MultiHeadAttention(8, 2)
    x = torch.randn(1, 6, 8)
    _, expected_w = per_head_reference(m, x, x, x)
    B, L, H, D = 1, 6, 2, 4
    q = m.q_proj(x).view(B, H, L, D)  # the bug: should be .view(B, L, H, D).transpose(1, 2)
    k = m.k_proj(x).view(B, H, L, D)
    buggy_w = (q @ k.transpose(-2, -1) / D**0.5).softmax(-1)
    assert not torch.allclose(buggy_w, expected_w, atol=1e-3)
    torch.testing.assert_close(m(x, need_weights=True)[1], expected_w, **FP32)


@pytest.mark.parametrize("num_kv_heads", [1, 2, 4])
def test_grouped_query_attention_matches_repeat_interleave(num_kv_heads):
    m = ca.MultiHeadAttention(32, 4, num_kv_heads=num_kv_heads)
    assert m.k_proj.out_features == num_kv_heads * 8
    x = torch.randn(2, 7, 32)
    q = m.q_proj(x).view(2, 7, 4, 8).transpose(1, 2)  # (B, H, L, D)
    k = m.k_proj(x).view(2, 7, num_kv_heads, 8).transpose(1, 2).repeat_interleave(4 // num_kv_heads, dim=1)
    v = m.v_proj(x).view(2, 7, num_kv_heads, 8).transpose(1, 2).repeat_interleave(4 // num_kv_heads, dim=1)
    attn = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, L, D)
    expected = m.out_proj(attn.transpose(1, 2).reshape(2, 7, 32))
    for backend in ("math", "sdpa", "chunked"):
        m.backend = backend
        torch.testing.assert_close(m(x, causal=True)[0], expected, **FP32)


def test_permuting_tokens_permutes_self_attention():
    m = ca.MultiHeadAttention(16, 4)
    x, perm = torch.randn(2, 9, 16), torch.randperm(9)
    out, w = m(x, need_weights=True)
    out_p, w_p = m(x[:, perm], need_weights=True)
    torch.testing.assert_close(out_p, out[:, perm], **FP32)
    torch.testing.assert_close(w_p, w[:, :, perm][:, :, :, perm], **FP32)


@pytest.mark.parametrize("backend", ["math", "sdpa"])
def test_causal_outputs_ignore_the_future(backend):
    m = ca.MultiHeadAttention(16, 4, backend=backend)
    x = torch.randn(2, 10, 16)
    changed = x.clone()
    changed[:, 6:] = torch.randn(2, 4, 16)
    out, out_changed = m(x, causal=True)[0], m(changed, causal=True)[0]
    torch.testing.assert_close(out[:, :6], out_changed[:, :6], **FP32)
    assert not torch.allclose(out[:, 6:], out_changed[:, 6:])


def test_backends_agree_with_all_masks():
    m = ca.MultiHeadAttention(16, 4, kdim=6, vdim=5)
    query, key, value = torch.randn(3, 5, 16), torch.randn(3, 8, 6), torch.randn(3, 8, 5)
    key_mask = ca.masks.padding_mask([8, 3, 0], 8)  # the last sequence has no real key at all
    attn_mask = torch.randn(3, 4, 5, 8)
    outs = []
    for backend in ("math", "sdpa"):
        m.backend = backend
        outs.append(m(query, key, value, attn_mask=attn_mask, key_mask=key_mask, causal=True)[0])
    torch.testing.assert_close(outs[0], outs[1], **FP32)
    torch.testing.assert_close(outs[0][2], m.out_proj.bias.expand(5, 16))  # zero attention, then the bias


def test_key_mask_accepts_a_tokenizer_attention_mask():
    m = ca.MultiHeadAttention(8, 2)
    x = torch.randn(2, 4, 8)
    attention_mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])  # int64, as tokenizers return it
    torch.testing.assert_close(m(x, key_mask=attention_mask)[0], m(x, key_mask=attention_mask.bool())[0])
    _, w = m(x, key_mask=attention_mask, need_weights=True)
    assert (w[0, :, :, 3] == 0).all() and (w[1, :, :, 2:] == 0).all()


def test_batch_first_false_is_a_transpose():
    m = ca.MultiHeadAttention(8, 2)
    x = torch.randn(3, 5, 8)
    m_seq_first = ca.MultiHeadAttention(8, 2, batch_first=False)
    m_seq_first.load_state_dict(m.state_dict())
    torch.testing.assert_close(m_seq_first(x.transpose(0, 1))[0].transpose(0, 1), m(x)[0])


def test_dropout_is_active_only_in_training():
    m = ca.MultiHeadAttention(16, 2, dropout=0.5)
    x = torch.randn(2, 8, 16)
    a, b = m(x)[0], m(x)[0]
    assert not torch.allclose(a, b)
    m.eval()
    torch.testing.assert_close(m(x)[0], m(x)[0])


def test_from_torch_copies_weights_and_settings():
    ref = nn.MultiheadAttention(8, 2, kdim=3, vdim=5, dropout=0.1, batch_first=False, dtype=torch.float64)
    ours = ca.MultiHeadAttention.from_torch(ref)
    assert (ours.kdim, ours.vdim, ours.dropout, ours.batch_first) == (3, 5, 0.1, False)
    assert ours.q_proj.weight.dtype == torch.float64 and ours.training
    torch.testing.assert_close(ours.k_proj.weight, ref.k_proj_weight)
    with torch.no_grad():
        ref.k_proj_weight.zero_()
    assert ours.k_proj.weight.abs().sum() > 0, "from_torch must copy, not share, the weights"


def test_from_torch_rejects_unsupported_options():
    with pytest.raises(ValueError, match="add_bias_kv"):
        ca.MultiHeadAttention.from_torch(nn.MultiheadAttention(8, 2, add_bias_kv=True))
    with pytest.raises(TypeError, match="expects a torch.nn.MultiheadAttention"):
        ca.MultiHeadAttention.from_torch(nn.Linear(2, 2))


@pytest.mark.parametrize("backend", ["math", "sdpa", "chunked"])
def test_a_batch_of_zero_sequences(backend):
    m = ca.MultiHeadAttention(16, 4, num_kv_heads=2, backend=backend)
    out, _ = m(torch.randn(0, 5, 16), causal=True)
    assert out.shape == (0, 5, 16)
    cross, _ = ca.MultiHeadAttention(16, 4, kdim=6, vdim=6, backend=backend)(
        torch.randn(0, 5, 16), torch.randn(0, 3, 6), torch.randn(0, 3, 6))
    assert cross.shape == (0, 5, 16)


# --- the documented conventions, where they differ from PyTorch's --------------------------------


def test_causal_is_bottom_right_where_torch_is_top_left():
    """With L=2 new queries after S=5 keys, query 0 sits at position 3: it sees keys 0..3, as a KV
    cache needs. ``F.scaled_dot_product_attention(is_causal=True)`` would let it see key 0 only."""
    q, k, v = torch.randn(1, 1, 2, 8), torch.randn(1, 1, 5, 8), torch.randn(1, 1, 5, 8)
    _, weights = ca.scaled_dot_product_attention(q, k, v, causal=True, need_weights=True)
    assert (weights[0, 0] > 0).tolist() == [[True, True, True, True, False], [True] * 5]
    top_left = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    bottom_right = F.scaled_dot_product_attention(q, k, v, attn_mask=torch.ones(2, 5).tril(3).bool())
    for backend in ("math", "sdpa", "chunked"):
        ours, _ = ca.scaled_dot_product_attention(q, k, v, causal=True, backend=backend)
        torch.testing.assert_close(ours, bottom_right, **FP32)
        assert not torch.allclose(ours, top_left, atol=1e-3)


def test_boolean_attn_mask_means_may_attend_the_opposite_of_torch():
    torch_m = torch_mha(16, 4)
    ours = ca.MultiHeadAttention.from_torch(torch_m)
    x = torch.randn(2, 6, 16)
    allowed = torch.rand(6, 6) > 0.4
    allowed[:, 0] = True  # every query keeps a key
    expected, _ = torch_m(x, x, x, attn_mask=~allowed)  # torch: True = ignore
    torch.testing.assert_close(ours(x, attn_mask=allowed)[0], expected, **FP32)
    torch.testing.assert_close(ours(x, attn_mask=ca.masks.from_torch(~allowed))[0], expected, **FP32)
    assert not torch.allclose(ours(x, attn_mask=~allowed)[0], expected, atol=1e-3)  # passed unconverted: wrong


@pytest.mark.parametrize("backend", ["math", "sdpa", "chunked"])
def test_a_query_that_may_see_no_key_returns_the_output_projections_bias(backend):
    m = ca.MultiHeadAttention(16, 4, backend=backend)
    with torch.no_grad():
        m.out_proj.bias.normal_()
    allowed = torch.ones(3, 4, dtype=torch.bool)
    allowed[1] = False  # query 1 may attend to nothing
    out, _ = m(torch.randn(2, 3, 16), torch.randn(2, 4, 16), torch.randn(2, 4, 16), attn_mask=allowed)
    torch.testing.assert_close(out[:, 1], m.out_proj.bias.expand(2, 16), **FP32)
    assert torch.isfinite(out).all()
