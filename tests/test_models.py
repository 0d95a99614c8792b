"""Encoder, decoder and encoder-decoder: attention outputs, the KV cache, generation."""

import math

import pytest
import torch

import course_attn as ca
from conftest import FP32

SCHEMES = [None, "sinusoidal", "learned", "shaw", "t5", "rope", "alibi"]


def small(position="sinusoidal", **kw):
    kw = {"vocab_size": 40, "d_model": 32, "num_heads": 4, "num_layers": 2, "dropout": 0.0,
          "position": position, "max_len": 64, **kw}
    return ca.TransformerConfig(**kw)


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_encoder_returns_every_layers_attention(norm):
    encoder = ca.TransformerEncoder(small(norm=norm, num_kv_heads=2)).eval()
    ids, key_mask = torch.randint(0, 40, (3, 9)), ca.masks.padding_mask([9, 6, 1], 9)
    out = encoder(ids, key_mask=key_mask, need_weights=True, output_hidden_states=True)
    fast = encoder(ids, key_mask=key_mask)
    torch.testing.assert_close(fast.last_hidden_state, out.last_hidden_state, **FP32)
    assert fast.attentions is None and fast.hidden_states is None
    assert len(out.attentions) == 2 and len(out.hidden_states) == 3
    # each layer's weights are those of its attention module applied to that layer's input
    for i, layer in enumerate(encoder.layers):
        h = out.hidden_states[i]
        h = layer.attn_residual.norm(h) if norm == "pre" else h
        _, expected = layer.attn(h, key_mask=key_mask, need_weights=True)
        torch.testing.assert_close(out.attentions[i], expected, **FP32)
        assert (out.attentions[i][2, :, :, 1:] == 0).all(), "padding gets no attention"


def test_encoder_accepts_embeddings_instead_of_ids():
    encoder = ca.TransformerEncoder(small()).eval()
    ids = torch.randint(0, 40, (2, 5))
    from_ids = encoder(ids).last_hidden_state
    from_embeds = encoder(embeds=encoder.embeddings.tokens(ids)).last_hidden_state
    torch.testing.assert_close(from_embeds, from_ids)


@pytest.mark.parametrize("position", SCHEMES)
def test_cached_decoding_equals_the_full_causal_forward(position):
    decoder = ca.TransformerDecoder(small(position), cross_attention=False).eval()
    ids = torch.randint(0, 40, (2, 12))
    full = decoder(ids).logits  # (B, L, vocab)
    caches = decoder.new_caches()
    steps = [decoder(ids[:, :5], caches=caches).logits]  # a prompt first, then one token at a time
    steps += [decoder(ids[:, t:t + 1], caches=caches).logits for t in range(5, 12)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, **FP32)
    assert len(caches[0]) == 12 and caches[0].k.shape == (2, 4, 12, 8)


@pytest.mark.parametrize("position", SCHEMES)
def test_decoder_is_causal(position):
    decoder = ca.TransformerDecoder(small(position), cross_attention=False).eval()
    ids = torch.randint(0, 40, (1, 10))
    changed = ids.clone()
    changed[0, 7:] = (ids[0, 7:] + 1) % 40
    torch.testing.assert_close(decoder(ids).logits[:, :7], decoder(changed).logits[:, :7], **FP32)


def test_generate_with_and_without_cache_gives_the_same_tokens():
    ca.seed_everything(1)
    decoder = ca.TransformerDecoder(small("rope", num_kv_heads=1), cross_attention=False).eval()
    prompt = torch.randint(0, 40, (3, 4))
    with_cache = decoder.generate(prompt, 20, use_cache=True)
    without = decoder.generate(prompt, 20, use_cache=False)
    assert with_cache.shape == (3, 24)
    assert torch.equal(with_cache, without)
    assert torch.equal(with_cache[:, :4], prompt)


def test_generate_stops_at_eos():
    decoder = ca.TransformerDecoder(small(), cross_attention=False).eval()
    prompt = torch.randint(0, 40, (1, 3))
    first = decoder.generate(prompt, 1)[0, -1].item()
    assert decoder.generate(prompt, 10, eos_id=first).shape == (1, 4)


@pytest.mark.parametrize("norm", ["post", "pre"])
@pytest.mark.parametrize("position", ["sinusoidal", "rope"])
def test_untrained_decoder_has_unit_scale_logits(norm, position):
    # Tied N(0, 1) embeddings give logits of scale √d and a first loss near 100 instead of ln V.
    ca.seed_everything(0)
    vocab = 1000
    config = ca.TransformerConfig(vocab_size=vocab, d_model=128, num_heads=4, num_layers=2, dropout=0.0,
                                  position=position, norm=norm)
    decoder = ca.TransformerDecoder(config, cross_attention=False)
    assert decoder.lm_head.weight is decoder.embeddings.tokens.weight
    ids = torch.randint(0, vocab, (8, 32))
    inputs = decoder.embeddings.tokens(ids) * decoder.embeddings.scale  # (B, L, d)
    assert 0.9 < inputs.std().item() < 1.1
    logits = decoder(ids).logits  # (B, L, V)
    assert 0.7 < logits.std(-1).median().item() < 1.5
    targets = torch.randint(0, vocab, (8, 32))  # unrelated to the inputs, as next tokens are at first
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
    # a few nats above a uniform guess: the model still favours its current token
    assert math.log(vocab) < loss.item() < math.log(vocab) + 4


def test_encoder_decoder_teacher_forcing_matches_cached_generation():
    model = ca.EncoderDecoder(small("learned")).eval()
    src, src_mask = torch.randint(0, 40, (2, 7)), ca.masks.padding_mask([7, 4], 7)
    generated = model.generate(src, bos_id=1, max_new_tokens=6, src_key_mask=src_mask)
    assert torch.equal(generated, model.generate(src, bos_id=1, max_new_tokens=6, src_key_mask=src_mask,
                                                 use_cache=False))
    # teacher forcing on the generated prefix predicts the same next tokens
    logits = model(src, generated[:, :-1], src_key_mask=src_mask).logits
    assert torch.equal(logits.argmax(-1), generated[:, 1:])
    # padded source tokens do not matter
    src2 = src.clone()
    src2[1, 4:] = (src[1, 4:] + 3) % 40
    torch.testing.assert_close(model(src2, generated, src_key_mask=src_mask).logits[1],
                               model(src, generated, src_key_mask=src_mask).logits[1], **FP32)


def test_encoder_decoder_returns_cross_attention():
    model = ca.EncoderDecoder(small()).eval()
    out = model(torch.randint(0, 40, (2, 6)), torch.randint(0, 40, (2, 4)), need_weights=True)
    assert len(out.cross_attentions) == 2 and out.cross_attentions[0].shape == (2, 4, 4, 6)
    torch.testing.assert_close(out.cross_attentions[0].sum(-1), torch.ones(2, 4, 4), **FP32)


def test_embedding_errors():
    encoder = ca.TransformerEncoder(small())
    with pytest.raises(ValueError, match=r"input_ids must lie in \[0, 40\) \(vocab_size\), got values from 0 to 40"):
        encoder(torch.tensor([[0, 40]]))
    with pytest.raises(ValueError, match="pass exactly one of input_ids"):
        encoder(torch.tensor([[0, 1]]), embeds=torch.randn(1, 2, 32))
    with pytest.raises(ValueError, match=r"input_ids must be 2-D \(B, L\), got shape \(2,\)"):
        encoder(torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="input_ids must hold integers, got dtype torch.float32"):
        encoder(torch.tensor([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="caches must hold one KVCache per layer"):
        ca.TransformerDecoder(small(), cross_attention=False)(torch.tensor([[1]]), caches=[ca.KVCache()])
