"""The customer-service messages: their documented structure, label rules, noise, determinism, errors."""

import re
from collections import Counter

import pytest
import torch
import torch.nn.functional as F

from course_attn.data import customer_service as cs
from course_attn.data.customer_service import (
    INTENTS, TASKS, TOPICS, URGENCY, URGENCY_CUES, customer_messages,
)
from course_attn.text import WordVocab, bag_of_words

CLEAN = dict(label_noise=0.0, typo_rate=0.0)


def _plain(text):
    """Lower-cased words without punctuation and without the filler words the generator sprinkles in."""
    words = re.findall(r"[a-z']+", text.lower())
    return " ".join(w for w in words if w not in cs._FILLERS)


def test_structure_shapes_and_ranges():
    data = customer_messages(300, generator=0)
    assert set(data) == {"texts", "labels", "clean_labels", "contrast", "distractor", "ambiguous", "urgency_cue"}
    assert len(data["texts"]) == 300 and all(isinstance(t, str) and t for t in data["texts"])
    assert TASKS == {"intent": INTENTS, "topic": TOPICS, "urgency": URGENCY}
    for key in ("labels", "clean_labels"):
        assert set(data[key]) == set(TASKS)
        for task, names in TASKS.items():
            y = data[key][task]
            assert y.shape == (300,) and y.dtype == torch.long
            assert 0 <= int(y.min()) and int(y.max()) < len(names)
    assert data["contrast"].dtype == data["ambiguous"].dtype == torch.bool
    assert data["distractor"].dtype == data["urgency_cue"].dtype == torch.long
    assert ((0 <= data["urgency_cue"]) & (data["urgency_cue"] < len(URGENCY_CUES))).all()
    # a distractor exactly where there is a contrast, never the intent itself, never in vague messages
    assert torch.equal(data["distractor"] >= 0, data["contrast"])
    has = data["contrast"]
    assert (data["distractor"][has] != data["clean_labels"]["intent"][has]).all()
    assert not (data["contrast"] & data["ambiguous"]).any()


def test_label_balance_and_every_class_occurs():
    data = customer_messages(3000, generator=1)
    y = data["clean_labels"]
    intent = torch.bincount(y["intent"], minlength=len(INTENTS)) / 3000
    topic = torch.bincount(y["topic"], minlength=len(TOPICS)) / 3000
    assert ((intent > 0.1) & (intent < 0.2)).all(), intent  # 1/7 each
    assert (topic > 0.2).all(), topic
    assert 0.3 < y["urgency"].float().mean() < 0.6
    cues = torch.bincount(data["urgency_cue"], minlength=len(URGENCY_CUES)) / 3000
    assert torch.allclose(cues, torch.tensor(cs._CUE_PROBS), atol=0.03), cues


def test_every_object_names_one_topic_and_the_text_contains_it():
    owner = {}
    groups = [g for gs in cs._INTENT_GROUPS.values() for g in gs] + [(t, o, None) for t, o, _ in cs._VAGUE_GROUPS]
    for topic, objects, _ in groups:
        assert topic in TOPICS
        for obj in objects:
            assert owner.setdefault(obj, topic) == topic, f"{obj!r} belongs to two topics"
    data = customer_messages(500, contrast_rate=0.0, generator=2, **CLEAN)
    for text, topic in zip(data["texts"], data["clean_labels"]["topic"]):
        text = _plain(text)
        assert any(obj in text for obj, t in owner.items() if t == TOPICS[topic]), text


def _words(phrase):
    return Counter(phrase.replace("{x}", "").split())


def test_every_negated_clause_is_its_positive_clause_plus_one_not():
    templates = [t for groups in cs._INTENT_GROUPS.values() for _, _, ts in groups for t in ts]
    assert len(templates) > 30
    for positive, negated in templates:
        assert "not" not in _words(positive), positive
        assert _words(negated) - _words(positive) == Counter({"not": 1}), negated
        assert not _words(positive) - _words(negated), negated


def test_negated_cues_are_plain_cues_of_the_other_label_plus_a_negation():
    for label, phrases in cs._CUES["negated"].items():
        plain = {frozenset(_words(p).items()) for p in cs._CUES["word"][1 - label]}
        for phrase in phrases:
            words = _words(phrase)
            assert words["not"] == 1, phrase
            rest = words - Counter({"not": 1, "do": 1})
            assert frozenset(rest.items()) in plain, phrase


def test_a_bag_of_words_cannot_tell_which_clause_is_negated():
    g = torch.Generator().manual_seed(9)
    kwargs = dict(contrast_rate=1.0, ambiguous_rate=0.0, **CLEAN)
    train, test = customer_messages(3000, generator=g, **kwargs), customer_messages(1000, generator=g, **kwargs)
    vocab = WordVocab.build(train["texts"])
    torch.manual_seed(0)
    linear = torch.nn.Linear(len(vocab), len(INTENTS))
    optimizer = torch.optim.Adam(linear.parameters(), lr=0.05)
    x, y = bag_of_words(train["texts"], vocab), train["labels"]["intent"]
    for _ in range(200):
        optimizer.zero_grad()
        F.cross_entropy(linear(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        pred = linear(bag_of_words(test["texts"], vocab)).argmax(-1)
    real, other = test["labels"]["intent"], test["distractor"]
    assert ((pred == real) | (pred == other)).float().mean() > 0.9, "it finds the two intents"
    acc = (pred == real).float().mean().item()
    assert 0.4 < acc < 0.6, f"but not which one is negated: accuracy {acc:.3f}, chance 0.5"


def test_urgency_rule_for_messages_without_a_cue():
    data = customer_messages(2000, generator=3, **CLEAN)
    none = data["urgency_cue"] == URGENCY_CUES.index("none")
    lost = (data["clean_labels"]["intent"] == INTENTS.index("lost_card")) & ~data["ambiguous"]
    assert torch.equal(data["clean_labels"]["urgency"][none], lost[none].long())
    for c in range(1, len(URGENCY_CUES)):  # every cue comes in both labels
        assert set(data["clean_labels"]["urgency"][data["urgency_cue"] == c].tolist()) == {0, 1}


def _order_rule(text):
    """High iff the time right after "not" is a low-urgency time (only word order tells)."""
    times = "|".join(cs._HIGH_TIMES + cs._LOW_TIMES)
    negated = re.search(rf"\bnot ({times})\b", _plain(text)).group(1)
    return int(negated in cs._LOW_TIMES)


def test_order_cues_are_decided_by_word_order_alone():
    g = torch.Generator().manual_seed(4)
    train = customer_messages(3000, generator=g, **CLEAN)
    test = customer_messages(3000, generator=g, **CLEAN)
    order = URGENCY_CUES.index("order")
    is_order = test["urgency_cue"] == order
    texts = [t for t, o in zip(test["texts"], is_order) if o]
    rule = torch.tensor([_order_rule(t) for t in texts])
    assert torch.equal(rule, test["clean_labels"]["urgency"][is_order]), "the order rule is exact"
    # a linear bag-of-words classifier trained on order-cue messages stays near chance on them
    keep = train["urgency_cue"] == order
    train_texts = [t for t, k in zip(train["texts"], keep) if k]
    vocab = WordVocab.build(train_texts)
    x, y = bag_of_words(train_texts, vocab), train["clean_labels"]["urgency"][keep]
    torch.manual_seed(0)
    linear = torch.nn.Linear(len(vocab), 2)
    optimizer = torch.optim.Adam(linear.parameters(), lr=0.05)
    for _ in range(200):
        optimizer.zero_grad()
        F.cross_entropy(linear(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        pred = linear(bag_of_words(texts, vocab)).argmax(-1)
    acc = (pred == test["clean_labels"]["urgency"][is_order]).float().mean().item()
    assert acc < 0.65, f"bag of words should be near chance on order cues, got {acc:.3f}"


def test_contrast_and_ambiguous_rates():
    data = customer_messages(1000, contrast_rate=1.0, ambiguous_rate=0.0, generator=5)
    assert data["contrast"].all() and not data["ambiguous"].any()
    data = customer_messages(1000, ambiguous_rate=1.0, generator=5, **CLEAN)
    assert data["ambiguous"].all() and not data["contrast"].any()
    for topic, _, candidates in cs._VAGUE_GROUPS:
        mine = data["clean_labels"]["topic"] == TOPICS.index(topic)
        got = torch.bincount(data["clean_labels"]["intent"][mine], minlength=len(INTENTS))
        allowed = torch.zeros(len(INTENTS), dtype=torch.bool)
        allowed[[INTENTS.index(i) for i in candidates]] = True
        assert (got[~allowed] == 0).all(), "a vague message's intent is one of its 3 candidates"
        assert (got[allowed] > 0.2 * mine.sum()).all(), "drawn uniformly among them"


def test_label_noise_flips_the_documented_share_to_another_class():
    data = customer_messages(4000, label_noise=0.2, generator=6)
    for task in TASKS:
        flipped = (data["labels"][task] != data["clean_labels"][task]).float().mean().item()
        assert abs(flipped - 0.2) < 0.03, (task, flipped)  # a flip always changes the class
    data = customer_messages(500, label_noise=0.0, generator=6)
    assert all(torch.equal(data["labels"][t], data["clean_labels"][t]) for t in TASKS)


def test_typos_and_surface_variation():
    a = customer_messages(300, typo_rate=0.0, generator=7)
    b = customer_messages(300, typo_rate=0.3, generator=7)
    assert a["texts"] != b["texts"]
    assert any(t[0].isupper() for t in a["texts"]) and any(t[0].islower() for t in a["texts"])
    assert any("n't" in t for t in a["texts"]) and any(" not " in t.lower() for t in a["texts"])


def test_deterministic_for_a_seed():
    a = customer_messages(50, generator=7)
    b = customer_messages(50, generator=torch.Generator().manual_seed(7))
    c = customer_messages(50, generator=8)
    assert a["texts"] == b["texts"] and all(torch.equal(a["labels"][t], b["labels"][t]) for t in TASKS)
    assert a["texts"] != c["texts"]
    g = torch.Generator().manual_seed(7)
    first, second = customer_messages(50, generator=g), customer_messages(50, generator=g)
    assert first["texts"] == a["texts"]
    assert first["texts"] != second["texts"], "a Generator advances between calls"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(num_examples=0), ValueError, "num_examples must be a positive int, got 0"),
        (dict(num_examples=2.0), TypeError, r"num_examples must be a positive int, got 2.0 \(float\)"),
        (dict(num_examples=2, label_noise=1.5), ValueError,
         r"label_noise must be a finite number in \[0, 1\], got 1.5"),
        (dict(num_examples=2, typo_rate="0.1"), TypeError, "typo_rate must be a number, got '0.1' \\(str\\)"),
        (dict(num_examples=2, contrast_rate=-0.1), ValueError,
         r"contrast_rate must be a finite number in \[0, 1\], got -0.1"),
        (dict(num_examples=2, ambiguous_rate=True), TypeError, "ambiguous_rate must be a number"),
        (dict(num_examples=2, generator="0"), TypeError, "generator must be a torch.Generator"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        customer_messages(**kwargs)
