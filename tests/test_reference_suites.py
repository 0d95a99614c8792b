"""Cases ported from the attention test suites that users trust, run against course_attn.

The cases (sizes, mask layouts, tolerances, the references they are checked against) follow

* PyTorch's ``test/test_transformers.py`` -- ``F.scaled_dot_product_attention``;
* PyTorch's ``test/test_multihead_attention.py`` -- ``nn.MultiheadAttention``;
* FlashAttention's ``tests/test_flash_attn.py`` (Dao-AILab/flash-attention).

The code is written here, not copied. Every case compares against an independent reference:
attention in float64 (:func:`reference`, or a loop over queries), or torch's own module.
Sizes are kept small (batch and heads 1-2, small head dims) so that the file runs in seconds on CPU.
"""

import math

import pytest
import torch
import torch.nn.functional as F

import course_attn as ca
from course_attn import masks

BACKENDS = ("math", "sdpa", "chunked")
FP32 = dict(atol=1e-5, rtol=5e-6)  # test_transformers' float32 tolerance
LOW = {  # test_transformers' tolerances for CPU bfloat16 / float16
    torch.bfloat16: dict(atol=5e-2, rtol=5e-2),
    torch.float16: dict(atol=1e-2, rtol=1e-2),
}


def reference(q, k, v, allowed=None, bias=None, scale=None):
    """``softmax(q @ k.T * scale + bias) @ v`` in float64, ``allowed`` (True = may attend) applied.

    A query with no allowed key gets a zero row (the course's convention, and FlashAttention's).
    Returns ``(out, weights)``.
    """
    q, k, v = (t.double() for t in (q, k, v))
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    scores = torch.einsum("...le,...se->...ls", q, k) * scale
    if bias is not None:
        scores = scores + bias.double()
    if allowed is not None:
        scores = scores.masked_fill(~allowed, -math.inf)
    empty = torch.isneginf(scores).all(dim=-1, keepdim=True)
    weights = scores.masked_fill(empty, 0.0).softmax(dim=-1).masked_fill(empty, 0.0)
    return torch.einsum("...ls,...sd->...ld", weights, v), weights


def bottom_right_causal(L, S):
    """FlashAttention's causal rule, pair by pair: key j is in the future of query i if j > i + S - L."""
    return torch.tensor([[j <= i + S - L for j in range(S)] for i in range(L)], dtype=torch.bool).reshape(L, S)


def qkv(B, H, L, S, E, Ev=None, dtype=torch.float32):
    Ev = E if Ev is None else Ev
    return (torch.randn(B, H, L, E, dtype=dtype), torch.randn(B, H, S, E, dtype=dtype),
            torch.randn(B, H, S, Ev, dtype=dtype))


def attend(q, k, v, mask=None, *, backend, **kwargs):
    out, _ = ca.scaled_dot_product_attention(q, k, v, mask, backend=backend, **kwargs)
    return out


# --- PyTorch test/test_transformers.py: scaled dot-product attention -------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("L,S", [(1, 1), (7, 267), (267, 514), (514, 267), (1030, 1030)])
def test_sdpa_awkward_lengths_fp32(backend, causal, L, S):
    """Lengths that are not multiples of any kernel's block size, float32 against float64."""
    q, k, v = qkv(1, 2, L, S, 16)
    expected, _ = reference(q, k, v, bottom_right_causal(L, S) if causal else None)
    got = attend(q, k, v, causal=causal, backend=backend)
    torch.testing.assert_close(got, expected.float(), **FP32)


MASK_SHAPES = {  # how test_transformers broadcasts attn_mask over (B, H, L, S)
    "L,S": lambda B, H, L, S: (L, S),
    "1,L,S": lambda B, H, L, S: (1, L, S),
    "H,L,S": lambda B, H, L, S: (H, L, S),
    "B,1,L,S": lambda B, H, L, S: (B, 1, L, S),
    "1,H,L,S": lambda B, H, L, S: (1, H, L, S),
    "B,H,1,S": lambda B, H, L, S: (B, H, 1, S),
    "B,1,1,S": lambda B, H, L, S: (B, 1, 1, S),
    "B,H,L,S": lambda B, H, L, S: (B, H, L, S),
    "L,1": lambda B, H, L, S: (L, 1),  # whole query rows masked out: exercises empty rows
    "S": lambda B, H, L, S: (S,),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["bool", "float"])
@pytest.mark.parametrize("layout", list(MASK_SHAPES))
def test_sdpa_mask_broadcast_shapes(backend, kind, layout):
    """Every mask layout, boolean or additive, float32 against float64 (L=67, S=514)."""
    B, H, L, S = 2, 2, 67, 514
    q, k, v = qkv(B, H, L, S, 8)
    allowed = torch.rand(MASK_SHAPES[layout](B, H, L, S)) > 0.3
    if kind == "bool":
        mask, bias = allowed, None
    else:  # biases where allowed, -inf where not
        bias = torch.randn(allowed.shape).masked_fill(~allowed, -math.inf)
        mask = bias
    expected, _ = reference(q, k, v, allowed, bias)
    got = attend(q, k, v, mask, backend=backend)
    torch.testing.assert_close(got, expected.float(), **FP32)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layout", ["L,S", "B,1,L,S", "B,H,1,S"])
def test_sdpa_mask_and_causal_combine(backend, layout):
    """A mask together with causal=True (L < S): a score survives only where both allow it."""
    B, H, L, S = 2, 2, 37, 103
    q, k, v = qkv(B, H, L, S, 8)
    allowed = torch.rand(MASK_SHAPES[layout](B, H, L, S)) > 0.3
    expected, _ = reference(q, k, v, allowed & bottom_right_causal(L, S))
    got = attend(q, k, v, allowed, causal=True, backend=backend)
    torch.testing.assert_close(got, expected.float(), **FP32)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_fully_masked_rows_are_zero(backend, kind):
    """test_transformers' fully-masked-rows case: such rows give 0 (the CPU kernel's answer), never NaN."""
    q, k, v = qkv(1, 2, 9, 16, 8)
    allowed = torch.rand(1, 2, 9, 16) > 0.5
    allowed[..., ::3, :] = False  # every third query may see nothing
    mask = allowed if kind == "bool" else torch.zeros(allowed.shape).masked_fill(~allowed, -math.inf)
    got = attend(q, k, v, mask, backend=backend)
    assert torch.equal(got[..., ::3, :], torch.zeros_like(got[..., ::3, :]))
    torch.testing.assert_close(got, reference(q, k, v, allowed)[0].float(), **FP32)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("scale", [0.05, 1.0, 2.5])
def test_sdpa_scale_argument(backend, scale):
    """An explicit ``scale`` replaces 1/sqrt(E)."""
    q, k, v = qkv(2, 2, 33, 65, 16)
    expected, _ = reference(q, k, v, scale=scale)
    got = attend(q, k, v, scale=scale, backend=backend)
    torch.testing.assert_close(got, expected.float(), **FP32)
    assert not torch.allclose(got, attend(q, k, v, backend=backend), atol=1e-3), "scale had no effect"


@pytest.mark.parametrize("backend", BACKENDS)
def test_sdpa_no_dropout_when_not_training(backend):
    """dropout_p > 0 with training=False is exactly dropout_p=0."""
    q, k, v = qkv(2, 2, 17, 29, 8)
    torch.testing.assert_close(attend(q, k, v, dropout_p=0.7, training=False, backend=backend),
                               attend(q, k, v, dropout_p=0.0, backend=backend), atol=0, rtol=0)


def test_sdpa_math_dropout_matches_seeded_reference():
    """test_transformers checks the math path's dropout with the same random mask: with one seed,
    the weights are those of ``F.dropout(softmax(scores))`` and the output is ``weights @ v``."""
    q, k, v = qkv(2, 2, 11, 13, 8)
    torch.manual_seed(123)
    got, weights = ca.scaled_dot_product_attention(q, k, v, dropout_p=0.4, need_weights=True, backend="math")
    torch.manual_seed(123)
    expected_weights = F.dropout(reference(q, k, v)[1].float(), p=0.4)  # same shape and dtype: same draws
    torch.testing.assert_close(weights, expected_weights, **FP32)
    torch.testing.assert_close(got, (expected_weights.double() @ v.double()).float(), **FP32)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sdpa_dropout_is_unbiased(backend):
    """Averaged over many independent draws, the dropped-out output is the plain one."""
    q, k, v = qkv(1, 1, 4, 8, 4)
    many = 4000
    q_many, k_many, v_many = (t.expand(many, -1, -1, -1).contiguous() for t in (q, k, v))
    dropped = attend(q_many, k_many, v_many, dropout_p=0.3, backend=backend)
    assert not torch.allclose(dropped[0], dropped[1]), "dropout had no effect"
    torch.testing.assert_close(dropped.mean(dim=0, keepdim=True), reference(q, k, v)[0].float(), atol=0.03, rtol=0)


EMPTY = [(1, 2, 0, 7), (1, 2, 5, 0), (1, 2, 0, 0), (0, 2, 5, 7)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("B,H,L,S", EMPTY)
def test_sdpa_empty_sequences(backend, B, H, L, S):
    """Zero-length queries, keys or batch: an (L, Ev) result, zeros where there is no key."""
    q, k, v = qkv(B, H, L, S, 8, Ev=4)
    got = attend(q, k, v, backend=backend)
    torch.testing.assert_close(got, reference(q, k, v)[0].float(), atol=0, rtol=0)
    got_masked = attend(q, k, v, torch.ones(L, S, dtype=torch.bool), causal=True, backend=backend)
    torch.testing.assert_close(got_masked, reference(q, k, v, bottom_right_causal(L, S))[0].float(), atol=0, rtol=0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("L,S,causal", [(267, 514, False), (514, 267, True), (130, 130, True)])
def test_sdpa_low_precision_cpu(backend, dtype, L, S, causal):
    """bfloat16 / float16 on CPU within test_transformers' low-precision tolerances of float64."""
    q, k, v = qkv(1, 2, L, S, 16, dtype=dtype)
    expected, _ = reference(q, k, v, bottom_right_causal(L, S) if causal else None)
    got = attend(q, k, v, causal=causal, backend=backend)
    assert got.dtype == dtype
    torch.testing.assert_close(got.double(), expected, **LOW[dtype])


@pytest.mark.parametrize("backend", BACKENDS)
def test_sdpa_float16_large_logits(backend):
    """|q.k| = 102400 overflows float16 (max 65504) but the scaled scores (12800) fit: torch's math
    path scales q (and k) before the product for this reason."""
    E = 64
    q = torch.full((1, 1, 3, E), 40.0, dtype=torch.float16)
    q[..., 1, :] = -40.0
    k = torch.full((1, 1, 5, E), 40.0, dtype=torch.float16)
    k[..., 2, :] = 39.0  # a slightly smaller score: softmax picks the other keys
    v = torch.randn(1, 1, 5, 4).half()
    expected, _ = reference(q, k, v)
    got = attend(q, k, v, backend=backend)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got.double(), expected, **LOW[torch.float16])


# --- PyTorch test/test_multihead_attention.py: nn.MultiheadAttention ------------------------------


def torch_and_ours(embed_dim, num_heads, *, kdim=None, vdim=None, bias=True, batch_first=True, backend="auto"):
    """An ``nn.MultiheadAttention`` with random weights *and biases* (torch initializes biases to zero,
    which would hide a bias that is not copied) and our copy of it."""
    theirs = torch.nn.MultiheadAttention(embed_dim, num_heads, kdim=kdim, vdim=vdim, bias=bias,
                                         batch_first=batch_first).eval()
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            if "bias" in name:
                p.copy_(torch.randn_like(p))
    ours = ca.MultiHeadAttention.from_torch(theirs, backend=backend).eval()
    return theirs, ours


def inputs(B, L, S, E, kdim, vdim, batch_first):
    query, key, value = torch.randn(B, L, E), torch.randn(B, S, kdim), torch.randn(B, S, vdim)
    if not batch_first:
        query, key, value = (x.transpose(0, 1) for x in (query, key, value))
    return query, key, value


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dims", ["self", "cross", "kdim=5,vdim=3"])
@pytest.mark.parametrize("batch_first", [True, False])
def test_mha_matches_torch(backend, bias, dims, batch_first):
    """Self-attention, cross-attention, and keys/values of other widths (kdim/vdim)."""
    E, H, B, L, S = 8, 2, 3, 5, 7
    kdim, vdim = (5, 3) if dims.startswith("kdim") else (E, E)
    theirs, ours = torch_and_ours(E, H, kdim=None if kdim == E else kdim, vdim=None if vdim == E else vdim,
                                  bias=bias, batch_first=batch_first, backend=backend)
    query, key, value = inputs(B, L, S, E, kdim, vdim, batch_first)
    if dims == "self":
        key = value = query
    with torch.no_grad():
        expected, _ = theirs(query, key, value, need_weights=False)
        got, _ = ours(query) if dims == "self" else ours(query, key, value)
    torch.testing.assert_close(got, expected, **FP32)


TORCH_ATTN_MASKS = ["none", "bool L,S", "float L,S", "bool B*H,L,S", "float B*H,L,S"]


def torch_attn_mask(kind, B, H, L, S):
    """An ``nn.MultiheadAttention`` attn_mask (bool: True = ignore) that leaves key 0 visible to all."""
    if kind == "none":
        return None
    shape = (L, S) if kind.endswith(" L,S") else (B * H, L, S)
    if kind.startswith("bool"):
        ignore = torch.rand(shape) > 0.6
        ignore[..., 0] = False
        return ignore
    return torch.randn(shape)


def to_ours(attn_mask, B, H, L, S):
    """Our attn_mask for an ``nn.MultiheadAttention`` one: flip booleans, (B*H, L, S) → (B, H, L, S)."""
    if attn_mask is None:
        return None
    ours = masks.from_torch(attn_mask)
    return ours.view(B, H, L, S) if ours.dim() == 3 else ours


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("attn_kind", TORCH_ATTN_MASKS)
@pytest.mark.parametrize("padding", [False, True])
@pytest.mark.parametrize("batch_first", [True, False])
def test_mha_masks_match_torch(backend, attn_kind, padding, batch_first):
    """key_padding_mask and attn_mask in torch's convention, converted with masks.from_torch."""
    E, H, B, L, S = 8, 2, 3, 5, 7
    theirs, ours = torch_and_ours(E, H, batch_first=batch_first, backend=backend)
    query, key, value = inputs(B, L, S, E, E, E, batch_first)
    attn_mask = torch_attn_mask(attn_kind, B, H, L, S)
    key_padding_mask = ~masks.padding_mask([S, 3, 1], S) if padding else None  # True = padding
    if key_padding_mask is not None and attn_mask is not None and attn_mask.is_floating_point():
        key_padding_mask = torch.zeros(B, S).masked_fill(key_padding_mask, -math.inf)  # torch wants one kind
    with torch.no_grad():
        expected, _ = theirs(query, key, value, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                             need_weights=False)
        key_mask = None
        if padding:
            key_mask = masks.padding_mask([S, 3, 1], S)
        got, _ = ours(query, key, value, attn_mask=to_ours(attn_mask, B, H, L, S), key_mask=key_mask)
    torch.testing.assert_close(got, expected, **FP32)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mha_causal_matches_torch_square_mask(backend):
    """causal=True is torch's upper-triangular attn_mask when L == S."""
    E, H, B, L = 8, 2, 2, 6
    theirs, ours = torch_and_ours(E, H, backend=backend)
    x = torch.randn(B, L, E)
    future = torch.ones(L, L, dtype=torch.bool).triu(1)  # torch: True = ignore
    with torch.no_grad():
        expected, _ = theirs(x, x, x, attn_mask=future, need_weights=False)
        got, _ = ours(x, causal=True)
    torch.testing.assert_close(got, expected, **FP32)


@pytest.mark.parametrize("average", [True, False])
@pytest.mark.parametrize("padding", [False, True])
@pytest.mark.parametrize("batch_first", [True, False])
def test_mha_weights_match_torch(average, padding, batch_first):
    """need_weights with average_attn_weights on and off: per-head (B, H, L, S) or mean (B, L, S)."""
    E, H, B, L, S = 8, 2, 3, 5, 7
    theirs, ours = torch_and_ours(E, H, kdim=6, vdim=4, batch_first=batch_first)
    query, key, value = inputs(B, L, S, E, 6, 4, batch_first)
    lengths = [S, 4, 2] if padding else [S] * B
    with torch.no_grad():
        expected, expected_w = theirs(query, key, value, key_padding_mask=~masks.padding_mask(lengths, S),
                                      need_weights=True, average_attn_weights=average)
        got, got_w = ours(query, key, value, key_mask=masks.padding_mask(lengths, S),
                          need_weights=True, average_attn_weights=average)
    torch.testing.assert_close(got, expected, **FP32)
    torch.testing.assert_close(got_w, expected_w, **FP32)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batch_first", [True, False])
def test_mha_batch_size_zero(backend, batch_first):
    """An empty batch gives what nn.MultiheadAttention gives: an empty output of the right layout."""
    theirs, ours = torch_and_ours(8, 2, batch_first=batch_first, backend=backend)
    query, key, value = inputs(0, 5, 7, 8, 8, 8, batch_first)
    with torch.no_grad():
        expected, _ = theirs(query, key, value, need_weights=False)
        got, _ = ours(query, key, value)
    torch.testing.assert_close(got, expected, atol=0, rtol=0)


# --- FlashAttention tests/test_flash_attn.py ------------------------------------------------------

FLASH_LENGTHS = [(113, 203), (128, 217), (203, 113), (256, 256), (1, 239)]  # its awkward (seqlen_q, seqlen_k)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("H,H_kv", [(4, 1), (4, 2), (6, 3)])
def test_gqa_functional_matches_repeated_heads(backend, causal, H, H_kv):
    """enable_gqa: query head h uses key/value head h // (H // H_kv), as FlashAttention's reference
    repeats each key/value head over its group of query heads."""
    B, L, S, E = 2, 113, 203, 16
    q = torch.randn(B, H, L, E)
    k, v = torch.randn(B, H_kv, S, E), torch.randn(B, H_kv, S, E)
    g = H // H_kv
    expected, _ = reference(q, k.repeat_interleave(g, dim=1), v.repeat_interleave(g, dim=1),
                            bottom_right_causal(L, S) if causal else None)
    got = attend(q, k, v, causal=causal, enable_gqa=True, backend=backend)
    torch.testing.assert_close(got, expected.float(), **FP32)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("H,H_kv", [(4, 1), (4, 2), (6, 3)])
def test_gqa_module_matches_per_head_loop(backend, H, H_kv):
    """MultiHeadAttention(num_kv_heads=...) in cross-attention with causal=True and L != S,
    against a loop over query heads that picks each one's key/value head by hand."""
    D, B, L, S = 4, 2, 13, 21
    E = H * D
    mha = ca.MultiHeadAttention(E, H, num_kv_heads=H_kv, kdim=5, vdim=7, backend=backend).eval()
    with torch.no_grad():
        for proj in (mha.q_proj, mha.k_proj, mha.v_proj, mha.out_proj):
            proj.bias.normal_()
    query, key, value = torch.randn(B, L, E), torch.randn(B, S, 5), torch.randn(B, S, 7)

    def project(x, proj):
        return x.double() @ proj.weight.double().T + proj.bias.double()

    q, k, v = project(query, mha.q_proj), project(key, mha.k_proj), project(value, mha.v_proj)
    heads = []
    for h in range(H):
        kv = h // (H // H_kv)
        out_h, _ = reference(q[..., h * D:(h + 1) * D], k[..., kv * D:(kv + 1) * D], v[..., kv * D:(kv + 1) * D],
                             bottom_right_causal(L, S))
        heads.append(out_h)
    expected = project(torch.cat(heads, dim=-1), mha.out_proj)
    with torch.no_grad():
        got, _ = mha(query, key, value, causal=True)
    torch.testing.assert_close(got, expected.float(), **FP32)


def local_reference(q, k, v, left, right):
    """FlashAttention's local attention, one query at a time: query i (at i + S - L) attends to keys
    max(0, p - left) ... min(S - 1, p + right); a query whose window holds no key gives 0."""
    L, S = q.shape[-2], k.shape[-2]
    rows = []
    for i in range(L):
        p = i + S - L
        lo = 0 if left is None else max(0, p - left)
        hi = S - 1 if right is None else min(S - 1, p + right)
        if lo > hi:
            rows.append(torch.zeros(*q.shape[:-2], v.shape[-1], dtype=torch.float64))
            continue
        scores = (q[..., i, :].double().unsqueeze(-2) @ k[..., lo:hi + 1, :].double().transpose(-2, -1)).squeeze(-2)
        weights = (scores * q.shape[-1] ** -0.5).softmax(dim=-1)
        rows.append((weights.unsqueeze(-2) @ v[..., lo:hi + 1, :].double()).squeeze(-2))
    return torch.stack(rows, dim=-2)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("left,right", [(0, 0), (16, 0), (7, 11), (None, 32), (48, None)])
@pytest.mark.parametrize("L,S", FLASH_LENGTHS)
def test_sliding_window_matches_local_reference(backend, left, right, L, S):
    """Local attention, window_size=(left, right), through masks.sliding_window_mask."""
    q, k, v = qkv(1, 2, L, S, 16)
    got = attend(q, k, v, masks.sliding_window_mask(L, S, left=left, right=right), backend=backend)
    torch.testing.assert_close(got, local_reference(q, k, v, left, right).float(), **FP32)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("L,S", [(113, 203), (203, 113)])
def test_causal_local_window(backend, L, S):
    """FlashAttention's causal=True with a window is window_size=(left, 0): the causal flag and a
    window open to the right give the same result as the window closed at the query's position."""
    q, k, v = qkv(1, 2, L, S, 16)
    with_flag = attend(q, k, v, masks.sliding_window_mask(L, S, left=24, right=None), causal=True, backend=backend)
    torch.testing.assert_close(with_flag, local_reference(q, k, v, 24, 0).float(), **FP32)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("L,S", FLASH_LENGTHS)
def test_causal_is_bottom_right_aligned(backend, L, S):
    """FlashAttention (>= 2.1) aligns causal masks bottom-right when L != S, and so does course_attn."""
    q, k, v = qkv(1, 2, L, S, 16)
    got = attend(q, k, v, causal=True, backend=backend)
    torch.testing.assert_close(got, local_reference(q, k, v, None, 0).float(), **FP32)


@pytest.mark.parametrize("L,S", [(113, 203), (1, 239), (128, 128)])
def test_causal_matches_torch_lower_right_bias(L, S):
    """torch's own bottom-right mask (torch.nn.attention.bias.causal_lower_right) agrees; torch's
    is_causal=True (top-left) agrees only when L == S."""
    from torch.nn.attention.bias import causal_lower_right

    q, k, v = qkv(1, 2, L, S, 16, dtype=torch.float64)
    ours = attend(q, k, v, causal=True, backend="math")
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, attn_mask=causal_lower_right(L, S)))
    top_left = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert torch.allclose(ours, top_left) == (L == S)


def naive_low_precision(q, k, v, allowed):
    """FlashAttention's "PyTorch implementation" baseline: every step in the inputs' own dtype."""
    scores = q @ (k * q.shape[-1] ** -0.5).transpose(-2, -1)
    if allowed is not None:
        scores = scores.masked_fill(~allowed, -math.inf)
    empty = torch.isneginf(scores).all(dim=-1, keepdim=True)
    weights = scores.softmax(dim=-1).masked_fill(empty, 0.0)
    return weights @ v


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("L,S,mask", [(113, 203, "none"), (203, 113, "causal"), (128, 217, "window")])
def test_low_precision_error_at_most_twice_naive(backend, dtype, L, S, mask):
    """FlashAttention's rule: in bf16/fp16 the result may err (against float64) at most twice as much
    as a plain implementation computed in that dtype."""
    q, k, v = qkv(2, 2, L, S, 32, dtype=dtype)
    allowed = {"none": None, "causal": bottom_right_causal(L, S),
               "window": masks.sliding_window_mask(L, S, left=20, right=5)}[mask]
    expected, _ = reference(q, k, v, allowed)
    got = attend(q, k, v, allowed, backend=backend)
    naive_error = (naive_low_precision(q, k, v, allowed).double() - expected).abs().max().item()
    error = (got.double() - expected).abs().max().item()
    assert error <= 2 * naive_error + 1e-5, f"error {error:.3g} vs plain {dtype}: {naive_error:.3g}"
