"""course_attn.vit: patches cut as ViT cuts them, a [CLS] classifier whose positions, padding and
attention maps behave as documented, and clear errors on bad input."""

from __future__ import annotations

import pytest
import torch

import course_attn as ca
from course_attn.vit import TokenClassifier, patchify


def config(position="learned", **kw):
    return ca.TransformerConfig(vocab_size=1, d_model=16, num_heads=2, num_layers=2, max_len=17,
                                position=position, dropout=0.0, **kw)


# ----------------------------------------------------------------------------- patchify


@pytest.mark.parametrize("H, W, p", [(28, 28, 7), (6, 9, 3), (4, 4, 1)])
def test_patchify_matches_slicing_by_hand_row_by_row(H, W, p):
    images = torch.randn(3, H, W)
    patches = patchify(images, p)
    cols = W // p
    assert patches.shape == (3, (H // p) * cols, p * p)
    for k in range(patches.shape[1]):
        r, c = divmod(k, cols)
        assert torch.equal(patches[:, k], images[:, r * p:(r + 1) * p, c * p:(c + 1) * p].flatten(1)), k


def test_a_patch_is_a_square_not_a_run_of_a_row():
    images = torch.arange(16.0).reshape(1, 4, 4)
    assert patchify(images, 2)[0].tolist() == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]


def test_patchify_refuses_bad_input():
    with pytest.raises(ValueError, match="patch must divide the image's height and width, got patch=5"):
        patchify(torch.zeros(2, 28, 28), 5)
    with pytest.raises(ValueError, match=r"images must be 3-D \(B, H, W\)"):
        patchify(torch.zeros(28, 28), 7)
    with pytest.raises(ValueError, match="patch must be a positive int, got 0"):
        patchify(torch.zeros(2, 28, 28), 0)


# ----------------------------------------------------------------------------- TokenClassifier


def test_the_cls_token_sits_at_position_0_and_the_tokens_at_1_to_n():
    torch.manual_seed(0)
    model = TokenClassifier(4, 3, config()).eval()
    seen = {}
    model.encoder.register_forward_hook(lambda m, args, kwargs, out: seen.update(kwargs), with_kwargs=True)
    x = torch.randn(2, 16, 4)
    model(x)
    embeds = seen["embeds"]  # what the encoder got: [CLS] then the linear embedding of each token
    assert torch.equal(embeds[:, 0], model.cls.expand(2, -1, -1)[:, 0])
    assert torch.allclose(embeds[:, 1:], model.embed(x))
    table = model.encoder.embeddings.position.table.weight  # (max_len, d)
    assert torch.allclose(model.encoder.embeddings(embeds=embeds), embeds + table[:17])  # ViT's eq. 1


def test_without_positions_the_classifier_sees_a_set_of_tokens():
    torch.manual_seed(0)
    x = torch.randn(3, 16, 4)
    order = torch.randperm(16)
    bag = TokenClassifier(4, 3, config(position=None)).eval()
    assert torch.allclose(bag(x[:, order]), bag(x), atol=1e-5)
    ordered = TokenClassifier(4, 3, config()).eval()
    assert not torch.allclose(ordered(x[:, order]), ordered(x), atol=1e-4)


def test_padded_tokens_change_nothing_when_masked():
    torch.manual_seed(0)
    model = TokenClassifier(4, 3, config(position="sinusoidal")).eval()
    x = torch.randn(2, 10, 4)
    padded = torch.cat([x, 50 * torch.randn(2, 6, 4)], dim=1)
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[:, :10] = True
    assert torch.allclose(model(padded, key_mask=mask), model(x), atol=1e-5)
    maps = model.attention_maps(padded, key_mask=mask)
    assert len(maps) == 2 and maps[0].shape == (2, 2, 17, 17)
    assert (maps[-1][..., 11:] == 0).all()  # no query attends to padding ([CLS] is column 0)
    assert torch.allclose(maps[-1].sum(-1), torch.ones(2, 2, 17))


def test_attention_maps_come_from_the_same_forward_as_the_logits():
    torch.manual_seed(0)
    model = TokenClassifier(4, 3, config()).eval()
    x = torch.randn(2, 16, 4)
    out = model.encoder(embeds=torch.cat([model.cls.expand(2, -1, -1), model.embed(x)], 1), need_weights=True)
    for got, expected in zip(model.attention_maps(x), out.attentions, strict=True):
        assert torch.allclose(got, expected)
    assert torch.allclose(model(x), model.head(out.last_hidden_state))


def test_token_classifier_refuses_bad_input():
    model = TokenClassifier(4, 3, config())
    with pytest.raises(ValueError, match=r"x must be \(B, N, 4\), got \(2, 16, 5\)"):
        model(torch.randn(2, 16, 5))
    with pytest.raises(ValueError, match=r"key_mask must be \(B, N\) = \(2, 16\), got \(2, 15\)"):
        model(torch.randn(2, 16, 4), key_mask=torch.ones(2, 15, dtype=torch.bool))
    with pytest.raises(TypeError, match="key_mask must hold booleans"):
        model(torch.randn(2, 16, 4), key_mask=torch.ones(2, 16))
    with pytest.raises(ValueError, match="max_len"):
        model(torch.randn(2, 17, 4))  # 17 tokens + [CLS] need 18 learned positions
    with pytest.raises(TypeError, match="config must be a course_attn.TransformerConfig, got dict"):
        TokenClassifier(4, 3, {"d_model": 16})
    with pytest.raises(ValueError, match="in_features must be a positive int"):
        TokenClassifier(0, 3, config())
