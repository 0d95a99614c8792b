"""The six position schemes: parity with the papers' formulas and reference code, and their use in attention."""

import inspect
import math

import pytest
import torch
from transformers import T5Config
from transformers.models.llama.modeling_llama import apply_rotary_pos_emb
from transformers.models.t5.modeling_t5 import T5Attention

import course_attn as ca
from conftest import FP32
from course_attn import positional as pos
from course_attn.cache import KVCache

RELATIVE = ("shaw", "t5", "rope", "alibi")


def scheme(name, E=16, H=4, **options):
    """A scheme with nonzero, random parameters (T5's and Shaw's tables are random from the start)."""
    return pos.build(name, d_model=E, num_heads=H, **options)


# --- sinusoidal --------------------------------------------------------------------------------


@pytest.mark.parametrize("d_model,max_len", [(10, None), (7, None), (10, 6000)])
def test_sinusoidal_matches_the_papers_formula(d_model, max_len):
    pe = pos.SinusoidalPositionalEncoding(d_model, max_len=max_len)
    positions = torch.tensor([0, 1, 5, 50, 5000])
    expected = torch.zeros(len(positions), d_model, dtype=torch.float64)
    for row, p in enumerate(positions.tolist()):
        for dim in range(d_model):
            angle = p / 10000 ** (2 * (dim // 2) / d_model)
            expected[row, dim] = math.sin(angle) if dim % 2 == 0 else math.cos(angle)
    torch.testing.assert_close(pe.encoding(positions).double(), expected, atol=2e-4, rtol=0)  # float32 angles at 5000
    x = torch.randn(2, len(positions), d_model)
    torch.testing.assert_close(pe.embed(x, positions), x + pe.encoding(positions), **FP32)


def test_sinusoidal_shift_is_a_fixed_rotation_per_frequency():
    """Vaswani et al.: PE[pos + k] is a linear function of PE[pos], the same for every pos."""
    d = 12
    pe = pos.SinusoidalPositionalEncoding(d)
    positions = torch.arange(40)
    for k in (1, 3, 17):
        T = torch.zeros(d, d)  # block diagonal: one 2x2 rotation by k * w_i per (sin, cos) pair
        for i in range(d // 2):
            b = k / 10000 ** (2 * i / d)
            T[2 * i: 2 * i + 2, 2 * i: 2 * i + 2] = torch.tensor([[math.cos(b), -math.sin(b)],
                                                                    [math.sin(b), math.cos(b)]])
        shifted = pe.encoding(positions) @ T  # (40, d): row p times T, for every p
        torch.testing.assert_close(shifted, pe.encoding(positions + k), atol=1e-4, rtol=0)


# --- learned -----------------------------------------------------------------------------------


def test_learned_adds_its_table_rows():
    pe = pos.LearnedPositionalEmbedding(max_len=8, d_model=6)
    x, positions = torch.randn(2, 3, 6), torch.tensor([7, 0, 4])
    torch.testing.assert_close(pe.embed(x, positions), x + pe.table.weight[positions], **FP32)


# --- Shaw --------------------------------------------------------------------------------------


def shaw_literal(mha, x, *, causal):
    """Shaw et al. eq. (3)-(4) written out with the full (L, S, D) tensors a^K_ij, a^V_ij."""
    B, L, E = x.shape
    H, D, shaw = mha.num_heads, mha.head_dim, mha.position
    q = mha.q_proj(x).view(B, L, H, D).transpose(1, 2)  # (B, H, L, D)
    k = mha.k_proj(x).view(B, L, H, D).transpose(1, 2)
    v = mha.v_proj(x).view(B, L, H, D).transpose(1, 2)
    K = shaw.max_distance
    idx = torch.tensor([[min(max(j - i, -K), K) + K for j in range(L)] for i in range(L)])  # (L, L)
    aK, aV = shaw.a_k[idx], shaw.a_v[idx]  # (L, L, D) each
    e = (torch.einsum("bhid,bhjd->bhij", q, k) + torch.einsum("bhid,ijd->bhij", q, aK)) / math.sqrt(D)
    if causal:
        e = e.masked_fill(torch.ones(L, L).triu(1).bool(), float("-inf"))
    alpha = e.softmax(-1)  # (B, H, L, L)
    z = torch.einsum("bhij,bhjd->bhid", alpha, v) + torch.einsum("bhij,ijd->bhid", alpha, aV)
    return mha.out_proj(z.transpose(1, 2).reshape(B, L, E))


@pytest.mark.parametrize("causal", [False, True])
def test_shaw_efficient_form_equals_the_papers_equations(causal):
    mha = ca.MultiHeadAttention(16, 4, position=pos.ShawRelativePosition(4, max_distance=2)).eval()
    x = torch.randn(2, 7, 16)  # L = 7 > 2k + 1, so distances are clipped
    out, weights = mha(x, causal=causal, need_weights=True)
    torch.testing.assert_close(out, shaw_literal(mha, x, causal=causal), **FP32)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 7), **FP32)


# --- T5 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("num_buckets,max_distance", [(32, 128), (8, 20), (6, 4), (64, 1000)])
def test_t5_buckets_match_hugging_face(bidirectional, num_buckets, max_distance):
    t5 = pos.T5RelativeBias(2, num_buckets, max_distance, bidirectional=bidirectional)
    distances = torch.cat([torch.arange(-1500, 1500), torch.tensor([-10**6, -4097, 4097, 10**6])])
    expected = T5Attention._relative_position_bucket(
        distances, bidirectional=bidirectional, num_buckets=num_buckets, max_distance=max_distance
    )
    assert torch.equal(t5.bucket(distances), expected)
    assert expected.max() == num_buckets - 1  # the distances reach the last, widest bucket


@pytest.mark.parametrize("decoder", [False, True])
def test_t5_bias_matches_hugging_face_compute_bias(decoder):
    config = T5Config(d_model=16, d_kv=4, num_heads=4, relative_attention_num_buckets=8,
                      relative_attention_max_distance=20, is_decoder=decoder)
    ref = T5Attention(config, has_relative_attention_bias=True, layer_idx=0)
    t5 = pos.T5RelativeBias(4, 8, 20, bidirectional=not decoder)
    t5.table.weight.data.copy_(ref.relative_attention_bias.weight)
    past, L = 30, 5  # queries 30..34 against keys 0..34
    q = torch.randn(1, 4, L, 4)
    bias = t5.score_bias(q, torch.arange(past, past + L), torch.arange(past + L), 0.5)
    if "past_seen_tokens" in inspect.signature(ref.compute_bias).parameters:  # transformers 5
        expected = ref.compute_bias(L, past + L, past_seen_tokens=past)
    else:  # transformers 4.x takes the queries' positions
        expected = ref.compute_bias(L, past + L, cache_position=torch.arange(past, past + L))
    torch.testing.assert_close(bias, expected, **FP32)


# --- RoPE --------------------------------------------------------------------------------------


@pytest.mark.parametrize("base", [10000.0, 500.0])
def test_rope_matches_hugging_face_llama(base):
    B, H, L, D = 2, 3, 6, 8
    rope = pos.RotaryEmbedding(D, base=base)
    q, k = torch.randn(B, H, L, D), torch.randn(B, H, L, D)
    positions = torch.arange(11, 11 + L)
    inv_freq = 1.0 / base ** (torch.arange(0, D, 2).float() / D)  # as in LlamaRotaryEmbedding
    freqs = positions[None, :, None].float() * inv_freq  # (1, L, D/2)
    emb = torch.cat((freqs, freqs), dim=-1).expand(B, L, D)  # (B, L, D)
    q_ref, k_ref = apply_rotary_pos_emb(q, k, emb.cos(), emb.sin(), unsqueeze_dim=1)  # cos -> (B, 1, L, D)
    torch.testing.assert_close(rope.rotate(q, positions), q_ref, **FP32)
    torch.testing.assert_close(rope.rotate(k, positions), k_ref, **FP32)


def test_rope_score_depends_only_on_the_offset():
    rope = pos.RotaryEmbedding(16)
    q, k = torch.randn(1, 1, 1, 16), torch.randn(1, 1, 1, 16)

    def score(m, n):
        return (rope.rotate(q, torch.tensor([m])) * rope.rotate(k, torch.tensor([n]))).sum()

    for m, n in [(0, 0), (3, 1), (1, 3), (5, 20)]:
        torch.testing.assert_close(score(m + 37, n + 37), score(m, n), atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(score(m, n), score(0, n - m), atol=1e-4, rtol=1e-4)
    assert not torch.allclose(score(0, 1), score(0, 2))  # but it does depend on the offset


def test_rope_interleaved_pairs_equal_half_split_after_permuting_dims():
    D, base = 8, 10000.0
    rope = pos.RotaryEmbedding(D, base=base)
    x, positions = torch.randn(2, 2, 5, D), torch.arange(5)
    theta = base ** (-torch.arange(0, D, 2).float() / D)  # (D/2,)
    angle = positions[:, None].float() * theta  # (L, D/2)
    even, odd = x[..., 0::2], x[..., 1::2]  # the paper's pairs (2i, 2i+1)
    paper = torch.stack((even * angle.cos() - odd * angle.sin(), even * angle.sin() + odd * angle.cos()), -1)
    paper = paper.flatten(-2)  # (2, 2, 5, D), back to interleaved order
    perm = torch.cat((torch.arange(0, D, 2), torch.arange(1, D, 2)))  # interleaved -> half-split
    torch.testing.assert_close(rope.rotate(x[..., perm], positions), paper[..., perm], **FP32)


# --- ALiBi -------------------------------------------------------------------------------------


def official_alibi_slopes(n):
    """get_slopes from ofirpress/attention_with_linear_biases, written out independently."""
    def power_of_2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]

    if math.log2(n).is_integer():
        return power_of_2(n)
    closest = 2 ** math.floor(math.log2(n))
    return power_of_2(closest) + official_alibi_slopes(2 * closest)[0::2][: n - closest]


def test_alibi_slopes_match_the_official_recipe():
    assert pos.ALiBi(8).slopes.tolist() == [1 / 2**h for h in range(1, 9)]
    for n in range(1, 65):
        torch.testing.assert_close(pos.ALiBi(n).slopes, torch.tensor(official_alibi_slopes(n)), **FP32)


@pytest.mark.parametrize("causal", [False, True])
def test_alibi_bias_values(causal):
    alibi = pos.ALiBi(2, causal=causal)
    q_pos, k_pos = torch.arange(2, 5), torch.arange(5)
    bias = alibi.score_bias(torch.randn(1, 2, 3, 4), q_pos, k_pos, 0.5)
    m = [2**-4, 2**-8]
    for h in range(2):
        for a, i in enumerate(q_pos.tolist()):
            for j in k_pos.tolist():
                want = float("-inf") if causal and j > i else -m[h] * abs(i - j)
                assert bias[0, h, a, j].item() == want


def test_alibi_causal_flag_equals_the_symmetric_bias_under_a_causal_mask():
    x = torch.randn(2, 6, 16)
    own = ca.MultiHeadAttention(16, 4, position=pos.ALiBi(4, causal=True)).eval()
    sym = ca.MultiHeadAttention(16, 4, position=pos.ALiBi(4)).eval()
    sym.load_state_dict(own.state_dict())
    torch.testing.assert_close(own(x)[0], sym(x, causal=True)[0], **FP32)


# --- every scheme inside attention -------------------------------------------------------------


def test_attention_without_position_is_permutation_equivariant():
    mha, x, perm = ca.MultiHeadAttention(16, 4).eval(), torch.randn(2, 6, 16), torch.tensor([3, 0, 4, 1, 5, 2])
    torch.testing.assert_close(mha(x[:, perm])[0], mha(x)[0][:, perm], **FP32)


@pytest.mark.parametrize("name", pos.SCHEMES)
def test_every_scheme_makes_order_matter(name):
    x, perm = torch.randn(2, 6, 16), torch.tensor([3, 0, 4, 1, 5, 2])  # neither identity nor reversal
    positions = torch.arange(6)
    s = scheme(name)
    if name in RELATIVE:
        mha = ca.MultiHeadAttention(16, 4, position=s).eval()
        out, out_permuted = mha(x)[0], mha(x[:, perm])[0]
    else:  # absolute: added to the inputs, attention itself is unchanged
        mha = ca.MultiHeadAttention(16, 4).eval()
        out, out_permuted = mha(s.embed(x, positions))[0], mha(s.embed(x[:, perm], positions))[0]
    assert not torch.allclose(out_permuted, out[:, perm], atol=1e-3)


@pytest.mark.parametrize("name", RELATIVE)
@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_and_math_backends_agree(name, causal):
    """Additive biases (ALiBi, T5) reach the fused kernel as a float mask; Shaw falls back to math."""
    s = scheme(name)
    fused = ca.MultiHeadAttention(16, 4, backend="sdpa", position=s).eval()
    math_ = ca.MultiHeadAttention(16, 4, backend="math", position=s).eval()
    math_.load_state_dict(fused.state_dict())
    x, key_mask = torch.randn(2, 6, 16), ca.masks.padding_mask([6, 4])
    torch.testing.assert_close(
        fused(x, causal=causal, key_mask=key_mask)[0], math_(x, causal=causal, key_mask=key_mask)[0], **FP32
    )


@pytest.mark.parametrize("name", RELATIVE)
@pytest.mark.parametrize("num_kv_heads", [4, 2])
def test_incremental_decoding_equals_the_full_causal_forward(name, num_kv_heads):
    mha = ca.MultiHeadAttention(16, 4, num_kv_heads=num_kv_heads, position=scheme(name)).eval()
    x = torch.randn(2, 7, 16)
    full, _ = mha(x, causal=True)
    cache = KVCache()
    steps = [mha(x[:, :3], causal=True, cache=cache)[0]]  # a 3-token prompt, then one token at a time
    steps += [mha(x[:, t: t + 1], causal=True, cache=cache)[0] for t in range(3, 7)]
    assert len(cache) == 7
    torch.testing.assert_close(torch.cat(steps, dim=1), full, **FP32)


# --- factory -----------------------------------------------------------------------------------


def test_build_makes_each_scheme_with_its_sizes():
    built = {name: pos.build(name, d_model=24, num_heads=3, max_len=40) for name in pos.SCHEMES}
    assert built["sinusoidal"].d_model == 24 and built["sinusoidal"].max_len == 40
    assert built["learned"].table.weight.shape == (40, 24)
    assert built["shaw"].a_k.shape == (2 * 16 + 1, 8)
    assert built["t5"].table.weight.shape == (32, 3)
    assert built["rope"].inv_freq.shape == (4,)
    assert built["alibi"].slopes.shape == (3,)
    assert pos.build("shaw", d_model=24, num_heads=3, max_distance=5).a_v.shape == (11, 8)
    assert pos.build("t5", d_model=24, num_heads=3, bidirectional=False).bidirectional is False
    assert pos.build("sinusoidal", d_model=24, num_heads=3, max_len=None).max_len is None


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("make,message", [
    (lambda: pos.SinusoidalPositionalEncoding(0), "d_model must be a positive int, got 0"),
    (lambda: pos.SinusoidalPositionalEncoding(8, max_len=0), "max_len must be a positive int, got 0"),
    (lambda: pos.ShawRelativePosition(4, max_distance=0), "max_distance must be a positive int, got 0"),
    (lambda: pos.T5RelativeBias(0), "num_heads must be a positive int, got 0"),
    (lambda: pos.T5RelativeBias(2, num_buckets=3), r"num_buckets=3 is too few.*num_buckets >= 4"),
    (lambda: pos.T5RelativeBias(2, num_buckets=1, bidirectional=False), r"num_buckets >= 2"),
    (lambda: pos.T5RelativeBias(2, num_buckets=32, max_distance=8), "max_distance=8 must exceed the 8 exact"),
    (lambda: pos.RotaryEmbedding(6, base=1.0), r"base must be a finite number in \(1, inf\), got 1.0"),
    (lambda: pos.RotaryEmbedding(7), "head_dim must be even for RoPE .* got 7"),
    (lambda: pos.ALiBi(-1), "num_heads must be a positive int, got -1"),
    (lambda: pos.build("xpos", d_model=8, num_heads=2),
     r"unknown position scheme 'xpos'; expected one of \('sinusoidal', 'learned', 'shaw', 't5', 'rope', 'alibi'\)"),
    (lambda: pos.build("rope", d_model=10, num_heads=3), "d_model=10 is not divisible by num_heads=3"),
    (lambda: pos.RotaryEmbedding(6, base=float("inf")), r"base must be a finite number in \(1, inf\), got inf"),
])
def test_bad_sizes_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("make,message", [
    (lambda: pos.T5RelativeBias(2, bidirectional=1), "bidirectional must be True or False, got 1"),
    (lambda: pos.ALiBi(2, causal="yes"), "causal must be True or False, got 'yes'"),
    (lambda: pos.build("alibi", d_model=8, num_heads=2, max_distance=3),
     r"position scheme 'alibi' \(ALiBi\) takes no option 'max_distance'; its options are \['causal'\]"),
    (lambda: pos.build("learned", d_model=8, num_heads=2, max_len=None), "max_len must be a positive int, got None"),
    (lambda: pos.build("rope", d_model=8.0, num_heads=2), "d_model must be a positive int, got 8.0"),
    (lambda: pos.ShawRelativePosition(4, max_distance=2.5), "max_distance must be a positive int, got 2.5"),
    (lambda: pos.LearnedPositionalEmbedding(8, 2.0), "d_model must be a positive int, got 2.0"),
    (lambda: pos.T5RelativeBias(2).bucket(torch.tensor([1.5])),
     "relative_position must be an integer tensor of distances j - i, got torch.float32"),
])
def test_bad_option_types_raise_type_error(make, message):
    with pytest.raises(TypeError, match=message):
        make()


def test_positions_beyond_a_learned_table():
    pe = pos.LearnedPositionalEmbedding(max_len=8, d_model=4)
    too_long = "positions reach 8, a sequence of length 9, but LearnedPositionalEmbedding has max_len=8"
    with pytest.raises(ValueError, match=too_long):
        pe.embed(torch.randn(1, 9, 4), torch.arange(9))
    with pytest.raises(ValueError, match="positions must be >= 0, got -1"):
        pe.embed(torch.randn(1, 2, 4), torch.tensor([-1, 0]))
    with pytest.raises(ValueError, match="but SinusoidalPositionalEncoding has max_len=4"):
        pos.SinusoidalPositionalEncoding(4, max_len=4).encoding(torch.arange(5))


@pytest.mark.parametrize("positions,error,message", [
    (torch.arange(6).view(2, 3), ValueError, r"positions must be 1-D, one position per token, got shape \(2, 3\)"),
    (torch.arange(3.0), TypeError, "positions must hold integer positions, got dtype torch.float32"),
    ([0, 1, 2], TypeError, "positions must be a torch.Tensor of integer positions, got list"),
    (torch.arange(4), ValueError, "positions has 4 entries but x has L=3 tokens"),
])
def test_bad_positions(positions, error, message):
    for pe in (pos.SinusoidalPositionalEncoding(4), pos.LearnedPositionalEmbedding(8, 4)):
        with pytest.raises(error, match=message):
            pe.embed(torch.randn(1, 3, 4), positions)


def test_inputs_that_do_not_fit_the_scheme():
    with pytest.raises(ValueError, match=r"x must be \(B, L, d_model=4\), got shape \(3, 4\)"):
        pos.SinusoidalPositionalEncoding(4).embed(torch.randn(3, 4), torch.arange(3))
    with pytest.raises(ValueError, match=r"x must be \(B, L, d_model=4\), got shape \(1, 3, 5\)"):
        pos.LearnedPositionalEmbedding(8, 4).embed(torch.randn(1, 3, 5), torch.arange(3))
    rope = pos.RotaryEmbedding(4)
    with pytest.raises(ValueError, match=r"x must be 4-D \(B, H, L, D\), got shape \(3, 4\)"):
        rope.rotate(torch.randn(3, 4), torch.arange(3))
    with pytest.raises(ValueError, match="x has head_dim 6 but RotaryEmbedding was built with head_dim=4"):
        rope.rotate(torch.randn(1, 1, 3, 6), torch.arange(3))
    with pytest.raises(ValueError, match="x has L=3 tokens but positions has 2 positions"):
        rope.rotate(torch.randn(1, 1, 3, 4), torch.arange(2))
    with pytest.raises(ValueError, match=r"k_pos must be 1-D"):
        pos.ALiBi(2).score_bias(torch.randn(1, 2, 3, 4), torch.arange(3), torch.zeros(1, 3, dtype=torch.long), 0.5)
    with pytest.raises(ValueError, match=r"weights must be \(B, H, L, S\) with \(L, S\) = \(3, 3\)"):
        pos.ShawRelativePosition(4).value_term(torch.randn(1, 2, 3, 4), torch.arange(3), torch.arange(3))


@pytest.mark.parametrize("name,message", [
    ("alibi", "q has 4 heads but ALiBi was built with num_heads=2"),
    ("t5", "q has 4 heads but T5RelativeBias was built with num_heads=2"),
    ("shaw", "q has head_dim 4 but ShawRelativePosition was built with head_dim=8"),
    ("rope", "x has head_dim 4 but RotaryEmbedding was built with head_dim=8"),
])
def test_scheme_sized_for_another_model(name, message):
    mha = ca.MultiHeadAttention(16, 4, position=scheme(name, E=16, H=2))  # built for 2 heads of 8
    with pytest.raises(ValueError, match=message):
        mha(torch.randn(1, 3, 16))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_rope_keeps_exact_angles_after_casting_the_model(dtype):
    """``.to(bfloat16)`` used to round a stored frequency buffer: 0.95 error at position 2000."""
    rope = pos.RotaryEmbedding(64).to(dtype)
    x = torch.randn(1, 1, 1, 64, dtype=torch.float64)
    positions = torch.tensor([2000])
    expected = pos.RotaryEmbedding(64).double().rotate(x, positions)  # float64 reference
    got = rope.rotate(x.to(dtype), positions).double()
    # only the inputs' and cos/sin's own rounding is left (a few units of the dtype's epsilon)
    assert (got - expected).abs().max() < 8 * torch.finfo(dtype).eps * x.abs().max()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_sinusoidal_and_alibi_keep_exact_values_after_casting_the_model(dtype):
    sinus = pos.SinusoidalPositionalEncoding(64).to(dtype)
    positions = torch.tensor([2000, 3001])
    reference = torch.tensor([[p / 10000 ** (2 * (i // 2) / 64) for i in range(64)] for p in (2000, 3001)],
                             dtype=torch.float64)
    reference[:, 0::2], reference[:, 1::2] = reference[:, 0::2].sin(), reference[:, 1::2].cos()
    assert (sinus.encoding(positions).double() - reference).abs().max() < 1e-3  # float32 angles
    alibi = pos.ALiBi(12).to(dtype)
    q = torch.zeros(1, 12, 1, 4, dtype=dtype)
    bias = alibi.score_bias(q, torch.tensor([0]), torch.tensor([1000]), 1.0).double()  # (1, 12, 1, 1)
    expected = -1000 * torch.tensor(pos._alibi_slopes(12), dtype=torch.float64)
    # one rounding of the final bias to the dtype, not a rounded slope multiplied by 1000
    torch.testing.assert_close(bias.flatten(), expected, atol=0, rtol=torch.finfo(dtype).eps)
