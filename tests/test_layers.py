"""Encoder and decoder blocks against torch.nn.TransformerEncoderLayer / TransformerDecoderLayer."""

import pytest
import torch
from torch import nn

import course_attn as ca
from conftest import FP32


def config(norm, **kw):
    return ca.TransformerConfig(vocab_size=50, d_model=16, num_heads=4, d_ff=24, norm=norm, position=None,
                                layer_norm_eps=1e-5, **kw)


def copy_attention(ours: ca.MultiHeadAttention, theirs: nn.MultiheadAttention):
    ours.load_state_dict(ca.MultiHeadAttention.from_torch(theirs).state_dict())


def randomize(module):
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.3)
    return module


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_encoder_block_matches_torch(norm):
    theirs = randomize(nn.TransformerEncoderLayer(16, 4, 24, dropout=0.0, activation="gelu", batch_first=True,
                                                  norm_first=norm == "pre")).eval()
    ours = ca.EncoderBlock(config(norm)).eval()
    copy_attention(ours.attn, theirs.self_attn)
    ours.ff.fc1.load_state_dict(theirs.linear1.state_dict())
    ours.ff.fc2.load_state_dict(theirs.linear2.state_dict())
    ours.attn_residual.norm.load_state_dict(theirs.norm1.state_dict())
    ours.ff_residual.norm.load_state_dict(theirs.norm2.state_dict())

    x, key_mask = torch.randn(3, 7, 16), ca.masks.padding_mask([7, 5, 2], 7)
    expected = theirs(x, src_key_padding_mask=ca.masks.to_torch(key_mask))
    out, weights = ours(x, key_mask=key_mask, need_weights=True)
    real = key_mask  # torch's fast path may leave padded rows as zeros; compare real tokens
    torch.testing.assert_close(out[real], expected[real], **FP32)
    torch.testing.assert_close(ours(x, key_mask=key_mask)[0], out, **FP32)  # fused path, same result
    assert weights.shape == (3, 4, 7, 7) and (weights[2, :, :, 2:] == 0).all()


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_decoder_block_matches_torch(norm):
    theirs = randomize(nn.TransformerDecoderLayer(16, 4, 24, dropout=0.0, activation="gelu", batch_first=True,
                                                  norm_first=norm == "pre")).eval()
    ours = ca.DecoderBlock(config(norm)).eval()
    copy_attention(ours.self_attn, theirs.self_attn)
    copy_attention(ours.cross_attn, theirs.multihead_attn)
    ours.ff.fc1.load_state_dict(theirs.linear1.state_dict())
    ours.ff.fc2.load_state_dict(theirs.linear2.state_dict())
    for mine, norm_layer in ((ours.self_residual, theirs.norm1), (ours.cross_residual, theirs.norm2),
                             (ours.ff_residual, theirs.norm3)):
        mine.norm.load_state_dict(norm_layer.state_dict())

    x, memory = torch.randn(2, 5, 16), torch.randn(2, 6, 16)
    memory_mask = ca.masks.padding_mask([6, 3], 6)
    expected = theirs(x, memory, tgt_mask=ca.masks.to_torch(ca.masks.causal_mask(5)),
                      memory_key_padding_mask=ca.masks.to_torch(memory_mask))
    out, self_w, cross_w = ours(x, memory, memory_key_mask=memory_mask, need_weights=True)
    torch.testing.assert_close(out, expected, **FP32)
    assert (self_w.triu(1) == 0).all() and (cross_w[1, :, :, 3:] == 0).all()


def test_decoder_block_checks_memory():
    block = ca.DecoderBlock(config("pre"), cross_attention=False)
    with pytest.raises(ValueError, match="memory must be given exactly when the block has cross-attention"):
        block(torch.randn(1, 3, 16), torch.randn(1, 2, 16))
    with pytest.raises(ValueError, match="memory must be given exactly"):
        ca.DecoderBlock(config("pre"))(torch.randn(1, 3, 16))


def test_post_and_pre_norm_place_layer_norm_differently():
    x = torch.randn(2, 4, 16) * 5 + 3
    post = ca.EncoderBlock(config("post")).eval()
    pre = ca.EncoderBlock(config("pre")).eval()
    out_post, out_pre = post(x)[0], pre(x)[0]
    # post-LN ends with a LayerNorm: every token comes out normalized
    torch.testing.assert_close(out_post.mean(-1), torch.zeros(2, 4), atol=1e-5, rtol=0)
    # pre-LN keeps the residual stream un-normalized: x plus the sub-layers' outputs
    assert out_pre.mean(-1).abs().min() > 0.5


def test_config_errors():
    with pytest.raises(ValueError, match="d_model=10 is not divisible by num_heads=4"):
        ca.TransformerConfig(vocab_size=5, d_model=10, num_heads=4)
    with pytest.raises(ValueError, match=r"norm must be one of \('post', 'pre'\), got 'middle'"):
        ca.TransformerConfig(vocab_size=5, norm="middle")
    with pytest.raises(ValueError, match="vocab_size must be a positive int"):
        ca.TransformerConfig(vocab_size=0)
    with pytest.raises(ValueError, match=r"dropout must be a finite number in \[0, 1\), got 1.0"):
        ca.TransformerConfig(vocab_size=5, dropout=1.0)
    assert ca.TransformerConfig(vocab_size=5, d_model=8, num_heads=2).d_ff == 32
