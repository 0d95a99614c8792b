"""Short customer-service messages with three labels each: intent, topic and urgency.

The applications chapter on customer service trains bag-of-words, from-scratch and pretrained
models on these messages. Every message is built from templates with real variation, so that a
model has to read it rather than spot one keyword::

    data = customer_messages(400, generator=0)
    data["texts"][0]                    # 'The phone case I ordered is late, and this can't wait.'
    data["labels"]["intent"][0]         # tensor(2): INTENTS[2] == "delivery_delay"

How a message is built
----------------------
1. **Intent and topic.** The intent (``INTENTS``, 7 classes) picks a clause template, e.g.
   ``"{x} is late"``; the *object* ``x`` is drawn from one of the intent's object groups, and the
   group fixes the topic (``TOPICS``: payments, account, shipping): "my parcel" is shipping, "my
   new card" is payments. Every object names exactly one topic, but objects and words are shared
   across intents ("card" occurs in the objects of all seven, "charged", "refund", "would like"
   and "should be" in several), so one keyword is not enough.
2. **Negated distractors** (``contrast``, rate ``contrast_rate``). The clause of a second intent,
   the ``distractor``, is added in *negated* form, before or after the real one: ``"I would not
   like a refund for my order, my weekly box should be cancelled"`` is cancel_subscription (topic
   shipping). Every negated clause is a positive clause of its intent with **one "not" added and
   nothing else changed**, and its object is drawn like any other, so a bag of words sees the
   words of both intents (and of two topics, when the objects differ) and cannot tell which one
   is negated: the two intents are exchangeable for it.
3. **Urgency** (``URGENCY``: low, high) comes from one *cue* (``URGENCY_CUES``), drawn with
   probabilities 0.15 / 0.25 / 0.3 / 0.15 / 0.15, each cue high or low with probability 1/2:

   * ``"none"``: no cue; urgency is **high if the intent is lost_card** (a lost card must be blocked
     at once), otherwise low;
   * ``"word"``: a plain phrase, high ("this is urgent", "i need help asap") or low ("it can
     wait", "take your time");
   * ``"negated"``: a negation flips the phrase: high ("this can NOT wait") or low ("this is not
     urgent"); every negated cue is a plain cue of the *other* label plus "not" (and "do" in
     "please do not hurry"), so for a bag of words "urgent" and "wait" point both ways;
   * ``"order"``: two times, one negated; only the order tells which is meant: high
     ("i need it today, not next week") or low ("i need it next week, not today");
   * ``"context"``: no urgency word; the situation decides: high ("someone is using my card",
     "i fly abroad tomorrow") or low ("just asking for the future").
4. **Ambiguous messages** (``ambiguous``, rate ``ambiguous_rate``): a vague clause ("I have a
   problem with my card") whose intent is drawn uniformly from the 3 intents it could mean; no
   model can be right on more than about a third of them. Their topic and urgency are clear, and
   the lost-card default of step 3 does not apply to them. They never have a distractor.
5. **Surface noise**: the urgency clause goes first (probability 0.3) or last; a neutral detail
   is inserted anywhere with probability 0.15 (some contain "not", "no" or "today": "i have not
   heard back from you", "i checked again today"); a greeting and a closing are added with
   probability 0.2 each, a filler word ("so", "um", "like", ...) with probability 0.1; the
   clauses are joined by varied punctuation; in 30% of the messages "do not", "can not", "i am"
   and "it is" are contracted; each "not" is written "NOT" with probability 0.15; the first
   letter and the word "i" are capitalized at random; and each word of 4+ letters gets a typo with
   probability ``typo_rate`` (two letters swapped, one dropped or one doubled).
6. **Label noise**: each of the three labels is, independently with probability ``label_noise``,
   replaced by a different class drawn uniformly (the ``clean_labels`` keep the originals).

Returned structure
------------------
``customer_messages(N)`` returns a dict::

    {"texts": list of N str,
     "labels":       {"intent": (N,) long, "topic": (N,) long, "urgency": (N,) long},
     "clean_labels": {"intent": (N,) long, "topic": (N,) long, "urgency": (N,) long},
     "contrast":    (N,) bool   message has a negated distractor clause,
     "distractor":  (N,) long   intent of that clause, -1 where there is none,
     "ambiguous":   (N,) bool   vague message, intent drawn at random,
     "urgency_cue": (N,) long   index into URGENCY_CUES}

Class ``k`` of a task is named ``TASKS[task][k]``. An int ``generator`` seeds a fresh
``torch.Generator``; a ``torch.Generator`` is used (and advanced) as is, so two calls with one
generator give two different, independent splits.
"""

from __future__ import annotations

import random
import re

import torch

from .._validate import integer, number
from ._common import as_generator

__all__ = ["customer_messages", "INTENTS", "TOPICS", "URGENCY", "TASKS", "URGENCY_CUES"]

INTENTS = (
    "refund", "lost_card", "delivery_delay", "password_reset", "cancel_subscription", "complaint",
    "wrong_charge",
)
TOPICS = ("payments", "account", "shipping")
URGENCY = ("low", "high")
TASKS = {"intent": INTENTS, "topic": TOPICS, "urgency": URGENCY}
URGENCY_CUES = ("none", "word", "negated", "order", "context")
_CUE_PROBS = (0.15, 0.25, 0.3, 0.15, 0.15)

# --- intent clauses: (positive template, its negated form), per object group -------------------

_ORDERS = ["my order", "my package", "my parcel", "the lamp i ordered", "my last order",
           "the phone case i ordered", "the jacket i bought"]
_CARDS = ["my card", "my credit card", "my debit card", "my bank card"]

# Every negated form is its positive form with one "not" added, and nothing else changed: a bag of
# words cannot tell a clause from its negation except by the count of "not".
_REFUND = [
    ("i would like a refund for {x}", "i would not like a refund for {x}"),
    ("i would like my money back for {x}", "i would not like my money back for {x}"),
    ("i am asking for a refund on {x}", "i am not asking for a refund on {x}"),
    ("{x} should be refunded", "{x} should not be refunded"),
    ("i am owed a refund for {x}", "i am not owed a refund for {x}"),
]
_LOST = [
    ("i have lost {x}", "i have not lost {x}"),
    ("{x} was stolen", "{x} was not stolen"),
    ("{x} is missing", "{x} is not missing"),
    ("{x} is lost", "{x} is not lost"),
    ("{x} was taken from my bag", "{x} was not taken from my bag"),
]
_DELAY = [
    ("{x} is late", "{x} is not late"),
    ("{x} is delayed", "{x} is not delayed"),
    ("i am still waiting for {x}", "i am not still waiting for {x}"),
    ("{x} is stuck in transit", "{x} is not stuck in transit"),
    ("{x} has been held up", "{x} has not been held up"),
]
_PASSWORD = [
    ("i have forgotten {x}", "i have not forgotten {x}"),
    ("{x} should be reset", "{x} should not be reset"),
    ("{x} is blocked", "{x} is not blocked"),
    ("i would like to change {x}", "i would not like to change {x}"),
    ("{x} has expired", "{x} has not expired"),
]
_CANCEL = [
    ("i would like to cancel {x}", "i would not like to cancel {x}"),
    ("{x} should be cancelled", "{x} should not be cancelled"),
    ("i would like to end {x}", "i would not like to end {x}"),
    ("i am cancelling {x}", "i am not cancelling {x}"),
    ("i will unsubscribe from {x}", "i will not unsubscribe from {x}"),
]
_OPINION = [
    ("i am unhappy with {x}", "i am not unhappy with {x}"),
    ("{x} is terrible", "{x} is not terrible"),
    ("i am complaining about {x}", "i am not complaining about {x}"),
    ("i am disappointed with {x}", "i am not disappointed with {x}"),
    ("{x} was awful", "{x} was not awful"),
]
_DAMAGED = [
    ("{x} was broken when it came", "{x} was not broken when it came"),
    ("{x} was damaged", "{x} was not damaged"),
]
_CHARGE_ON = [
    ("{x} was charged twice", "{x} was not charged twice"),
    ("the amount taken from {x} is wrong", "the amount taken from {x} is not wrong"),
    ("there is a strange payment on {x}", "there is not a strange payment on {x}"),
]
_CHARGE_FOR = [
    ("i was charged twice for {x}", "i was not charged twice for {x}"),
    ("i was charged too much for {x}", "i was not charged too much for {x}"),
    ("the price of {x} on my bill is wrong", "the price of {x} on my bill is not wrong"),
]

# intent -> list of (topic, objects, templates)
_INTENT_GROUPS = {
    "refund": [
        ("shipping", _ORDERS, _REFUND),
        ("payments", ["the card fee", "the charge on my card", "the transfer fee", "the late payment fee"],
         _REFUND),
        ("account", ["my membership fee", "the premium plan", "my annual membership", "the app purchase"],
         _REFUND),
    ],
    "lost_card": [("payments", _CARDS, _LOST)],
    "delivery_delay": [
        ("shipping", _ORDERS, _DELAY),
        ("payments", ["my new card", "my replacement card", "the new debit card"], _DELAY),
    ],
    "password_reset": [
        ("account", ["my password", "my login password", "the password for my account",
                     "my account password"], _PASSWORD),
        ("payments", ["my card pin", "my pin", "the pin for my card"], _PASSWORD),
    ],
    "cancel_subscription": [
        ("account", ["my subscription", "my premium membership", "my monthly plan", "the premium plan"],
         _CANCEL),
        ("shipping", ["my weekly box", "the monthly delivery box", "my delivery pass"], _CANCEL),
        ("payments", ["my card insurance", "the card protection plan"], _CANCEL),
    ],
    "complaint": [
        ("shipping", ["the courier", "the delivery service", "your delivery driver", "the packaging"],
         _OPINION),
        ("account", ["the app", "your website", "the login page", "the account settings page"], _OPINION),
        ("payments", ["the card fees", "your payment system", "the bank transfer service"], _OPINION),
        ("shipping", _ORDERS, _DAMAGED),
    ],
    "wrong_charge": [
        ("payments", ["my card", "my credit card", "my bank account", "my last statement"], _CHARGE_ON),
        ("account", ["my subscription", "my membership"], _CHARGE_FOR),
        ("shipping", ["my order", "the delivery", "my last order"], _CHARGE_FOR),
    ],
}

# vague clauses: (topic, objects, the 3 intents the message could mean)
_VAGUE = ["i have a problem with {x}", "something is wrong with {x}", "{x} is not working properly",
          "can you help me with {x}", "there is an issue with {x}", "it is about {x}"]
_VAGUE_GROUPS = [
    ("payments", ["my card", "my credit card", "my bank card"], ("lost_card", "wrong_charge", "password_reset")),
    ("shipping", ["my order", "my parcel", "my package"], ("delivery_delay", "complaint", "refund")),
    ("account", ["my account", "my membership", "my profile"], ("password_reset", "complaint",
                                                                 "cancel_subscription")),
]

# --- urgency cues: cue -> {label: phrases} ----------------------------------------------------

_HIGH_TIMES = ["today", "tonight", "right now"]
_LOW_TIMES = ["next week", "next month", "later"]
_ORDER_TEMPLATES = ["i need it {a} , not {b}", "please fix it {a} , not {b}", "{a} please , not {b}"]
_CUES = {
    "word": {
        1: ["this is urgent", "it is urgent", "urgent please", "it is an emergency", "please hurry",
            "i need help asap", "i need it today", "i need it tonight"],
        0: ["it can wait", "this can wait", "it is a small thing", "it is a low priority", "take your time",
            "whenever you can", "next week is fine", "later is fine"],
    },
    "negated": {  # a plain cue of the other label plus negation words
        1: ["it can not wait", "this can not wait", "it is not a small thing", "it is not a low priority"],
        0: ["this is not urgent", "it is not urgent", "it is not an emergency", "please do not hurry"],
    },
    "context": {
        1: ["i think it is fraud", "someone is using my card", "i fly abroad tomorrow",
            "i have no money left for rent"],
        0: ["just asking for the future", "i am only curious", "just so you know for next time"],
    },
}

_GREETINGS = ["hi", "hello", "hey", "hi there", "good morning", "hello team", "um hi", "ok so", "dear support"]
_CLOSINGS = ["thanks", "thank you", "thx", "cheers", "please help", "regards", "thanks in advance"]
_FILLERS = ["so", "um", "basically", "honestly", "well", "ok", "like", "just"]
_NEUTRAL = ["i ordered it last week", "i called yesterday", "i have been a customer for years",
            "i checked again today", "i have not heard back from you", "no one answered the phone",
            "i already sent an email", "i tried the app this morning", "my name is alex",
            "this is my second message"]
_CONTRACTIONS = [("do not", "don't"), ("can not", "can't"), ("i am", "i'm"), ("it is", "it's")]
_CONNECT = [" , ", " . ", " - ", " , and ", " ! "]
# probabilities of the optional surface parts (step 5 of the module docstring)
_SURFACE = {"greeting": 0.2, "closing": 0.2, "neutral": 0.15, "filler": 0.1, "contract": 0.3, "shout": 0.15,
            "cue_first": 0.3}


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # swap two letters
    if kind == 1:
        return word[:i] + word[i + 1:]  # drop one
    return word[:i] + word[i] + word[i:]  # double one


def _intent_clause(intent: str, rng: random.Random, *, negated: bool) -> tuple[str, str]:
    """A clause for ``intent`` and its topic; ``negated`` picks the negated form of a template."""
    topic, objects, templates = rng.choice(_INTENT_GROUPS[intent])
    template = rng.choice(templates)[1 if negated else 0]
    return template.format(x=rng.choice(objects)), topic


def _urgency_clause(cue: str, label: int, rng: random.Random) -> str:
    if cue == "order":
        a, b = (_HIGH_TIMES, _LOW_TIMES) if label == 1 else (_LOW_TIMES, _HIGH_TIMES)
        return rng.choice(_ORDER_TEMPLATES).format(a=rng.choice(a), b=rng.choice(b))
    return rng.choice(_CUES[cue][label])


def _surface(parts: list[str], rng: random.Random, typo_rate: float) -> str:
    """Join clauses, add fillers, contractions, casing, punctuation and typos."""
    text = parts[0]
    for part in parts[1:]:
        text += rng.choice(_CONNECT) + part
    words = text.split(" ")
    if rng.random() < _SURFACE["filler"]:  # a filler word somewhere
        words.insert(rng.randrange(len(words) + 1), rng.choice(_FILLERS))
    text = " ".join(words)
    if rng.random() < _SURFACE["contract"]:
        for long, short in _CONTRACTIONS:
            text = re.sub(rf"\b{long}\b", short, text)
    words = []
    for word in text.split(" "):
        if word == "not" and rng.random() < _SURFACE["shout"]:
            word = "NOT"
        elif len(word) >= 4 and word.isalpha() and rng.random() < typo_rate:
            word = _typo(word, rng)
        words.append(word)
    text = " ".join(words)
    text = text.replace(" , ", ", ").replace(" . ", ". ").replace(" ! ", "! ")
    if rng.random() < 0.5:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.4:
        text = re.sub(r"\bi\b", "I", text)
    return text + rng.choice(["", "", ".", "!", "?", "!!"])


def customer_messages(
    num_examples: int,
    *,
    contrast_rate: float = 0.25,
    ambiguous_rate: float = 0.05,
    label_noise: float = 0.02,
    typo_rate: float = 0.01,
    generator: torch.Generator | int = 0,
) -> dict:
    """``num_examples`` customer messages with intent, topic and urgency labels (see the module docstring).

    Returns ``{"texts": [str] * N, "labels": {task: (N,) long}, "clean_labels": {task: (N,) long},
    "contrast": (N,) bool, "distractor": (N,) long, "ambiguous": (N,) bool, "urgency_cue": (N,) long}``
    with tasks ``"intent"`` (``INTENTS``), ``"topic"`` (``TOPICS``) and ``"urgency"`` (``URGENCY``).
    """
    num_examples = integer("num_examples", num_examples, minimum=1)
    contrast_rate = number("contrast_rate", contrast_rate, low=0, high=1)
    ambiguous_rate = number("ambiguous_rate", ambiguous_rate, low=0, high=1)
    label_noise = number("label_noise", label_noise, low=0, high=1)
    typo_rate = number("typo_rate", typo_rate, low=0, high=1)
    g = as_generator(generator)
    rng = random.Random(int(torch.randint(0, 2**62, (1,), generator=g)))

    texts, clean, contrast, distractor, ambiguous, cues = [], [], [], [], [], []
    for _ in range(num_examples):
        # intent and topic (step 1, 2, 4)
        is_vague = rng.random() < ambiguous_rate
        other = -1
        if is_vague:
            topic, objects, candidates = rng.choice(_VAGUE_GROUPS)
            intent = rng.choice(candidates)
            intent_part = [rng.choice(_VAGUE).format(x=rng.choice(objects))]
        else:
            intent = rng.choice(INTENTS)
            clause, topic = _intent_clause(intent, rng, negated=False)
            intent_part = [clause]
            if rng.random() < contrast_rate:
                other = rng.choice([i for i in INTENTS if i != intent])
                negated, _ = _intent_clause(other, rng, negated=True)
                intent_part.insert(rng.randrange(2), negated)
        # urgency (step 3)
        cue = rng.choices(URGENCY_CUES, weights=_CUE_PROBS)[0]
        if cue == "none":
            urgency = int(intent == "lost_card" and not is_vague)
            parts = list(intent_part)
        else:
            urgency = rng.randrange(2)
            parts = list(intent_part)
            where = 0 if rng.random() < _SURFACE["cue_first"] else len(parts)
            parts.insert(where, _urgency_clause(cue, urgency, rng))
        # surface (step 5)
        if rng.random() < _SURFACE["neutral"]:
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(_NEUTRAL))
        if rng.random() < _SURFACE["greeting"]:
            parts[0] = rng.choice(_GREETINGS) + " , " + parts[0]
        if rng.random() < _SURFACE["closing"]:
            parts[-1] = parts[-1] + " , " + rng.choice(_CLOSINGS)
        texts.append(_surface(parts, rng, typo_rate))
        clean.append((INTENTS.index(intent), TOPICS.index(topic), urgency))
        contrast.append(other != -1)
        distractor.append(INTENTS.index(other) if other != -1 else -1)
        ambiguous.append(is_vague)
        cues.append(URGENCY_CUES.index(cue))

    clean_t = torch.tensor(clean, dtype=torch.long).reshape(num_examples, 3)  # (N, 3)
    labels_t = clean_t.clone()
    for j, task in enumerate(TASKS):  # step 6: label noise, a different class drawn uniformly
        k = len(TASKS[task])
        flip = torch.rand(num_examples, generator=g) < label_noise  # (N,)
        shift = torch.randint(1, k, (num_examples,), generator=g)  # (N,) never 0: always a new class
        labels_t[:, j] = torch.where(flip, (clean_t[:, j] + shift) % k, clean_t[:, j])
    return {
        "texts": texts,
        "labels": {task: labels_t[:, j].clone() for j, task in enumerate(TASKS)},
        "clean_labels": {task: clean_t[:, j].clone() for j, task in enumerate(TASKS)},
        "contrast": torch.tensor(contrast, dtype=torch.bool),
        "distractor": torch.tensor(distractor, dtype=torch.long),
        "ambiguous": torch.tensor(ambiguous, dtype=torch.bool),
        "urgency_cue": torch.tensor(cues, dtype=torch.long),
    }
