"""The synthetic data sets: their documented structure, their chance level, determinism, errors."""

import pytest
import torch
import torch.nn.functional as F

from course_attn.data import key_value_recall, long_range_recall


def bag_of_last_tokens_accuracy(train, test, window, vocab_size, num_classes):
    """Test accuracy of a classifier that sees only the token counts of the last ``window`` tokens
    (multinomial naive Bayes with add-one smoothing, fitted in closed form on ``train``)."""

    def counts(ids):
        return F.one_hot(ids[:, -window:], vocab_size).sum(dim=1).double()  # (N, vocab)

    x, y = counts(train["input_ids"]), train["labels"]
    per_class = torch.stack([x[y == c].sum(dim=0) for c in range(num_classes)]) + 1  # (C, vocab)
    log_p = (per_class / per_class.sum(dim=1, keepdim=True)).log()
    scores = counts(test["input_ids"]) @ log_p.T  # (N, C)
    return (scores.argmax(dim=-1) == test["labels"]).double().mean().item()


# --- long_range_recall -------------------------------------------------------------------------


def test_recall_structure_and_label_recoverable():
    data = long_range_recall(500, 20, num_keys=6, num_fillers=5, key_window=3, generator=1)
    ids, labels, pos = data["input_ids"], data["labels"], data["key_position"]
    assert ids.shape == (500, 20) and labels.shape == pos.shape == (500,)
    assert ids.dtype == labels.dtype == pos.dtype == torch.long
    is_key = ids < 6
    assert (is_key.sum(dim=1) == 1).all(), "exactly one key token per sequence"
    assert torch.equal(is_key.float().argmax(dim=1), pos)
    assert ((0 <= pos) & (pos < 3)).all(), "the key lies in the first key_window positions"
    assert torch.equal(ids[torch.arange(500), pos], labels), "the label is the key token itself"
    assert ((ids[~is_key] >= 6) & (ids[~is_key] < 11)).all(), "fillers are ids num_keys … vocab - 1"
    # every key, filler and position occurs
    assert set(labels.tolist()) == set(range(6)) and set(pos.tolist()) == {0, 1, 2}
    assert set(ids[~is_key].tolist()) == set(range(6, 11))


def test_recall_last_tokens_are_at_chance_while_the_whole_sequence_is_not():
    g = torch.Generator().manual_seed(0)
    train = long_range_recall(3000, 24, num_keys=8, num_fillers=8, key_window=4, generator=g)
    test = long_range_recall(3000, 24, num_keys=8, num_fillers=8, key_window=4, generator=g)
    last = bag_of_last_tokens_accuracy(train, test, window=20, vocab_size=16, num_classes=8)
    whole = bag_of_last_tokens_accuracy(train, test, window=24, vocab_size=16, num_classes=8)
    # chance is 1/8 = 0.125; 3 standard errors of 3000 guesses are about 0.018
    assert abs(last - 1 / 8) < 0.03, f"the last 20 tokens say nothing about the label, got {last:.3f}"
    assert whole > 0.95, f"the whole sequence gives the label away, got {whole:.3f}"


def test_recall_is_deterministic_for_a_seed():
    a = long_range_recall(50, 12, generator=7)
    b = long_range_recall(50, 12, generator=torch.Generator().manual_seed(7))
    c = long_range_recall(50, 12, generator=8)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["input_ids"], c["input_ids"])
    g = torch.Generator().manual_seed(7)
    first, second = long_range_recall(50, 12, generator=g), long_range_recall(50, 12, generator=g)
    assert torch.equal(first["input_ids"], a["input_ids"])
    assert not torch.equal(first["input_ids"], second["input_ids"]), "a Generator advances between calls"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(num_examples=0, seq_len=10), ValueError, "num_examples must be a positive int, got 0"),
        (dict(num_examples=2.0, seq_len=10), TypeError, r"num_examples must be a positive int, got 2.0 \(float\)"),
        (dict(num_examples=2, seq_len=4), ValueError, "seq_len must be larger than key_window"),
        (dict(num_examples=2, seq_len=10, num_keys=1), ValueError, "num_keys must be an int >= 2, got 1"),
        (dict(num_examples=2, seq_len=10, num_fillers=0), ValueError, "num_fillers must be a positive int, got 0"),
        (dict(num_examples=2, seq_len=10, key_window=True), TypeError,
         r"key_window must be a positive int, got True \(bool\)"),
        (dict(num_examples=2, seq_len=10, generator="0"), TypeError, "generator must be a torch.Generator"),
    ],
)
def test_recall_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        long_range_recall(**kwargs)


# --- key_value_recall --------------------------------------------------------------------------


def read_last(ids, window, num_keys, num_values):
    """Answer from the last ``window`` tokens: the value of the queried key if its item is among
    them, else a guess (value 0)."""
    answers = []
    for row in ids.tolist():
        query = row[-1] - num_keys * num_values
        seen = [t % num_values for t in row[-window:-1] if t // num_values == query]
        answers.append(seen[0] if seen else 0)
    return torch.tensor(answers)


def test_key_value_structure_and_label_recoverable():
    K, V, L = 12, 3, 11
    data = key_value_recall(400, L, num_keys=K, num_values=V, generator=2)
    ids, labels, pos = data["input_ids"], data["labels"], data["key_position"]
    assert ids.shape == (400, L) and labels.shape == pos.shape == (400,)
    items, query = ids[:, :-1], ids[:, -1]
    assert ((0 <= items) & (items < K * V)).all(), "items are ids 0 … K*V - 1"
    assert ((K * V <= query) & (query < K * (V + 1))).all(), "queries are ids K*V … K*(V+1) - 1"
    keys = items // V
    assert all(len(set(row)) == L - 1 for row in keys.tolist()), "keys are distinct within a sequence"
    rows = torch.arange(400)
    assert torch.equal(keys[rows, pos], query - K * V), "the queried item sits at key_position"
    assert torch.equal(items[rows, pos] % V, labels), "the label is that item's value"
    assert ((0 <= pos) & (pos < (L - 1) // 2)).all(), "the queried item is in the first half"
    assert set(pos.tolist()) == set(range((L - 1) // 2)) and set(labels.tolist()) == set(range(V))
    assert torch.equal(read_last(ids, L, K, V), labels), "the whole sequence answers every query"


def test_key_value_last_half_is_at_chance():
    K, V, L = 32, 4, 33
    g = torch.Generator().manual_seed(0)
    train = key_value_recall(3000, L, num_keys=K, num_values=V, generator=g)
    test = key_value_recall(3000, L, num_keys=K, num_values=V, generator=g)
    reader = (read_last(test["input_ids"], L // 2, K, V) == test["labels"]).float().mean().item()
    learned = bag_of_last_tokens_accuracy(train, test, window=L // 2, vocab_size=K * (V + 1), num_classes=V)
    # chance is 1/4; 3 standard errors of 3000 guesses are about 0.024
    assert abs(reader - 1 / V) < 0.03, f"the queried item is never in the last L // 2 tokens, got {reader:.3f}"
    assert abs(learned - 1 / V) < 0.03, f"a bag of the last L // 2 tokens is at chance, got {learned:.3f}"


def test_key_value_is_deterministic_for_a_seed():
    a = key_value_recall(40, 9, generator=3)
    b = key_value_recall(40, 9, generator=torch.Generator().manual_seed(3))
    c = key_value_recall(40, 9, generator=4)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["input_ids"], c["input_ids"])


def test_key_value_shortest_sequence():
    data = key_value_recall(5, 2, num_keys=3, num_values=2)
    assert torch.equal(data["key_position"], torch.zeros(5, dtype=torch.long))
    assert torch.equal(data["input_ids"][:, 0] % 2, data["labels"])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(num_examples=2, seq_len=34), ValueError, r"seq_len must be <= num_keys \+ 1 = 33, got seq_len=34"),
        (dict(num_examples=2, seq_len=1), ValueError, "seq_len must be an int >= 2, got 1"),
        (dict(num_examples=2, seq_len=5, num_values=1), ValueError, "num_values must be an int >= 2, got 1"),
        (dict(num_examples=-1, seq_len=5), ValueError, "num_examples must be a positive int, got -1"),
        (dict(num_examples=2, seq_len=5, num_keys=None), TypeError,
         r"num_keys must be a positive int, got None \(NoneType\)"),
        (dict(num_examples=2, seq_len=5, generator=1.5), TypeError, "generator must be a torch.Generator"),
    ],
)
def test_key_value_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        key_value_recall(**kwargs)
