"""Kobayashi norms, head behaviour scores, head ablation, deletion importance and rank correlation."""

import pytest
import torch
import torch.nn.functional as F

import course_attn as ca
from course_attn import interpret


@pytest.fixture
def layer():
    torch.manual_seed(0)
    return ca.MultiHeadAttention(12, 3, bias=True).eval()


def _nonzero_biases(attn):
    with torch.no_grad():
        for proj in (attn.q_proj, attn.k_proj, attn.v_proj, attn.out_proj):
            proj.bias.normal_()


def test_norm_contributions_sum_to_the_layer_output(layer):
    _nonzero_biases(layer)
    x = torch.randn(2, 5, 12)
    with torch.no_grad():
        out, w = layer(x, need_weights=True)  # w: (B, H, L, S)
    per_head = interpret.norm_contributions(layer, x, w)
    summed = interpret.norm_contributions(layer, x, w, sum_heads=True)
    assert per_head.shape == (2, 3, 5, 5) and summed.shape == (2, 5, 5)
    # a loop over heads and keys, from the definition
    D = 4
    v = layer.v_proj(x).detach()  # (B, S, H*D)
    total = torch.zeros(2, 5, 12)
    for b in range(2):
        for i in range(5):
            for j in range(5):
                vec_sum = torch.zeros(12)
                for h in range(3):
                    f = v[b, j, h * D:(h + 1) * D] @ layer.out_proj.weight[:, h * D:(h + 1) * D].T.detach()
                    vec = w[b, h, i, j] * f
                    assert torch.allclose(per_head[b, h, i, j], vec.norm(), atol=1e-5)
                    vec_sum += vec
                assert torch.allclose(summed[b, i, j], vec_sum.norm(), atol=1e-5)
                total[b, i] += vec_sum
    # the vectors add up to the layer's output minus its output bias
    torch.testing.assert_close(total + layer.out_proj.bias.detach(), out, atol=1e-5, rtol=1e-5)
    # triangle inequality, and strict somewhere: the norm of the sum is not the sum of the norms
    assert (summed <= per_head.sum(1) + 1e-6).all()
    assert (summed < per_head.sum(1) - 1e-3).any()


def test_norm_contributions_grouped_query_and_bad_input():
    attn = ca.MultiHeadAttention(8, 4, num_kv_heads=2).eval()
    x = torch.randn(1, 3, 8)
    with torch.no_grad():
        out, w = attn(x, need_weights=True)
    summed = interpret.norm_contributions(attn, x, w, sum_heads=True)
    assert summed.shape == (1, 3, 3)
    with pytest.raises(ValueError, match=r"weights must have shape \(B, H, L, S\)"):
        interpret.norm_contributions(attn, x, w[:, :2])
    with pytest.raises(TypeError, match="attn must be a course_attn MultiHeadAttention"):
        interpret.norm_contributions(torch.nn.Linear(2, 2), x, w)


def test_behaviour_score_previous_token_head():
    B, layers, H, L = 2, 2, 3, 6
    A = torch.full((B, layers, H, L, L), 1 / L)
    prev = torch.eye(L).roll(-1, dims=1)  # row i -> key i-1 (row 0 -> key L-1)
    A[:, 1, 2] = prev
    pos = torch.arange(L)
    target = (pos[:, None] - 1 == pos[None, :]).expand(B, L, L)
    queries = (pos >= 1).expand(B, L)
    score = interpret.behaviour_score(A, target, queries)
    assert score.shape == (layers, H)
    assert score[1, 2] == 1 and torch.allclose(score[0], torch.full((H,), 1 / L))
    as_list = interpret.behaviour_score(list(A.unbind(1)), target, queries)
    assert torch.equal(score, as_list)
    real = torch.ones(B, L, dtype=torch.bool)
    real[1, 4:] = False
    assert torch.allclose(interpret.behaviour_score(A, target, queries, real)[1, 2], torch.tensor(1.0))
    with pytest.raises(ValueError, match="no query is selected"):
        interpret.behaviour_score(A, target, torch.zeros(B, L, dtype=torch.bool))
    with pytest.raises(TypeError, match="target must hold"):
        interpret.behaviour_score(A, target.float(), queries)


def test_ablate_heads_restores_and_finds_the_head_that_matters():
    torch.manual_seed(0)
    enc = ca.TransformerEncoder(ca.TransformerConfig(vocab_size=20, d_model=16, num_heads=4,
                                                     num_layers=2, dropout=0.0)).eval()
    with torch.no_grad():  # make head 1 of layer 1 dominate the output
        enc.layers[1].attn.out_proj.weight[:, 4:8] *= 50
    ids = torch.randint(0, 20, (2, 7))
    with torch.no_grad():
        base = enc(ids).last_hidden_state
    attns = [b.attn for b in enc.layers]

    def moved():
        with torch.no_grad():
            return (enc(ids).last_hidden_state - base).norm()

    effect = interpret.ablate_heads(attns, moved)
    assert effect.shape == (2, 4)
    assert effect.argmax().item() == 1 * 4 + 1
    with torch.no_grad():
        assert torch.equal(enc(ids).last_hidden_state, base), "every head restored"
    with pytest.raises(RuntimeError):
        with interpret.head_removed(attns[0], 2):
            raise RuntimeError("boom")
    with torch.no_grad():
        assert torch.equal(enc(ids).last_hidden_state, base), "restored after an error too"
    with pytest.raises(ValueError, match="head must be < num_heads=4"):
        with interpret.head_removed(attns[0], 4):
            pass


def test_deletion_importance_and_spearman():
    table = torch.zeros(10, 3)
    table[3] = torch.tensor([5.0, 0, 0])  # token 3 dominates the mean

    def embed(ids):
        return table[ids[0]].mean(0) + torch.tensor([0, 1.0, 0])

    ids = torch.tensor([[0, 3, 1, 2, 0]])
    imp = interpret.deletion_importance(embed, ids, keep=[0, -1])
    assert imp[0] == 0 and imp[-1] == 0
    assert imp.argmax().item() == 1
    assert torch.allclose(imp[2], imp[3])
    assert interpret.spearman(torch.tensor([1.0, 2, 3, 4]), torch.tensor([10.0, 20, 30, 40])) == pytest.approx(1)
    assert interpret.spearman(torch.tensor([1.0, 2, 3, 4]), torch.tensor([4.0, 3, 2, 1])) == pytest.approx(-1)
    # ties get mean ranks: scipy.stats.spearmanr([1,2,2,3],[1,3,2,4]) = 0.9486832980505138
    assert interpret.spearman(torch.tensor([1.0, 2, 2, 3]), torch.tensor([1.0, 3, 2, 4])) == pytest.approx(
        0.9486832980505138)
    with pytest.raises(ValueError, match="constant input"):
        interpret.spearman(torch.ones(3), torch.arange(3.0))
    with pytest.raises(ValueError, match="same length"):
        interpret.spearman(torch.ones(3), torch.ones(4))


def test_behaviour_score_broadcasts_and_refuses_other_shapes():
    A = torch.rand(2, 1, 2, 4, 4).softmax(-1)
    target = torch.eye(4, dtype=torch.bool)
    full = interpret.behaviour_score(A, target.expand(2, 4, 4), torch.ones(2, 4, dtype=torch.bool))
    assert torch.equal(interpret.behaviour_score(A, target[None], torch.ones(1, 4, dtype=torch.bool)), full)
    with pytest.raises(ValueError, match=r"target must be \(B, L, L\)"):
        interpret.behaviour_score(A, torch.ones(2, 3, 3, dtype=torch.bool), torch.ones(2, 4, dtype=torch.bool))
