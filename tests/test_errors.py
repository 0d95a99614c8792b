"""Every bad input gets a clear error that names the argument, what it got and what was expected."""

import pytest
import torch

import course_attn as ca

sdpa = ca.scaled_dot_product_attention


def qkv(*shape, **kw):
    return (torch.randn(*shape, **kw) for _ in range(3))


def test_wrong_rank():
    q, k, v = qkv(2, 4, 8)
    with pytest.raises(ValueError, match=r"q must have shape \(\.\.\., length, features\), got \(8,\)"):
        sdpa(q[0, 0], k, v)
    m = ca.MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match=r"query must be 3-D \(B, L, E\) with batch_first=True, got shape \(4, 8\)"):
        m(q[0])


def test_embed_dim_not_divisible_by_num_heads():
    with pytest.raises(ValueError, match="embed_dim=10 is not divisible by num_heads=3"):
        ca.MultiHeadAttention(10, 3)


def test_num_heads_not_divisible_by_num_kv_heads():
    with pytest.raises(ValueError, match="num_heads=4 is not divisible by num_kv_heads=3"):
        ca.MultiHeadAttention(16, 4, num_kv_heads=3)


@pytest.mark.parametrize("name,value,error", [
    ("num_heads", 0, ValueError), ("embed_dim", 8.0, TypeError), ("kdim", -1, ValueError),
    ("num_kv_heads", True, TypeError),
])
def test_non_positive_sizes(name, value, error):
    kwargs = {"embed_dim": 8, "num_heads": 2, name: value}
    with pytest.raises(error, match=f"{name} must be a positive int, got {value!r}"):
        ca.MultiHeadAttention(**kwargs)


def test_feature_sizes_that_do_not_match_the_module():
    m = ca.MultiHeadAttention(8, 2, kdim=5, vdim=6)
    with pytest.raises(ValueError, match="query has 7 features but the module expects embed_dim=8"):
        m(torch.randn(1, 3, 7), torch.randn(1, 4, 5), torch.randn(1, 4, 6))
    with pytest.raises(ValueError, match="key has 8 features but the module expects kdim=5"):
        m(torch.randn(1, 3, 8), torch.randn(1, 4, 8), torch.randn(1, 4, 6))
    with pytest.raises(ValueError, match="q and k must have the same feature size E"):
        sdpa(torch.randn(2, 3, 8), torch.randn(2, 4, 6), torch.randn(2, 4, 6))


def test_key_value_length_mismatch():
    with pytest.raises(ValueError, match=r"k and v must have the same length S, got k \(2, 4, 8\) \(S=4\)"):
        sdpa(torch.randn(2, 3, 8), torch.randn(2, 4, 8), torch.randn(2, 5, 8))
    m = ca.MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match="key and value must have the same length S"):
        m(torch.randn(1, 3, 8), torch.randn(1, 4, 8), torch.randn(1, 5, 8))


def test_batch_size_mismatch():
    m = ca.MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match="query, key and value must share the batch size, got 2, 3, 3"):
        m(torch.randn(2, 3, 8), torch.randn(3, 4, 8), torch.randn(3, 4, 8))
    with pytest.raises(ValueError, match="must share their leading"):
        sdpa(torch.randn(2, 3, 8), torch.randn(3, 4, 8), torch.randn(3, 4, 8))


def test_mask_not_broadcastable():
    q, k, v = qkv(2, 2, 4, 8)
    with pytest.raises(ValueError, match=r"mask of shape \(4, 3\) is not broadcastable to the scores' shape \(2, 2, 4, 4\)"):
        sdpa(q, k, v, torch.ones(4, 3, dtype=torch.bool))
    m = ca.MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match=r"attn_mask of shape \(3, 1, 4, 4\) is not broadcastable to the scores' shape \(2, 2, 4, 4\)"):
        m(torch.randn(2, 4, 8), attn_mask=torch.ones(3, 4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"attn_mask must be \(L, S\), \(B, L, S\) or \(B, H, L, S\), got shape \(4,\)"):
        m(torch.randn(2, 4, 8), attn_mask=torch.ones(4, dtype=torch.bool))


def test_torch_style_three_d_mask_gets_a_hint():
    m = ca.MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match=r"looks like nn.MultiheadAttention's \(B\*H, L, S\).*view\(3, 2, 4, 4\)"):
        m(torch.randn(3, 4, 8), attn_mask=torch.ones(6, 4, 4, dtype=torch.bool))


def test_key_mask_not_b_by_s():
    m = ca.MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match=r"key_mask must be \(B, S\) = \(2, 4\), True for real tokens; got \(2, 1, 4\)"):
        m(torch.randn(2, 4, 8), key_mask=torch.ones(2, 1, 4, dtype=torch.bool))


def test_key_mask_dtype_and_values():
    m = ca.MultiHeadAttention(8, 2)
    x = torch.randn(2, 4, 8)
    with pytest.raises(TypeError, match="key_mask must be bool or 0/1 integers.*got dtype torch.float32"):
        m(x, key_mask=torch.ones(2, 4))
    with pytest.raises(ValueError, match="key_mask must hold only 0 and 1"):
        m(x, key_mask=torch.full((2, 4), 2))


def test_integer_mask_dtype():
    q, k, v = qkv(2, 4, 8)
    with pytest.raises(TypeError, match=r"mask must be bool \(True = may attend\) or float .* got dtype torch.int64"):
        sdpa(q, k, v, torch.ones(4, 4, dtype=torch.long))
    m = ca.MultiHeadAttention(8, 2)
    with pytest.raises(TypeError, match="attn_mask must be bool .* got dtype torch.int32"):
        m(torch.randn(2, 4, 8), attn_mask=torch.ones(4, 4, dtype=torch.int32))


def test_qkv_dtype_mismatch():
    q, k, v = qkv(2, 4, 8)
    with pytest.raises(TypeError, match="q, k and v must share one dtype, got q torch.float32, k torch.float16"):
        sdpa(q, k.half(), v)
    with pytest.raises(TypeError, match="q must be a floating-point tensor, got dtype torch.int64"):
        sdpa(q.long(), k, v)
    m = ca.MultiHeadAttention(8, 2)
    with pytest.raises(TypeError, match="query has dtype torch.float64 but the module's weights are torch.float32"):
        m(torch.randn(2, 4, 8, dtype=torch.float64))


def test_device_mismatch():
    q, k, v = qkv(2, 4, 8)
    with pytest.raises(ValueError, match="q, k and v must be on one device, got q cpu, k meta, v cpu"):
        sdpa(q, k.to("meta"), v)
    with pytest.raises(ValueError, match="mask is on meta but the inputs are on cpu"):
        sdpa(q, k, v, torch.ones(4, 4, dtype=torch.bool, device="meta"))
    m = ca.MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match="query is on meta but the module's weights are on cpu"):
        m(torch.randn(2, 4, 8, device="meta"))


def test_bad_backend_and_options():
    q, k, v = qkv(2, 4, 8)
    with pytest.raises(ValueError, match=r"backend must be one of \('auto', 'math', 'sdpa', 'chunked'\), got 'flash'"):
        sdpa(q, k, v, backend="flash")
    with pytest.raises(ValueError, match="backend='sdpa' cannot return attention weights"):
        sdpa(q, k, v, backend="sdpa", need_weights=True)
    with pytest.raises(ValueError, match=r"dropout_p must be a finite number in \[0, 1\), got 1.0"):
        sdpa(q, k, v, dropout_p=1.0)
    with pytest.raises(ValueError, match=r"scale must be a finite number in \(0, inf\), got -1.0"):
        sdpa(q, k, v, scale=-1.0)
    with pytest.raises(ValueError, match=r"dropout must be a finite number in \[0, 1\)"):
        ca.MultiHeadAttention(8, 2, dropout=1.5)
    with pytest.raises(TypeError, match="q must be a torch.Tensor, got list"):
        sdpa([1.0], k, v)


def test_absolute_position_scheme_is_not_an_attention_scheme():
    with pytest.raises(TypeError, match="position must be a relative .* got SinusoidalPositionalEncoding"):
        ca.MultiHeadAttention(8, 2, position=ca.positional.SinusoidalPositionalEncoding(8))


def test_cache_and_position_need_self_attention():
    m = ca.MultiHeadAttention(8, 2)
    x = torch.randn(1, 3, 8)
    with pytest.raises(ValueError, match="cache and position schemes apply to self-attention only"):
        m(x, x, x, cache=ca.KVCache())


# --- course_attn 0.2: every argument of the attention functions checked ------------------------


@pytest.mark.parametrize("options,error,message", [
    ({"causal": "no"}, TypeError, "causal must be True or False, got 'no'"),
    ({"need_weights": 1}, TypeError, "need_weights must be True or False, got 1"),
    ({"training": "yes"}, TypeError, "training must be True or False, got 'yes'"),
    ({"enable_gqa": "y"}, TypeError, "enable_gqa must be True or False, got 'y'"),
    ({"scale": float("inf")}, ValueError, r"scale must be a finite number in \(0, inf\), got inf"),
    ({"scale": float("nan")}, ValueError, r"scale must be a finite number in \(0, inf\), got nan"),
    ({"scale": True}, TypeError, "scale must be a number, got True"),
    ({"dropout_p": float("nan")}, ValueError, r"dropout_p must be a finite number in \[0, 1\), got nan"),
    ({"dropout_p": -0.1, "training": False}, ValueError, r"dropout_p must be a finite number in \[0, 1\), got -0.1"),
    ({"backend": None}, ValueError, r"backend must be one of \('auto', 'math', 'sdpa', 'chunked'\), got None"),
    ({"bias": torch.zeros(4, 4)}, TypeError, "bias must be a function bias\\(rows, cols\\) -> float tensor, got Tensor"),
    ({"bias": lambda r, c: torch.zeros(3, 3)}, ValueError,
     r"bias\(rows, cols\) of shape \(3, 3\) is not broadcastable to the scores' shape \(2, 4, 4\)"),
    ({"bias": lambda r, c: torch.zeros(3, 3), "backend": "chunked"}, ValueError,
     r"bias\(rows=0:4, cols=0:4\) returned shape \(3, 3\), which does not broadcast to the block's scores"),
    ({"bias": lambda r, c: torch.zeros(4, 4, dtype=torch.long)}, TypeError,
     r"bias\(rows, cols\) must be bool .* got dtype torch.int64"),
    ({"block_q": 64}, ValueError, "block_q and block_k set the chunked backend's blocks; backend is 'sdpa'"),
    ({"block_k": 0, "backend": "chunked"}, ValueError, "block_k must be a positive int, got 0"),
])
def test_bad_attention_options(options, error, message):
    q, k, v = qkv(2, 4, 8)
    with pytest.raises(error, match=message):
        sdpa(q, k, v, **options)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_float_mask_with_nan_or_plus_inf(value):
    q, k, v = qkv(2, 4, 8)
    with pytest.raises(ValueError, match="mask holds NaN or \\+inf, which turn the softmax into NaN"):
        sdpa(q, k, v, torch.zeros(4, 4).fill_diagonal_(value))


def test_grouped_query_head_counts():
    q, k, v = qkv(2, 4, 5, 8)
    with pytest.raises(ValueError, match="must share their leading .* pass enable_gqa=True"):
        sdpa(q, k[:, :2], v[:, :2])
    with pytest.raises(ValueError, match="with enable_gqa=True the number of key/value heads must divide"):
        sdpa(q, k[:, :3], v[:, :3], enable_gqa=True)
    with pytest.raises(ValueError, match="with enable_gqa=True the number of key/value heads must divide"):
        sdpa(q, k[:, :2], v[:, :1], enable_gqa=True)
    with pytest.raises(ValueError, match=r"q must have shape \(\.\.\., heads, length, features\) with enable_gqa"):
        sdpa(q[0, 0], k[0, 0], v[0, 0], enable_gqa=True)


@pytest.mark.parametrize("call,error,message", [
    (lambda m, x: m(x, causal="no"), TypeError, "causal must be True or False, got 'no'"),
    (lambda m, x: m(x, need_weights=1), TypeError, "need_weights must be True or False, got 1"),
    (lambda m, x: m(x, need_weights=True, average_attn_weights="no"), TypeError,
     "average_attn_weights must be True or False, got 'no'"),
    (lambda m, x: m(x, None, x), ValueError,
     "pass key and value together .* or neither .*, got key=None and value=a tensor"),
    (lambda m, x: m(x, x, None), ValueError, "got key=a tensor and value=None"),
    (lambda m, x: m(x, cache=[]), TypeError, "cache must be a course_attn.KVCache or None, got list"),
])
def test_bad_multi_head_attention_calls(call, error, message):
    with pytest.raises(error, match=message):
        call(ca.MultiHeadAttention(8, 2), torch.randn(2, 4, 8))


@pytest.mark.parametrize("options,error,message", [
    ({"bias": "yes"}, TypeError, "bias must be True or False, got 'yes'"),
    ({"batch_first": 1}, TypeError, "batch_first must be True or False, got 1"),
    ({"dropout": float("nan")}, ValueError, r"dropout must be a finite number in \[0, 1\), got nan"),
])
def test_bad_multi_head_attention_options(options, error, message):
    with pytest.raises(error, match=message):
        ca.MultiHeadAttention(8, 2, **options)
