"""The trends chapter's synthetic tasks, and the exact optimum of the noisy sentiment task."""

import pytest
import torch

from course_attn.data import trends


def test_marker_labels_follow_their_definition():
    d = trends.marker_data(64, 12, generator=0)
    ids, prev, last = d["input_ids"], d["labels"]["previous"], d["labels"]["last_marker"]
    assert ids.shape == prev.shape == last.shape == (64, 12)
    assert (prev[:, 0] == -100).all() and torch.equal(prev[:, 1:], ids[:, :-1])
    for row in range(64):  # the most recent marker, by a loop
        current = -100
        for i in range(12):
            if ids[row, i] < 4:
                current = ids[row, i].item()
            assert last[row, i] == current
    assert torch.equal(trends.marker_data(8, 5, generator=3)["input_ids"],
                       trends.marker_data(8, 5, generator=3)["input_ids"])


def test_counted_sentiment_and_the_rule():
    d = trends.counted_sentiment(500, generator=1)
    ids, y = d["input_ids"], d["labels"]["sentiment"]
    assert ids.shape == (500, 24)
    words = (ids < 8).sum(1)
    assert (words == 5).all(), "exactly 5 sentiment words"
    assert torch.equal(trends.counting_rule(ids), y), "the rule is perfect without noise"
    assert 0.4 < y.float().mean() < 0.6
    with pytest.raises(ValueError, match="num_words must be odd"):
        trends.counted_sentiment(3, num_words=4)


def test_noise_is_nested_across_rates():
    ids = trends.counted_sentiment(200, generator=0)["input_ids"]
    u, r = torch.rand(ids.shape), torch.randint(0, 32, ids.shape)
    low = trends.token_noise(ids, 0.1, 32, uniform=u, replacement=r)
    high = trends.token_noise(ids, 0.4, 32, uniform=u, replacement=r)
    changed_low, changed_high = low != ids, high != ids
    assert (changed_high | ~changed_low).all(), "corrupted at 0.1 means corrupted at 0.4"
    assert torch.equal(trends.token_noise(ids, 0.0, 32), ids)


def test_exact_accuracy_matches_sampling_and_known_values():
    # the values a separate derivation gives (issue 16): 1.000, .932, .885, .840, .795, .748
    known = [1.000, 0.932, 0.885, 0.840, 0.795, 0.748]
    for p, value in zip([0.0, 0.1, 0.2, 0.3, 0.4, 0.5], known):
        acc = trends.bayes_accuracy(p)
        assert acc["bayes"] == pytest.approx(value, abs=5e-4)
        assert acc["rule"] <= acc["bayes"] + 1e-12
    # Monte Carlo: 40,000 sequences at p = 0.3 agree with the exact rule accuracy
    d = trends.counted_sentiment(40_000, generator=7)
    noisy = trends.token_noise(d["input_ids"], 0.3, 32, generator=8)
    sampled = (trends.counting_rule(noisy) == d["labels"]["sentiment"]).float().mean().item()
    assert sampled == pytest.approx(trends.bayes_accuracy(0.3)["rule"], abs=0.008)  # ~4 sd
    # a different generator: the optimum moves, so the computation is not a constant
    assert trends.bayes_accuracy(0.3, vocab_size=64)["bayes"] > trends.bayes_accuracy(0.3)["bayes"]
