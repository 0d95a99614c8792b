"""The kernel-free views (course_attn.views): the numbers each view embeds are the package's numbers.

What the browser then draws from them is checked in tests/browser/test_views.py, on the built book.
"""

import json
import math
import os
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import course_attn as ca
from course_attn import positional as pos
from course_attn import views
from course_attn.views._page import decode, encode

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SENTENCES = ["the cat sat on the mat.", "a dog saw a dog in the park."]


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("transformers")
    return ca.pretrained.load_minilm()


def embedded(view):
    """The JSON a view's HTML carries, parsed back."""
    match = re.search(r'<script type="application/json" class="ca-view-data">(.*?)</script>', view.html(), re.S)
    return json.loads(match.group(1))


# --- the encoding of numbers ----------------------------------------------------------------------


@pytest.mark.parametrize("decimals", [0, 3, 6])
def test_encode_decode_round_trip(decimals):
    x = torch.cat([torch.randn(50) * 10, torch.tensor([0.0, -0.0, 1.0, -1e-9, 123456.789, -15.5])]).view(2, 28)
    got = decode(encode(x, decimals))
    assert got.shape == x.shape
    assert torch.equal(got, torch.round(x.double() * 10**decimals) / 10**decimals)
    assert (got - x.double()).abs().max() <= 0.5 * 10**-decimals + 1e-9


def test_encode_refuses_non_finite():
    with pytest.raises(ValueError, match="finite"):
        encode(torch.tensor([1.0, math.nan]), 3)


def test_html_carries_the_data_safely():
    q, k = torch.randn(1, 2), torch.randn(3, 2)
    labels = ["</script><b>x</b>", "<!-- a", "k2"]
    view = views.softmax_view(q, k, key_labels=labels, title="t")
    html = view.html()
    assert html.count("</script>") == 2, "the labels cannot close the data's <script>"
    assert embedded(view) == view.data
    assert embedded(view)["key_labels"] == labels
    assert "window.courseAttnViews.mount(document.currentScript.parentElement)" in html
    assert "needs JavaScript" in html, "a fallback line where scripts do not run"
    assert view._repr_html_() == html and "softmax" in repr(view)


# --- attention of the real model ------------------------------------------------------------------


def test_attention_view_holds_every_head_of_the_real_model(minilm):
    encoder, tokenizer = minilm
    view = views.attention_view(encoder, tokenizer, SENTENCES, layer=2, head=9, query=3)
    data = embedded(view)
    assert (data["layers"], data["heads"]) == (6, 12)
    assert (data["layer"], data["head"], data["query"], data["sentence"]) == (2, 9, 3, 0)
    for sentence, entry in zip(SENTENCES, data["sentences"]):
        batch = tokenizer([sentence], return_tensors="pt")
        with torch.no_grad():
            out = encoder(batch["input_ids"], key_mask=batch["attention_mask"],
                          token_type_ids=batch["token_type_ids"], need_weights=True)
        expected = torch.stack([a[0] for a in out.attentions]).double()  # (N, H, L, L)
        assert entry["text"] == sentence
        assert entry["tokens"] == tokenizer.convert_ids_to_tokens(batch["input_ids"][0].tolist())
        shown = decode(entry["weights"])
        assert shown.shape == expected.shape
        assert (shown - expected).abs().max() <= 0.5e-3 + 1e-6, "to 3 decimals"
        tokens, from_explore = ca.explore.sentence_attention(encoder, tokenizer, sentence)
        assert torch.equal(shown, torch.round(from_explore.double() * 1000) / 1000)


def test_attention_view_computes_in_eval_mode_and_restores_the_mode(minilm):
    encoder, tokenizer = minilm
    encoder.train()
    try:
        a = decode(views.attention_view(encoder, tokenizer, SENTENCES[:1]).data["sentences"][0]["weights"])
        b = decode(views.attention_view(encoder, tokenizer, SENTENCES[:1]).data["sentences"][0]["weights"])
        assert encoder.training, "the caller's mode is restored"
    finally:
        encoder.eval()
    assert torch.equal(a, b), "no dropout in the weights shown"


@pytest.mark.parametrize("kwargs, error, message", [
    ({"sentences": "the cat"}, TypeError, "got a single str"),
    ({"sentences": []}, ValueError, "non-empty list of non-empty strings"),
    ({"sentences": ["ok", "  "]}, ValueError, "non-empty list of non-empty strings"),
    ({"layer": 6}, ValueError, "layer must be in [0, 6), got 6"),
    ({"head": -1}, ValueError, "head must be in [0, 12), got -1"),
    ({"head": 1.0}, TypeError, "head must be an int"),
    ({"query": 99}, ValueError, "query must index a token of the first sentence"),
    ({"decimals": 9}, ValueError, "decimals must be between 0 and 6, got 9"),
    ({"title": 3}, TypeError, "title must be a str or None, got int"),
])
def test_attention_view_bad_inputs(minilm, kwargs, error, message):
    encoder, tokenizer = minilm
    kwargs = {"sentences": SENTENCES[:1], **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        views.attention_view(encoder, tokenizer, **kwargs)


# --- softmax with a temperature -------------------------------------------------------------------


def test_softmax_view_scores_give_the_package_attention_at_every_temperature():
    q, k, v = torch.randn(4, 8), torch.randn(6, 8), torch.randn(6)
    view = views.softmax_view(q, k, v, temperature=2.0, temperatures=(0.1, 10.0), marks={"√8": 8**0.5})
    data = embedded(view)
    scores = decode(data["scores"])  # (4, 6)
    torch.testing.assert_close(scores, q.double() @ k.double().T, atol=0.5e-6, rtol=0)
    torch.testing.assert_close(decode(data["queries"]), q.double(), atol=0.5e-6, rtol=0)
    torch.testing.assert_close(decode(data["keys"]), k.double(), atol=0.5e-6, rtol=0)
    for tau in (0.1, 1.0, 2.0, 8**0.5, 10.0):
        out, w = ca.scaled_dot_product_attention(q, k, v[:, None], scale=1 / tau, need_weights=True)
        drawn = (scores / tau).softmax(-1)  # what the browser computes from the data
        torch.testing.assert_close(drawn, w.double(), atol=1e-5, rtol=0)
        torch.testing.assert_close(drawn @ torch.tensor(data["values"], dtype=torch.float64), out[:, 0].double(),
                                   atol=1e-5, rtol=0)
    assert data["temperatures"] == [0.1, 10.0] and data["temperature"] == 2.0
    assert data["marks"] == [{"label": "√8", "value": 8**0.5}]


def test_softmax_view_draws_two_dimensional_vectors_and_labels():
    angles = torch.deg2rad(torch.tensor([0.0, 90.0, 200.0]))
    keys = torch.stack([angles.cos(), angles.sin()], -1)  # (3, 2)
    data = views.softmax_view(keys[:2], keys, query=1, query_labels=["a", "b"], key_labels=["x", "y", "z"],
                              query_name="angle").data
    assert torch.allclose(decode(data["keys"]), keys.double(), atol=1e-6)
    assert data["query_labels"] == ["a", "b"] and data["key_labels"] == ["x", "y", "z"]
    assert data["query"] == 1 and data["query_name"] == "angle" and data["values"] is None
    one = views.softmax_view(keys[0], keys).data  # one (d,) query
    assert one["scores"]["shape"] == [1, 3] and one["query_labels"] == ["query 0"]


@pytest.mark.parametrize("call, error, message", [
    (lambda q, k: views.softmax_view([1.0, 2.0], k), TypeError, "queries must be a torch.Tensor"),
    (lambda q, k: views.softmax_view(q, k[:, :3]), ValueError, "queries have d=4 features but keys have 3"),
    (lambda q, k: views.softmax_view(q, k.int()), TypeError, "keys must hold floating-point values"),
    (lambda q, k: views.softmax_view(q, k, torch.ones(4)), ValueError, "values has 4 entries but there are 5 keys"),
    (lambda q, k: views.softmax_view(q, k, temperatures=(0.0, 1.0)), ValueError, "temperatures[0] must be a finite number in (0, inf)"),
    (lambda q, k: views.softmax_view(q, k, temperatures=3.0), TypeError, "temperatures must be a (low, high) pair"),
    (lambda q, k: views.softmax_view(q, k, temperature=1000.0), ValueError, "temperature must be a finite number in [0.01, 100]"),
    (lambda q, k: views.softmax_view(q, k, marks={"big": 500.0}), ValueError, "marks['big'] must be a finite number"),
    (lambda q, k: views.softmax_view(q, k, query=2), ValueError, "query must be in [0, 2), got 2"),
    (lambda q, k: views.softmax_view(q, k, key_labels=["a"]), ValueError, "key_labels has 1 labels but there are 5"),
    (lambda q, k: views.softmax_view(q, k, query_labels="ab"), TypeError, "query_labels must be a list of strings"),
    (lambda q, k: views.softmax_view(q * math.inf, k), ValueError, "must be finite"),
])
def test_softmax_view_bad_inputs(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call(torch.randn(2, 4), torch.randn(5, 4))


# --- position schemes -----------------------------------------------------------------------------


def shown(view, scheme, variant=0):
    return decode(view.data["schemes"][scheme]["variants"][variant]["values"])


def test_position_view_numbers_are_the_schemes_numbers():
    n = 24
    sinusoidal, learned = pos.SinusoidalPositionalEncoding(32), pos.LearnedPositionalEmbedding(64, 16)
    rope, alibi = pos.RotaryEmbedding(16), pos.ALiBi(4)
    t5, shaw = pos.T5RelativeBias(2, num_buckets=16, max_distance=32), pos.ShawRelativePosition(8, max_distance=3)
    view = views.position_view({"sin": sinusoidal, "learned": learned, "rope": rope, "alibi": alibi,
                                "t5": t5, "shaw": shaw}, positions=n, query=5)
    p = torch.arange(n)
    i, j = p[:, None], p[None, :]
    close = dict(atol=0.5e-3 + 1e-9, rtol=0)

    pe = sinusoidal.encoding(p).double()  # (n, 32), rows of norm sqrt(16)
    torch.testing.assert_close(shown(view, 0), pe @ pe.T / 16, **close)
    table = learned.table.weight[:n].detach().double()
    torch.testing.assert_close(shown(view, 1), F.cosine_similarity(table[:, None], table[None], dim=-1), **close)
    # RoPE: unit vector with equal entries rotated to i and j: sum over the 8 frequencies of cos((j - i) θ_f) / 8
    theta = rope.inv_freq.double()
    expected = torch.cos((j - i)[..., None] * theta).mean(-1)
    torch.testing.assert_close(shown(view, 2), expected, **close)
    assert len(view.data["schemes"][3]["variants"]) == 4
    for h, slope in enumerate(alibi.slopes.tolist()):
        torch.testing.assert_close(shown(view, 3, h), -slope * (i - j).abs().double(), **close)
        assert view.data["schemes"][3]["variants"][h]["label"] == f"head {h + 1}: slope 1/{1 / slope:g}"
    assert torch.equal(shown(view, 4), t5.bucket(j - i).double())
    assert torch.equal(shown(view, 5), ((j - i).clamp(-3, 3) + 3).double())
    assert view.data["query"] == 5 and view.data["positions"] == n
    assert view.data["schemes"][3]["spec"] == {"class": "ALiBi", "args": {"num_heads": 4, "causal": False}}
    assert view.data["schemes"][2]["spec"] == {"class": "RotaryEmbedding", "args": {"head_dim": 16, "base": 10000.0}}


def test_position_view_takes_a_list_and_labels_it_by_kind_and_size():
    view = views.position_view([pos.RotaryEmbedding(8), pos.ALiBi(2), pos.SinusoidalPositionalEncoding(16),
                                pos.T5RelativeBias(2, num_buckets=8, max_distance=20)], positions=4)
    assert [s["label"] for s in view.data["schemes"]] == [
        "RoPE (d_k = 8)", "ALiBi (2 heads)", "sinusoidal (d = 16)", "T5 buckets (8 buckets, max_distance 20)"]
    assert view.data["query"] == 2, "the middle position by default"


# --- the words of a view in the book's Chinese edition ----------------------------------------------------


def chinese_of(text):
    """The Chinese views.js shows for ``text`` on a Chinese page (its ZH table: exact, then by pattern), or None."""
    source = (Path(views.__file__).parent / "views.js").read_text("utf-8")
    table = source[source.index("var ZH = {"):source.index("};", source.index("var ZH = {"))]
    entries = dict(re.findall(r'"((?:[^"\\]|\\.)*)":\s*"((?:[^"\\]|\\.)*)"', table))
    unescape = lambda t: json.loads(f'"{t}"')  # noqa: E731
    entries = {unescape(k): unescape(v) for k, v in entries.items()}
    if text in entries:
        return entries[text]
    for key, zh in sorted(entries.items(), key=lambda kv: -len(re.sub(r"\{\d\}", "", kv[0]))):
        parts = [re.escape(p) for p in re.split(r"\{\d\}", key)]
        match = re.fullmatch("(.+?)".join(parts), text)
        if len(parts) > 1 and match:
            return re.sub(r"\{(\d)\}", lambda m: match.group(int(m.group(1)) + 1), zh)
    return None


def test_every_text_the_package_writes_into_a_view_has_its_chinese():
    schemes = [pos.SinusoidalPositionalEncoding(64), pos.LearnedPositionalEmbedding(512, 384),
               pos.RotaryEmbedding(64), pos.ALiBi(8), pos.T5RelativeBias(4, 32, 128), pos.ShawRelativePosition(8, 3)]
    data = views.position_view(schemes, positions=6).data
    texts = [data["title"], views.softmax_view(torch.randn(2, 4), torch.randn(3, 4)).data["title"]]
    for s in data["schemes"]:
        texts += [s["label"], s["what"], s["variant_name"]] + [v["label"] for v in s["variants"] if v["label"]]
    assert len(texts) == 2 + 6 * 3 + 8
    missing = [t for t in texts if chinese_of(t) is None]
    assert missing == [], f"views.js has no Chinese for {missing}"
    assert chinese_of("head 3: slope 1/8") == "第 3 个头：斜率 1/8"
    assert chinese_of("ALiBi (8 heads)") == "ALiBi（8 个头）"
    assert chinese_of("a label of the reader's own") is None


@pytest.mark.parametrize("call, error, message", [
    (lambda: views.position_view({}), ValueError, "schemes is empty"),
    (lambda: views.position_view("rope"), TypeError, "schemes must be a dict of label: scheme or a list"),
    (lambda: views.position_view({"x": torch.nn.Linear(2, 2)}), TypeError, "schemes['x'] must be a course_attn.positional scheme"),
    (lambda: views.position_view({1: pos.ALiBi(2)}), TypeError, "scheme labels must be str"),
    (lambda: views.position_view([pos.ALiBi(2, causal=True)]), ValueError, "position_view draws ALiBi(causal=False)"),
    (lambda: views.position_view([pos.ALiBi(2)], positions=1), ValueError, "positions must be an int >= 2"),
    (lambda: views.position_view([pos.ALiBi(2)], positions=8, query=8), ValueError, "query must be in [0, 8), got 8"),
    (lambda: views.position_view([pos.LearnedPositionalEmbedding(4, 2)], positions=8), ValueError, "max_len=4"),
    (lambda: views.position_matrices(pos.PositionScheme(), 4), TypeError, "got PositionScheme"),
])
def test_position_view_bad_inputs(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()
