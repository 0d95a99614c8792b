"""Synthetic financial headlines with a topic and a sentiment, and a stream of them over days.

**Headlines** (:func:`financial_headlines`). Each headline is about one asset class, its *topic*
(``TOPICS``: stocks, funds, futures, bonds, forex, crypto), and has a *sentiment* (``SENTIMENTS``:
negative, neutral, positive) **from the point of view of a holder of that asset**. A headline is
generated for a target topic and sentiment from one of five *constructions* (``CONSTRUCTIONS``),
and the label follows rules that depend on how the words combine, not on single words:

* ``"move"`` -- a subject, a price move and often a distractor tail: *"Helix Pharma shares slide
  4% as oil futures climb"*. Up is positive, down negative, flat (*"holds steady"*) neutral;
  the tail (*"as oil futures climb"*) never changes the label. **Bond yields move against bond
  prices**: *"Treasury yields rise"* is negative for bonds, *"Treasury yields fall"* positive.
* ``"expectation"`` -- a move measured against expectations: *"… falls less than expected"* is
  positive (better than feared), *"… rises less than expected"* negative, *"… more than
  expected"* keeps the direction, *"… in line with expectations"* is neutral. So
  sentiment = direction × (more: +1, less: -1), times -1 again for yields: an XOR of words.
* ``"event"`` -- an actor and a corporate or market event under a frame: *"Orbis Bank announces
  share buyback"* (positive), *"Orbis Bank rules out share buyback"* (negative), *"Orbis Bank
  denies plans for dividend cut"* (positive), *"Orbis Bank weighs share buyback"* (neutral:
  undecided). Sentiment = frame (affirm +1, negate -1) × event polarity; hedged frames are neutral.
* ``"contrast"`` -- two clauses of opposite sign: *"bitcoin falls early but rises later"* takes
  the sign of the clause after *but*; *"X rises despite weak demand"* and *"despite weak demand, X
  rises"* take the sign of the main clause, not of the *despite* phrase. The two orders of a
  *but* headline have the same bag of words and opposite labels.
* ``"hedge"`` -- speculation and mixed views: *"the yen could rise, traders say"*, *"analysts
  split on outlook for gold futures"*. Always neutral: nothing has happened yet.

**Topics overlap in their words**: company names occur in stocks headlines (*"Orbis Bank shares"*)
and in bonds headlines (*"Orbis Bank bonds"*, *"Orbis Bank denies plans for debt
restructuring"*); *gold* in futures and funds (*"the gold miners ETF"*); *bitcoin* in crypto and
funds (*"the spot bitcoin ETF"*); *Treasury* in bonds and futures; *index* in funds and futures;
and every move tail names an instrument of another topic (*"as the dollar strengthens"*). The topic
is the one of the subject (or of the event), wherever other topics' words appear.

**Headlines repeat**: a few hundred words and a handful of templates make a finite set of headlines,
so a sample of thousands holds many copies of the same text, and a random train/test split puts
about a fifth of the test headlines word for word in training. Split with
:func:`course_attn.data.real.split`, which keeps identical texts in one part.

**Label noise**: after generation, each label is replaced, independently with probability
``label_noise``, by a different class drawn uniformly. ``clean_topic`` and ``clean_sentiment``
keep the labels before the noise.

**The stream** (:func:`headline_stream`) simulates ``num_days`` days of headlines. Each day brings
``Poisson(headlines_per_day)`` headlines with uniform topics and uniform times in the day. Each
topic has a hidden *stress* level: the probability ``p_neg[topic, day]`` that a headline is
negative, ``sigmoid(logit(base_negative) + z)`` with ``z`` an AR(1) process (``z_d = 0.6 z_{d-1} +
0.25 ε``, small day-to-day drift), except on the days of an injected **event**, where it is
``event_negative``. ``num_events`` events of ``event_length`` days each (uniform in the given
range) start on days drawn uniformly in ``calibration_days … num_days - max length``, each on a
random topic, with at least ``min_gap`` days between the end of one event of a topic and the start
of the next one of the same topic. The rest of a day's headlines are neutral or positive with
equal probability. The events are returned, so alerts can be scored against them.
"""

from __future__ import annotations

import math
import random

import torch
from torch import Tensor

from .._validate import integer, number
from ._common import as_generator


__all__ = [
    "TOPICS", "SENTIMENTS", "CONSTRUCTIONS", "financial_headlines", "headline_stream",
    "headline",
]

TOPICS = ("stocks", "funds", "futures", "bonds", "forex", "crypto")
SENTIMENTS = ("negative", "neutral", "positive")
CONSTRUCTIONS = ("move", "expectation", "event", "contrast", "hedge")
NEG, NEU, POS = -1, 0, 1

_COMPANIES = [
    "Orbis Bank", "Helix Pharma", "Norland Motors", "Kestrel Energy", "Vanta Retail", "Lumen Tech",
    "Castor Mining", "Arden Foods",
]

# Subjects of price moves: (text, plural?, sign). sign -1: the quoted number moves against the
# asset's price (bond yields), so "yields rise" is bad news for bond holders.
_SUBJECTS = {
    "stocks": [(f"{c} shares", True, 1) for c in _COMPANIES]
    + [(f"{c} stock", False, 1) for c in _COMPANIES[:4]]
    + [("bank stocks", True, 1), ("tech shares", True, 1), ("the blue-chip index", False, 1),
       ("oil stocks", True, 1)],
    "funds": [("the Harbor Growth Fund", False, 1), ("the Meridian Income Fund", False, 1),
              ("the gold miners ETF", False, 1), ("the spot bitcoin ETF", False, 1),
              ("a popular index fund", False, 1), ("bond fund assets", True, 1),
              ("hedge fund returns", True, 1), ("the Atlas Value Fund", False, 1)],
    "futures": [("crude oil futures", True, 1), ("gold futures", True, 1), ("copper futures", True, 1),
                ("wheat futures", True, 1), ("natural gas futures", True, 1),
                ("stock index futures", True, 1), ("Treasury futures", True, 1),
                ("soybean contracts", True, 1)],
    "bonds": [("Treasury yields", True, -1), ("10-year yields", True, -1), ("bund yields", True, -1),
              ("Treasuries", True, 1), ("corporate bonds", True, 1), ("junk bonds", True, 1),
              ("municipal bonds", True, 1)]
    + [(f"{c} bonds", True, 1) for c in _COMPANIES[:4]],
    "forex": [("the dollar", False, 1), ("the euro", False, 1), ("the yen", False, 1),
              ("sterling", False, 1), ("the Swiss franc", False, 1), ("the yuan", False, 1),
              ("emerging market currencies", True, 1), ("the Australian dollar", False, 1)],
    "crypto": [("bitcoin", False, 1), ("ether", False, 1), ("solana", False, 1),
               ("crypto tokens", True, 1), ("dogecoin", False, 1), ("altcoins", True, 1),
               ("the largest stablecoin", False, 1), ("crypto markets", True, 1)],
}

# (third person singular, plural) forms
_UP = [("rises", "rise"), ("climbs", "climb"), ("gains", "gain"), ("rallies", "rally"),
       ("jumps", "jump"), ("advances", "advance")]
_DOWN = [("falls", "fall"), ("drops", "drop"), ("slides", "slide"), ("slumps", "slump"),
         ("declines", "decline"), ("tumbles", "tumble")]
_FLAT = [("is little changed", "are little changed"), ("holds steady", "hold steady"),
         ("trades flat", "trade flat"), ("is unchanged", "are unchanged")]
_AMOUNTS = ["0.8%", "1%", "1.5%", "2%", "3%", "4%", "6%"]

# Tails that name another instrument and a move but never change the label.
_TAILS = [
    "as the dollar strengthens", "as the dollar weakens", "as oil futures climb", "as gold futures slip",
    "as bitcoin slides", "as bitcoin rallies", "as bond yields rise", "as bond yields fall",
    "as tech shares rally", "as bank stocks drop", "amid rate worries", "ahead of jobs data",
    "after the central bank meeting", "in heavy trading", "in thin holiday trading",
    "as fund inflows slow", "as the euro firms",
]
_MORE = ["more than expected", "more than forecast", "more than analysts expected"]
_LESS = ["less than expected", "less than forecast", "less than analysts expected"]
_INLINE = ["in line with expectations", "as expected", "in line with forecasts"]

# Event construction: actors and events (text, polarity for a holder of the topic's assets).
_ACTORS = {
    "stocks": _COMPANIES,
    "funds": ["the Harbor Growth Fund", "the Meridian Income Fund", "the Atlas Value Fund",
              "the gold miners ETF", "the spot bitcoin ETF"],
    "futures": ["OPEC+", "Saudi Arabia", "Russia", "the largest copper miner"],
    "bonds": _COMPANIES[:5] + ["the Treasury", "the government"],
    "crypto": ["CoinHarbor exchange", "Blockvault exchange", "the solana foundation", "the ether foundation"],
}
_EVENTS = {
    "stocks": [("share buyback", POS), ("special dividend", POS), ("dividend increase", POS),
               ("dividend cut", NEG), ("profit warning", NEG), ("share sale", NEG), ("product recall", NEG)],
    "funds": [("fee cut", POS), ("fee waiver", POS), ("redemption freeze", NEG), ("fund liquidation", NEG),
              ("fee increase", NEG)],
    "futures": [("output cuts", POS), ("export curbs", POS), ("output increase", NEG),
                ("release of reserves", NEG)],
    "bonds": [("debt buyback", POS), ("early repayment", POS), ("debt restructuring", NEG),
              ("missed coupon payment", NEG), ("bond default", NEG)],
    "crypto": [("token buyback", POS), ("staking rewards", POS), ("withdrawal halt", NEG),
               ("token delisting", NEG), ("large token unlock", NEG)],
}
_AFFIRM = ["announces", "confirms", "plans"]
_NEGATE = ["rules out", "denies plans for", "scraps"]
_WEIGH = ["weighs", "considers", "is said to weigh"]

# Contrast construction: company verb phrases (stocks only) and "despite" phrases.
_COMPANY_VP = {POS: ["beats forecasts", "raises outlook", "wins major contract"],
               NEG: ["misses forecasts", "cuts outlook", "loses major contract"]}
_DESPITE = {POS: ["strong demand", "upbeat data", "record inflows", "a rating upgrade"],
            NEG: ["weak demand", "rate fears", "heavy outflows", "a rating downgrade"]}
_LATER = ["later", "by the close", "in late trade"]
_EARLY = ["early", "at the open", "in early trade"]

_HEDGES = ["could", "may", "might"]
_SAYERS = ["analysts say", "traders say", "strategists say", "says one analyst"]
_SPLIT = ["analysts split on outlook for", "traders divided over", "mixed views on"]


def _verb(rng: random.Random, direction: int, plural: bool) -> str:
    table = {1: _UP, -1: _DOWN, 0: _FLAT}[direction]
    return rng.choice(table)[1 if plural else 0]


def _base(rng: random.Random, direction: int) -> str:
    return rng.choice({1: _UP, -1: _DOWN}[direction])[1]


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def _move(rng, topic, sentiment):
    subject, plural, sign = rng.choice(_SUBJECTS[topic])
    if sentiment == NEU:
        text = f"{subject} {_verb(rng, 0, plural)}"
    else:
        text = f"{subject} {_verb(rng, sentiment * sign, plural)}"
        if rng.random() < 0.6:
            text += " " + rng.choice(_AMOUNTS)
    if rng.random() < 0.5:
        text += " " + rng.choice(_TAILS)
    return text


def _expectation(rng, topic, sentiment):
    subject, plural, sign = rng.choice(_SUBJECTS[topic])
    direction = rng.choice((1, -1))
    if sentiment == NEU:
        return f"{subject} {_verb(rng, direction, plural)} {rng.choice(_INLINE)}"
    # sentiment = direction * sign * (+1 more, -1 less)
    more = direction * sign == sentiment
    return f"{subject} {_verb(rng, direction, plural)} {rng.choice(_MORE if more else _LESS)}"


def _event(rng, topic, sentiment):
    if topic not in _EVENTS:  # forex has no actors with events; fall back to a move
        return _move(rng, topic, sentiment)
    actor = rng.choice(_ACTORS[topic])
    polarity = rng.choice((POS, NEG))
    event = rng.choice([e for e, p in _EVENTS[topic] if p == polarity])
    if sentiment == NEU:
        frame = rng.choice(_WEIGH)
    else:
        frame = rng.choice(_AFFIRM if polarity == sentiment else _NEGATE)
    return f"{actor} {frame} {event}"


def _contrast(rng, topic, sentiment):
    if sentiment == NEU:  # mixed day that ends where it began
        subject, plural, sign = rng.choice(_SUBJECTS[topic])
        d = rng.choice((1, -1))
        return f"{subject} {_verb(rng, d, plural)} {rng.choice(_EARLY)} but {_verb(rng, 0, plural)} " \
               f"{rng.choice(_LATER)}"
    kind = rng.random()
    if topic == "stocks" and kind < 0.3:  # company: "X beats forecasts but cuts outlook"
        company = rng.choice(_COMPANIES)
        return f"{company} {rng.choice(_COMPANY_VP[-sentiment])} but {rng.choice(_COMPANY_VP[sentiment])}"
    subject, plural, sign = rng.choice(_SUBJECTS[topic])
    if kind < 0.6:  # "X falls early but rises later": the clause after "but" decides
        first = _verb(rng, -sentiment * sign, plural)
        second = _verb(rng, sentiment * sign, plural)
        return f"{subject} {first} {rng.choice(_EARLY)} but {second} {rng.choice(_LATER)}"
    main = f"{subject} {_verb(rng, sentiment * sign, plural)}"
    concession = rng.choice(_DESPITE[-sentiment])
    if kind < 0.8:
        return f"{main} despite {concession}"
    return f"despite {concession}, {main}"


def _hedge(rng, topic, sentiment):
    subject, plural, sign = rng.choice(_SUBJECTS[topic])
    if rng.random() < 0.7:
        return f"{subject} {rng.choice(_HEDGES)} {_base(rng, rng.choice((1, -1)))}, {rng.choice(_SAYERS)}"
    return f"{rng.choice(_SPLIT)} {subject}"


_BUILDERS = {"move": _move, "expectation": _expectation, "event": _event, "contrast": _contrast,
             "hedge": _hedge}
# P(construction | sentiment): hedges only make neutral headlines.
_CONSTRUCTION_WEIGHTS = {
    NEG: [0.25, 0.25, 0.25, 0.25, 0.0],
    NEU: [0.2, 0.15, 0.2, 0.15, 0.3],
    POS: [0.25, 0.25, 0.25, 0.25, 0.0],
}


def headline(topic: str, sentiment: str, construction: str | None = None, *,
             rng: random.Random | int = 0) -> str:
    """One headline about ``topic`` with ``sentiment`` (names from ``TOPICS``, ``SENTIMENTS``).

    ``construction`` (one of ``CONSTRUCTIONS``) is drawn from the sentiment's mix if ``None``;
    ``"hedge"`` only makes neutral headlines, and forex has no ``"event"`` headlines (a move is
    made instead). ``rng`` is a ``random.Random`` (advanced) or an int seed.
    """
    if topic not in TOPICS:
        raise ValueError(f"topic must be one of {TOPICS}, got {topic!r}")
    if sentiment not in SENTIMENTS:
        raise ValueError(f"sentiment must be one of {SENTIMENTS}, got {sentiment!r}")
    if construction is not None and construction not in CONSTRUCTIONS:
        raise ValueError(f"construction must be None or one of {CONSTRUCTIONS}, got {construction!r}")
    s = SENTIMENTS.index(sentiment) - 1  # -1, 0, 1
    if construction == "hedge" and s != NEU:
        raise ValueError(f"a 'hedge' headline is always neutral, got sentiment={sentiment!r}")
    if not isinstance(rng, random.Random):
        if not isinstance(rng, int) or isinstance(rng, bool):
            raise TypeError(f"rng must be a random.Random or an int seed, got {type(rng).__name__}")
        rng = random.Random(rng)
    text, _ = _make(rng, topic, s, construction)
    return text


def _make(rng: random.Random, topic: str, s: int, construction: str | None) -> tuple[str, str]:
    if construction is None:
        construction = rng.choices(CONSTRUCTIONS, weights=_CONSTRUCTION_WEIGHTS[s])[0]
    if construction == "event" and topic not in _EVENTS:
        construction = "move"
    return _cap(_BUILDERS[construction](rng, topic, s)), construction




def _noisy(labels: Tensor, num_classes: int, p: float, g: torch.Generator) -> Tensor:
    """Replace each label with probability ``p`` by a different class, uniformly."""
    flip = torch.rand(len(labels), generator=g) < p  # (N,)
    shift = torch.randint(1, num_classes, (len(labels),), generator=g)  # (N,) never 0: a different class
    return torch.where(flip, (labels + shift) % num_classes, labels)


def _generate(topics: Tensor, sentiments: Tensor, label_noise: float, g: torch.Generator) -> dict:
    rng = random.Random(int(torch.randint(0, 2**62, (), generator=g)))
    texts, constructions = [], []
    for t, s in zip(topics.tolist(), sentiments.tolist()):
        text, construction = _make(rng, TOPICS[t], s - 1, None)
        texts.append(text)
        constructions.append(CONSTRUCTIONS.index(construction))
    return {
        "texts": texts,
        "topic": _noisy(topics, len(TOPICS), label_noise, g),
        "sentiment": _noisy(sentiments, len(SENTIMENTS), label_noise, g),
        "clean_topic": topics,
        "clean_sentiment": sentiments,
        "construction": torch.tensor(constructions, dtype=torch.long),
    }


def financial_headlines(
    num_examples: int,
    *,
    sentiment_probs: tuple[float, float, float] = (0.3, 0.4, 0.3),
    label_noise: float = 0.03,
    generator: torch.Generator | int = 0,
) -> dict:
    """``num_examples`` headlines with uniform topics and sentiments drawn from ``sentiment_probs``.

    Returns ``{"texts": list[str], "topic": (N,) long, "sentiment": (N,) long, "clean_topic",
    "clean_sentiment", "construction": (N,) long}``: ``topic`` indexes ``TOPICS``, ``sentiment``
    indexes ``SENTIMENTS`` (0 negative, 1 neutral, 2 positive), both after label noise;
    ``clean_*`` are the labels before it; ``construction`` indexes ``CONSTRUCTIONS``. An int
    ``generator`` seeds a fresh ``torch.Generator``; a ``torch.Generator`` is used (and advanced).
    """
    num_examples = integer("num_examples", num_examples, minimum=1)
    label_noise = number("label_noise", label_noise, low=0, high=1, high_open=True)
    if not isinstance(sentiment_probs, (tuple, list)) or len(sentiment_probs) != 3:
        raise TypeError(f"sentiment_probs must be 3 numbers (negative, neutral, positive), got {sentiment_probs!r}")
    probs = torch.tensor([number(f"sentiment_probs[{i}]", p, low=0, high=1) for i, p in enumerate(sentiment_probs)])
    if abs(probs.sum().item() - 1) > 1e-6:
        raise ValueError(f"sentiment_probs must be 3 non-negative numbers summing to 1, got {sentiment_probs}")
    g = as_generator(generator)
    topics = torch.randint(0, len(TOPICS), (num_examples,), generator=g)  # (N,)
    sentiments = torch.multinomial(probs, num_examples, replacement=True, generator=g)  # (N,)
    return _generate(topics, sentiments, label_noise, g)


def headline_stream(
    num_days: int = 60,
    *,
    headlines_per_day: float = 48.0,
    num_events: int = 8,
    event_length: tuple[int, int] = (2, 4),
    calibration_days: int = 25,
    min_gap: int = 7,
    base_negative: float = 0.25,
    event_negative: float = 0.7,
    label_noise: float = 0.03,
    generator: torch.Generator | int = 0,
) -> dict:
    """A stream of headlines over ``num_days`` days with ``num_events`` stress events (see the module).

    Returns a dict with the headlines sorted by time, ``"texts"``, ``"topic"``, ``"sentiment"``,
    ``"clean_topic"``, ``"clean_sentiment"``, ``"construction"`` as :func:`financial_headlines`,
    plus ``"day"`` ``(N,)`` long and ``"time"`` ``(N,)`` float (day + fraction of the day); and,
    per topic and day, the hidden ``"p_negative"`` ``(T, D)`` and ``"event_mask"`` ``(T, D)`` bool;
    and ``"events"`` ``(E, 3)`` long rows ``(topic, first_day, last_day + 1)`` sorted by first day.
    No event starts before ``calibration_days``, so those days can calibrate a detector.
    """
    num_days = integer("num_days", num_days, minimum=2)
    num_events = integer("num_events", num_events, minimum=0)
    calibration_days = integer("calibration_days", calibration_days, minimum=0)
    min_gap = integer("min_gap", min_gap, minimum=0)
    headlines_per_day = number("headlines_per_day", headlines_per_day, low=0, low_open=True)
    if not isinstance(event_length, tuple) or len(event_length) != 2:
        raise TypeError(f"event_length must be a (shortest, longest) tuple of ints, got {event_length!r}")
    lo, hi = event_length
    lo = integer("event_length[0]", lo, minimum=1)
    hi = integer("event_length[1]", hi, minimum=lo)
    base_negative = number("base_negative", base_negative, low=0, high=1, low_open=True, high_open=True)
    event_negative = number("event_negative", event_negative, low=0, high=1, low_open=True, high_open=True)
    label_noise = number("label_noise", label_noise, low=0, high=1, high_open=True)
    last_start = num_days - hi
    if last_start < calibration_days:
        raise ValueError(
            f"no room for events: num_days - event_length[1] = {last_start} must be >= "
            f"calibration_days = {calibration_days}"
        )
    g = as_generator(generator)
    T = len(TOPICS)

    # events: rejection-sample start days and topics that keep min_gap between a topic's events
    events: list[tuple[int, int, int]] = []
    for _ in range(num_events):
        for _attempt in range(1000):
            topic = int(torch.randint(0, T, (), generator=g))
            start = int(torch.randint(calibration_days, last_start + 1, (), generator=g))
            end = start + int(torch.randint(lo, hi + 1, (), generator=g))
            if all(t != topic or start >= e + min_gap or end + min_gap <= s for t, s, e in events):
                events.append((topic, start, end))
                break
        else:
            raise ValueError(f"could not place {num_events} events with min_gap={min_gap} in {num_days} days")
    events.sort(key=lambda e: (e[1], e[0]))
    event_mask = torch.zeros(T, num_days, dtype=torch.bool)  # (T, D)
    for t, s, e in events:
        event_mask[t, s:e] = True

    # hidden stress: AR(1) drift in logit space, replaced by event_negative on event days
    z = torch.zeros(T, num_days)  # (T, D)
    eps = torch.randn(T, num_days, generator=g)
    for d in range(1, num_days):
        z[:, d] = 0.6 * z[:, d - 1] + 0.25 * eps[:, d]
    p_negative = torch.sigmoid(math.log(base_negative / (1 - base_negative)) + z)  # (T, D)
    p_negative[event_mask] = event_negative

    counts = torch.poisson(torch.full((num_days,), headlines_per_day), generator=g).long()  # (D,)
    day = torch.repeat_interleave(torch.arange(num_days), counts)  # (N,)
    time = day + torch.rand(len(day), generator=g)  # (N,)
    order = time.argsort()
    day, time = day[order], time[order]
    topics = torch.randint(0, T, (len(day),), generator=g)  # (N,)
    p_neg = p_negative[topics, day]  # (N,)
    u = torch.rand(len(day), generator=g)
    rest = (1 - p_neg) / 2
    sentiments = torch.where(u < p_neg, 0, torch.where(u < p_neg + rest, 1, 2))  # (N,)
    out = _generate(topics, sentiments, label_noise, g)
    out.update(
        day=day, time=time, p_negative=p_negative, event_mask=event_mask,
        events=torch.tensor(events, dtype=torch.long).reshape(-1, 3),
    )
    return out
