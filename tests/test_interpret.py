"""Attention rollout against a literal loop over the recursion of Abnar & Zuidema (ACL 2020)."""

import pytest
import torch

import course_attn as ca
from course_attn.interpret import attention_rollout


def random_attentions(num_layers, B, H, L, dtype=torch.float64):
    """Random rows of attention probabilities, one (B, H, L, L) tensor per layer."""
    return [torch.randn(B, H, L, L, dtype=dtype).mul(2).softmax(-1) for _ in range(num_layers)]


def loop_rollout(attentions, add_residual=True, fuse=lambda heads: sum(heads) / len(heads)):
    """The paper's recursion written element by element for one example: ``attentions`` is a
    list of ``(H, L, L)``. A = 0.5 W + 0.5 I (rows renormalized), R_1 = A_1, R_l = A_l R_{l-1}."""
    L = attentions[0].shape[-1]
    R = None
    for weights in attentions:
        W = fuse(list(weights))  # (L, L)
        A = [[float(W[i][j]) + (1.0 if add_residual and i == j else 0.0) for j in range(L)] for i in range(L)]
        A = [[a / sum(row) for a in row] for row in A]
        if R is None:
            R = A
        else:
            R = [[sum(A[i][k] * R[k][j] for k in range(L)) for j in range(L)] for i in range(L)]
    return torch.tensor(R, dtype=torch.float64)


@pytest.mark.parametrize("num_layers,H,L", [(1, 1, 3), (3, 4, 5), (6, 2, 7)])
def test_matches_the_literal_recursion(num_layers, H, L):
    attentions = random_attentions(num_layers, 2, H, L)
    got = attention_rollout(attentions)
    for b in range(2):
        expected = loop_rollout([a[b] for a in attentions])
        torch.testing.assert_close(got[b], expected)


def test_mean_fusion_with_residual_is_half_attention_half_identity():
    attentions = random_attentions(4, 1, 3, 6)
    expected = torch.eye(6, dtype=torch.float64)
    for a in attentions:
        expected = (0.5 * a[0].mean(0) + 0.5 * torch.eye(6, dtype=torch.float64)) @ expected
    torch.testing.assert_close(attention_rollout(attentions)[0], expected)


@pytest.mark.parametrize("fusion,reduce", [("max", lambda h: torch.stack(h).amax(0)),
                                           ("min", lambda h: torch.stack(h).amin(0))])
@pytest.mark.parametrize("add_residual", [True, False])
def test_other_head_fusions_and_no_residual(fusion, reduce, add_residual):
    attentions = random_attentions(3, 2, 4, 5)
    got = attention_rollout(attentions, add_residual=add_residual, head_fusion=fusion)
    for b in range(2):
        expected = loop_rollout([a[b] for a in attentions], add_residual=add_residual, fuse=reduce)
        torch.testing.assert_close(got[b], expected)


def test_rows_are_distributions_and_stacked_input_works():
    attentions = random_attentions(5, 3, 4, 9, dtype=torch.float32)
    for fusion in ("mean", "max", "min"):
        r = attention_rollout(attentions, head_fusion=fusion)
        assert r.shape == (3, 9, 9) and r.dtype == torch.float32
        assert (r >= 0).all()
        torch.testing.assert_close(r.sum(-1), torch.ones(3, 9))
    torch.testing.assert_close(attention_rollout(torch.stack(attentions)), attention_rollout(attentions))


def test_identity_attention_gives_identity_and_one_layer_without_residual_is_the_layer():
    eye = torch.eye(4).expand(1, 2, 4, 4)
    torch.testing.assert_close(attention_rollout([eye, eye, eye]), torch.eye(4)[None])
    (a,) = random_attentions(1, 2, 3, 5)
    torch.testing.assert_close(attention_rollout([a], add_residual=False), a.mean(1))


def test_half_precision_accumulates_in_float32():
    attentions = random_attentions(3, 1, 2, 6, dtype=torch.float32)
    r16 = attention_rollout([a.to(torch.bfloat16) for a in attentions])
    assert r16.dtype == torch.float32
    torch.testing.assert_close(r16, attention_rollout(attentions), atol=2e-2, rtol=0)


def test_padding_equals_the_unpadded_sequences():
    """A real encoder with padding: each example's rollout equals that of the example alone."""
    torch.manual_seed(0)
    config = ca.TransformerConfig(vocab_size=20, d_model=16, num_heads=2, num_layers=3, dropout=0.0, max_len=16)
    encoder = ca.TransformerEncoder(config).eval()
    lengths = [7, 4, 1]
    ids = torch.randint(0, 20, (3, 7))
    mask = ca.masks.padding_mask(lengths, 7)
    with torch.no_grad():
        batched = encoder(ids, key_mask=mask, need_weights=True).attentions
    got = attention_rollout(batched, key_mask=mask)
    for b, n in enumerate(lengths):
        with torch.no_grad():
            alone = encoder(ids[b:b + 1, :n], need_weights=True).attentions
        torch.testing.assert_close(got[b, :n, :n], attention_rollout(alone)[0], atol=1e-5, rtol=1e-5)
        assert (got[b, n:] == 0).all() and (got[b, :, n:] == 0).all(), "padding rows and columns are 0"
        torch.testing.assert_close(got[b, :n].sum(-1), torch.ones(n))
    # an int 0/1 mask is the same mask
    torch.testing.assert_close(attention_rollout(batched, key_mask=mask.long()), got)


def test_padding_columns_with_mass_are_dropped_and_rows_renormalized():
    attentions = random_attentions(2, 1, 2, 5)  # unmasked: the last two keys get weight too
    mask = torch.tensor([[True, True, True, False, False]])
    got = attention_rollout(attentions, key_mask=mask)
    expected = loop_rollout([a[0, :, :3, :3] for a in attentions])  # the sub-matrix, renormalized
    torch.testing.assert_close(got[0, :3, :3], expected)
    assert (got[0, 3:] == 0).all() and (got[0, :, 3:] == 0).all()


def test_bad_inputs():
    good = random_attentions(2, 1, 2, 4, dtype=torch.float32)
    with pytest.raises(ValueError, match="attentions is empty"):
        attention_rollout([])
    with pytest.raises(TypeError, match="need_weights=True"):
        attention_rollout([None, None])
    with pytest.raises(TypeError, match="list/tuple of"):
        attention_rollout("weights")
    with pytest.raises(ValueError, match=r"must be \(num_layers, B, H, L, L\), got shape \(2, 4, 4\)"):
        attention_rollout(torch.rand(2, 4, 4))
    with pytest.raises(ValueError, match=r"attentions\[0\] must be self-attention weights of shape \(B, H, L, L\), "
                                         r"got \(2, 4, 4\)"):
        attention_rollout([good[0][0]])
    with pytest.raises(ValueError, match=r"got \(1, 2, 4, 5\)"):
        attention_rollout([torch.rand(1, 2, 4, 5)])
    with pytest.raises(ValueError, match=r"attentions\[1\] is \(1, 2, 3, 3\)"):
        attention_rollout([good[0], torch.rand(1, 2, 3, 3)])
    with pytest.raises(TypeError, match="floating point, got dtype torch.int64"):
        attention_rollout([torch.ones(1, 1, 2, 2, dtype=torch.long)])
    with pytest.raises(ValueError, match="attention probabilities"):
        attention_rollout([good[0] - 1])
    with pytest.raises(ValueError, match="attention probabilities"):
        attention_rollout([good[0] * float("nan")])
    with pytest.raises(ValueError, match="head_fusion must be one of"):
        attention_rollout(good, head_fusion="median")
    with pytest.raises(TypeError, match=r"add_residual must be True or False, got 1 \(int\)"):
        attention_rollout(good, add_residual=1)
    with pytest.raises(ValueError, match=r"key_mask must have shape \(B, L\) = \(1, 4\), got \(4,\)"):
        attention_rollout(good, key_mask=torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match="only 0 and 1"):
        attention_rollout(good, key_mask=torch.full((1, 4), 2))
    with pytest.raises(TypeError, match="key_mask must be a torch.Tensor"):
        attention_rollout(good, key_mask=[[1, 1, 1, 1]])
