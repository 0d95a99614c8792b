"""The layers × heads attention grid and the interactive explorer, on a small model and on MiniLM."""

import os

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import course_attn as ca
from course_attn import explore

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def per_layer(N=3, B=2, H=4, L=5):
    return tuple(torch.rand(B, H, L, L).softmax(-1) for _ in range(N))


def test_stack_attentions_takes_one_example_of_every_layer():
    layers = per_layer()
    stacked = explore.stack_attentions(layers, example=1)
    assert stacked.shape == (3, 4, 5, 5)
    for i, a in enumerate(layers):
        assert torch.equal(stacked[i], a[1])
    assert torch.equal(explore.stack_attentions(stacked), stacked), "a stacked tensor passes through"
    assert torch.equal(explore.stack_attentions([a[0] for a in layers]), explore.stack_attentions(layers))


def test_stack_attentions_errors():
    with pytest.raises(ValueError, match="attentions is empty"):
        explore.stack_attentions(())
    with pytest.raises(ValueError, match=r"must be \(num_layers, H, L, L\), got shape \(4, 5, 5\)"):
        explore.stack_attentions(torch.rand(4, 5, 5))
    with pytest.raises(ValueError, match="example must index the batch of 2, got 2"):
        explore.stack_attentions(per_layer(), example=2)
    with pytest.raises(ValueError, match=r"attentions\[1\] must be .* self-attention, got \(4, 5, 6\)"):
        explore.stack_attentions([torch.rand(4, 5, 5), torch.rand(4, 5, 6)])
    with pytest.raises(ValueError, match="same"):
        explore.stack_attentions([torch.rand(4, 5, 5), torch.rand(4, 6, 6)])
    with pytest.raises(TypeError, match=r"a list/tuple of per-layer tensors or one \(num_layers, H, L, L\) tensor"):
        explore.stack_attentions(None)


def test_grid_draws_every_head_of_every_layer():
    layers = per_layer(N=2, B=1, H=3, L=6)
    tokens = list("abcd")  # 4 of the 6 positions: the last two are padding
    fig = explore.plot_attention_grid(layers, tokens, highlight=[(1, 2)], title="grid")
    axes = np.array(fig.axes).reshape(2, 3)
    for layer in range(2):
        for head in range(3):
            drawn = axes[layer, head].images[0].get_array()
            np.testing.assert_allclose(drawn, layers[layer][0, head, :4, :4].numpy(), rtol=1e-6)
    assert axes[0, 2].get_title() == "head 2" and axes[1, 0].get_ylabel() == "layer 1"
    assert axes[1, 2].spines["left"].get_edgecolor()[:3] == (1.0, 0.0, 0.0), "highlighted head is framed"
    assert axes[0, 0].spines["left"].get_edgecolor()[:3] != (1.0, 0.0, 0.0)
    plt.close(fig)
    with pytest.raises(ValueError, match="tokens has 7 labels but the sequence has only 6"):
        explore.plot_attention_grid(layers, list("abcdefg"))
    with pytest.raises(ValueError, match=r"highlight takes \(layer, head\) pairs .* got \(2, 0\)"):
        explore.plot_attention_grid(layers, highlight=[(2, 0)])


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("transformers")
    return ca.pretrained.load_minilm()


def test_sentence_attention_matches_the_batched_forward(minilm):
    encoder, tokenizer = minilm
    sentences = ["the cat sat on the mat.", "hi"]
    tokens, weights = explore.sentence_attention(encoder, tokenizer, sentences[0])
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and "cat" in tokens
    assert weights.shape == (6, 12, len(tokens), len(tokens))
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = encoder(batch["input_ids"], key_mask=batch["attention_mask"], need_weights=True)
    L = len(tokens)
    torch.testing.assert_close(weights, explore.stack_attentions(out.attentions)[..., :L, :L], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="non-empty string"):
        explore.sentence_attention(encoder, tokenizer, "  ")


def test_explorer_redraws_for_the_chosen_sentence_layer_and_head(minilm):
    pytest.importorskip("ipywidgets")
    encoder, tokenizer = minilm
    box = explore.attention_explorer(encoder, tokenizer, ["the cat sat.", "a dog ran away."], layer=1, head=2)
    text, sliders, _ = box.children
    layer_slider, head_slider = sliders.children
    tokens, weights = explore.sentence_attention(encoder, tokenizer, "the cat sat.")
    assert box.tokens == tokens
    torch.testing.assert_close(box.weights, weights[1, 2])
    head_slider.value = 7
    layer_slider.value = 5
    torch.testing.assert_close(box.weights, weights[5, 7])
    text.value = "a dog ran away."
    tokens2, weights2 = explore.sentence_attention(encoder, tokenizer, "a dog ran away.")
    assert box.tokens == tokens2
    torch.testing.assert_close(box.weights, weights2[5, 7])
    plt.close("all")
    with pytest.raises(ValueError, match="layer must be < 6 and head < 12, got 6, 0"):
        explore.attention_explorer(encoder, tokenizer, ["x"], layer=6)
    with pytest.raises(ValueError, match="non-empty list"):
        explore.attention_explorer(encoder, tokenizer, [])
