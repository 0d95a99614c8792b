"""The synthetic financial headlines and their stream: the documented rules, noise, events, determinism."""

import random

import pytest
import torch
import torch.nn.functional as F

from course_attn.data import finance
from course_attn.data.finance import CONSTRUCTIONS, SENTIMENTS, TOPICS, financial_headlines, headline, headline_stream
from course_attn.text import WordVocab, bag_of_words

# --- an independent reader of the documented rules ----------------------------------------------

VERBS = {}  # phrase (tuple of words) -> direction
for table, direction in ((finance._UP, 1), (finance._DOWN, -1), (finance._FLAT, 0)):
    for forms in table:
        for form in forms:
            VERBS[tuple(form.split())] = direction
SUBJECT_TOPIC = {s.lower(): t for t, subjects in finance._SUBJECTS.items() for s, _, _ in subjects}
EVENT_TOPIC = {e: t for t, events in finance._EVENTS.items() for e, _ in events}
EVENT_POLARITY = {e: p for events in finance._EVENTS.values() for e, p in events}
COMPANY_VP = {vp: p for p, vps in finance._COMPANY_VP.items() for vp in vps}


def first_verb(text):
    """(subject, direction, rest of the text) at the first move verb of ``text``."""
    words = text.replace(",", "").split()
    for i in range(len(words)):
        for phrase, direction in VERBS.items():
            if tuple(words[i:i + len(phrase)]) == phrase:
                return " ".join(words[:i]), direction, " ".join(words[i + len(phrase):])
    raise AssertionError(f"no move verb in {text!r}")


def sign(subject):
    return -1 if subject.endswith("yields") else 1


def read_headline(text):
    """(topic, sentiment in -1/0/1) of a headline, from the rules in the module's docstring."""
    t = text.lower()
    for split in finance._SPLIT:  # "analysts split on outlook for X": neutral
        if t.startswith(split + " "):
            return SUBJECT_TOPIC[t[len(split) + 1:]], 0
    for frames, value in ((finance._WEIGH, 0), (finance._NEGATE, -1), (finance._AFFIRM, 1)):
        for frame in frames:
            if f" {frame} " in t:  # event: frame x event polarity, weighing is neutral
                event = t.split(f" {frame} ", 1)[1]
                return EVENT_TOPIC[event], value * EVENT_POLARITY[event]
    if any(f" {h} " in t for h in finance._HEDGES):  # "X could rise, analysts say": neutral
        subject, _, _ = first_verb(t.replace(" could ", " ").replace(" may ", " ").replace(" might ", " "))
        return SUBJECT_TOPIC[subject], 0
    if t.startswith("despite "):  # the main clause decides, not the concession
        t = t.split(", ", 1)[1]
    t = t.split(" despite ")[0]
    if " but " in t:  # the clause after "but" decides
        first, second = t.split(" but ", 1)
        for vp in COMPANY_VP:
            if first.endswith(" " + vp):
                return "stocks", COMPANY_VP[second]
        subject, _, _ = first_verb(first)
        _, direction, _ = first_verb("x " + second)
        return SUBJECT_TOPIC[subject], direction * sign(subject)
    subject, direction, rest = first_verb(t)
    topic = SUBJECT_TOPIC[subject]
    if rest.startswith(("in line with", "as expected")):
        return topic, 0
    if rest.startswith("less than"):  # falls less than expected: better than feared
        return topic, -direction * sign(subject)
    return topic, direction * sign(subject)  # a move, or "more than expected"


def test_subjects_and_events_name_one_topic_each():
    subjects = [s.lower() for subjects in finance._SUBJECTS.values() for s, _, _ in subjects]
    assert len(subjects) == len(set(subjects)), "a subject belongs to one topic"
    events = [e for events in finance._EVENTS.values() for e, _ in events]
    assert len(events) == len(set(events)), "an event belongs to one topic"


def test_labels_follow_the_documented_rules():
    data = financial_headlines(4000, label_noise=0.0, generator=0)
    assert data["texts"] and len(data["texts"]) == 4000
    for text, topic, sentiment in zip(data["texts"], data["topic"].tolist(), data["sentiment"].tolist()):
        assert read_headline(text) == (TOPICS[topic], sentiment - 1), text
    # every construction occurs, hedges are always neutral, forex never has event headlines
    cons = data["construction"]
    assert set(cons.tolist()) == set(range(len(CONSTRUCTIONS)))
    hedge = cons == CONSTRUCTIONS.index("hedge")
    assert (data["sentiment"][hedge] == 1).all()
    forex_events = (data["topic"] == TOPICS.index("forex")) & (cons == CONSTRUCTIONS.index("event"))
    assert not forex_events.any()


def test_composition_examples():
    rng = random.Random(0)
    cases = [("bonds", "positive", "expectation"), ("stocks", "negative", "event"),
             ("crypto", "positive", "contrast"), ("forex", "neutral", "hedge")]
    for topic, sentiment, construction in cases:
        for _ in range(50):
            text = headline(topic, sentiment, construction, rng=rng)
            assert read_headline(text) == (topic, SENTIMENTS.index(sentiment) - 1), text
    assert headline("stocks", "positive", rng=3) == headline("stocks", "positive", rng=random.Random(3))


def test_overlapping_words_across_topics():
    data = financial_headlines(3000, label_noise=0.0, generator=1)
    topics_with = {}
    for text, topic in zip(data["texts"], data["topic"].tolist()):
        for word in ("gold", "bitcoin", "treasury", "index", "orbis", "dollar"):
            if word in text.lower().split():
                topics_with.setdefault(word, set()).add(TOPICS[topic])
    for word, topics in topics_with.items():
        assert len(topics) >= 2, f"{word!r} should occur in headlines of several topics, got {topics}"
    assert len(topics_with) == 6


def linear_bag_of_words_accuracy(train, test, task, vocab, steps=150):
    """Full-batch logistic regression on word counts; accuracy on the clean test labels."""
    torch.manual_seed(0)
    x, y = bag_of_words(train["texts"], vocab), train["clean_" + task]
    linear = torch.nn.Linear(len(vocab), int(y.max()) + 1)
    optimizer = torch.optim.Adam(linear.parameters(), lr=0.05)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: threads only add overhead on a busy machine
    try:
        for _ in range(steps):
            optimizer.zero_grad()
            F.cross_entropy(linear(x), y).backward()
            optimizer.step()
        with torch.no_grad():
            pred = linear(bag_of_words(test["texts"], vocab)).argmax(-1)
    finally:
        torch.set_num_threads(threads)
    return (pred == test["clean_" + task]).float().mean().item()


def test_sentiment_needs_word_order_but_topic_does_not():
    g = torch.Generator().manual_seed(0)
    train, test = financial_headlines(4000, generator=g), financial_headlines(2000, generator=g)
    vocab = WordVocab.build(train["texts"])
    sentiment = linear_bag_of_words_accuracy(train, test, "sentiment", vocab)
    topic = linear_bag_of_words_accuracy(train, test, "topic", vocab)
    # the rules (read_headline) get 100% of the clean labels; a bag of words cannot
    assert sentiment < 0.88, f"a bag of words should not solve sentiment, got {sentiment:.3f}"
    assert topic > 0.95, f"topic is mostly in the words, got {topic:.3f}"


def test_label_noise_rate_and_classes():
    data = financial_headlines(20000, label_noise=0.1, generator=2)
    for task, k in (("topic", len(TOPICS)), ("sentiment", len(SENTIMENTS))):
        changed = data[task] != data["clean_" + task]
        # 3 standard errors of a rate of 0.1 over 20000 draws are about 0.0064
        assert abs(changed.float().mean().item() - 0.1) < 0.0065
        assert ((0 <= data[task]) & (data[task] < k)).all()
    clean = financial_headlines(500, label_noise=0.0, generator=2)
    assert torch.equal(clean["topic"], clean["clean_topic"])
    assert torch.equal(clean["sentiment"], clean["clean_sentiment"])


def test_balance_follows_the_probabilities():
    data = financial_headlines(20000, sentiment_probs=(0.2, 0.5, 0.3), label_noise=0.0, generator=3)
    share = torch.bincount(data["sentiment"], minlength=3).float() / 20000
    assert torch.allclose(share, torch.tensor([0.2, 0.5, 0.3]), atol=0.011)
    topics = torch.bincount(data["topic"], minlength=6).float() / 20000
    assert torch.allclose(topics, torch.full((6,), 1 / 6), atol=0.011)


def test_headlines_are_deterministic_for_a_seed():
    a = financial_headlines(200, generator=5)
    b = financial_headlines(200, generator=torch.Generator().manual_seed(5))
    c = financial_headlines(200, generator=6)
    assert a["texts"] == b["texts"] and all(torch.equal(a[k], b[k]) for k in a if k != "texts")
    assert a["texts"] != c["texts"]
    g = torch.Generator().manual_seed(5)
    first, second = financial_headlines(200, generator=g), financial_headlines(200, generator=g)
    assert first["texts"] == a["texts"] and second["texts"] != a["texts"], "a Generator advances"


# --- the stream ----------------------------------------------------------------------------------


def test_stream_events_and_hidden_stress():
    s = headline_stream(60, num_events=8, calibration_days=25, min_gap=7, event_length=(2, 4), generator=0)
    events, mask, p = s["events"], s["event_mask"], s["p_negative"]
    assert events.shape == (8, 3) and mask.shape == p.shape == (6, 60)
    starts, ends = events[:, 1], events[:, 2]
    assert (starts >= 25).all() and (ends <= 60).all()
    assert ((ends - starts >= 2) & (ends - starts <= 4)).all()
    assert torch.equal(starts, starts.sort().values), "events are sorted by first day"
    rebuilt = torch.zeros(6, 60, dtype=torch.bool)
    for t, a, b in events.tolist():
        rebuilt[t, a:b] = True
        same = [(a2, b2) for t2, a2, b2 in events.tolist() if t2 == t and (a2, b2) != (a, b)]
        assert all(a >= b2 + 7 or a2 >= b + 7 for a2, b2 in same), "min_gap between a topic's events"
    assert torch.equal(rebuilt, mask)
    assert torch.allclose(p[mask], torch.tensor(0.7))
    assert (p[~mask] < 0.55).all() and (p[~mask] > 0.08).all(), "off-event stress drifts near 0.25"


def test_stream_headlines_follow_the_stress():
    s = headline_stream(60, headlines_per_day=60, generator=1)
    day, time = s["day"], s["time"]
    assert torch.equal(day, time.floor().long()) and (time[1:] >= time[:-1]).all(), "sorted by time"
    n = len(s["texts"])
    assert abs(n - 60 * 60) < 4 * (60 * 60) ** 0.5, "Poisson(headlines_per_day) a day"
    for key in ("topic", "sentiment", "clean_topic", "clean_sentiment", "construction"):
        assert s[key].shape == (n,)
    on_event = s["event_mask"][s["clean_topic"], day]  # (N,)
    negative = s["clean_sentiment"] == 0
    assert abs(negative[on_event].float().mean().item() - 0.7) < 0.08
    assert abs(negative[~on_event].float().mean().item() - 0.25) < 0.05
    for text, topic, sentiment in zip(s["texts"][:500], s["clean_topic"].tolist(), s["clean_sentiment"].tolist()):
        assert read_headline(text) == (TOPICS[topic], sentiment - 1), text


def test_stream_is_deterministic():
    kw = dict(num_events=4, calibration_days=10)
    a, b = headline_stream(40, generator=4, **kw), headline_stream(40, generator=4, **kw)
    c = headline_stream(40, generator=5, **kw)
    assert a["texts"] == b["texts"] and torch.equal(a["events"], b["events"])
    assert a["texts"] != c["texts"]


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: financial_headlines(0), ValueError, "num_examples must be a positive int, got 0"),
        (lambda: financial_headlines(5, label_noise=1.0), ValueError,
         r"label_noise must be a finite number in \[0, 1\), got 1.0"),
        (lambda: financial_headlines(5, sentiment_probs=(0.5, 0.5, 0.5)), ValueError, "sentiment_probs"),
        (lambda: financial_headlines(5, generator="0"), TypeError, "generator must be a torch.Generator"),
        (lambda: headline("bitcoin", "positive"), ValueError, "topic must be one of"),
        (lambda: headline("stocks", "good"), ValueError, "sentiment must be one of"),
        (lambda: headline("stocks", "positive", "hedge"), ValueError, "always neutral"),
        (lambda: headline("stocks", "positive", rng=1.5), TypeError, "rng must be"),
        (lambda: headline_stream(30, calibration_days=28), ValueError, "no room for events"),
        (lambda: headline_stream(30, num_events=20, calibration_days=5), ValueError, "could not place"),
        (lambda: headline_stream(30, event_negative=1.0), ValueError,
         r"event_negative must be a finite number in \(0, 1\), got 1.0"),
        (lambda: headline_stream(30, headlines_per_day=0), ValueError, "headlines_per_day"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_headlines_repeat_so_a_random_split_leaks_and_real_split_does_not():
    from course_attn.data.real import split

    texts = financial_headlines(6000, generator=0)["texts"]
    assert len(set(texts)) < 0.9 * len(texts), "templates make copies"
    order = torch.randperm(len(texts), generator=torch.Generator().manual_seed(0)).tolist()
    seen = {texts[i] for i in order[:4200]}
    leaked = sum(texts[i] in seen for i in order[5100:]) / 900
    assert 0.15 < leaked < 0.3, f"a random split puts {leaked:.0%} of test headlines in training"
    train, val, test = split(texts, (0.7, 0.15, 0.15), seed=0)
    assert not {texts[i] for i in train} & {texts[i] for i in test + val}
