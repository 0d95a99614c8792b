import numpy as np
import pytest
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from course_attn.baselines import linear_probe, ngram_logreg

WORDS = ["good", "bad", "fine", "great", "poor", "dress", "shirt", "fit", "size", "colour"]


def _negation_data(n, seed):
    """Label 1 iff the text says "not bad" or "good" without "not": unigrams alone cannot tell."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        filler = list(rng.choice(WORDS[5:], size=3))
        word, negated = rng.choice(["good", "bad"]), rng.random() < 0.5
        texts.append(" ".join(filler + (["not"] if negated else []) + [word]))
        labels.append(int((word == "good") != negated))
    return texts, np.array(labels)


def test_chooses_bigrams_where_negation_decides_and_matches_sklearn():
    (tx, ty), (vx, vy), (sx, sy) = (_negation_data(n, s) for n, s in ((400, 0), (200, 1), (200, 2)))
    tuned = ngram_logreg(tx, ty, vx, vy, ngram_ranges=((1, 1), (1, 2)), Cs=(1.0, 10.0))
    assert tuned.params["ngram_range"] == (1, 2)
    assert max(s for p, s in tuned.grid if p["ngram_range"] == (1, 1)) < 0.8 < tuned.val_score
    assert len(tuned.grid) == 4
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    ref = LogisticRegression(C=tuned.params["C"], max_iter=2000).fit(vec.fit_transform(tx), ty)
    np.testing.assert_array_equal(tuned.predict(sx), ref.predict(vec.transform(sx)))
    assert tuned.score(sx, torch.as_tensor(sy)) == pytest.approx(np.mean(ref.predict(vec.transform(sx)) == sy))


def test_char_ngrams_work_without_spaces():
    rng = np.random.default_rng(0)
    def data(n):
        labels = rng.integers(0, 2, size=n)
        return ["".join(rng.choice(list("衣服质量尺码颜色"), 4)) + ("很好" if y else "很差") for y in labels], labels
    (tx, ty), (vx, vy) = data(200), data(100)
    assert ngram_logreg(tx, ty, vx, vy, analyzer="char", ngram_ranges=((1, 2),)).val_score == 1.0


def test_linear_probe_picks_c_on_validation_and_matches_sklearn():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(16, generator=g)
    x = torch.randn(600, 16, generator=g)
    y = (x @ w + 2.0 * torch.randn(600, generator=g) > 0).long()
    tuned = linear_probe(x[:300], y[:300], x[300:450], y[300:450], Cs=(0.001, 1.0), metric="macro_f1")
    assert tuned.params == {"C": 1.0} and [p["C"] for p, _ in tuned.grid] == [0.001, 1.0]
    ref = LogisticRegression(C=1.0, max_iter=2000).fit(x[:300].numpy(), y[:300].numpy())
    np.testing.assert_allclose(tuned.predict_proba(x[450:]), ref.predict_proba(x[450:].numpy()))


@pytest.mark.parametrize("change, error, match", [
    (dict(train_texts="one text"), TypeError, "list of strings"),
    (dict(train_texts=["a", 3, "c", "d"]), TypeError, "index 1"),
    (dict(train_labels=[0, 1, 0]), ValueError, "3 entries for 4 inputs"),
    (dict(train_labels=[0.0, 1.0, 0.0, 1.0]), TypeError, "integer class ids"),
    (dict(train_labels=[1, 1, 1, 1]), ValueError, "two classes"),
    (dict(analyzer="chars"), ValueError, "analyzer"),
    (dict(metric="f1"), ValueError, "metric"),
    (dict(ngram_ranges=((2, 1),)), ValueError, "1 <= low <= high"),
    (dict(Cs=(0.0,)), ValueError, "Cs\\[0\\]"),
    (dict(Cs=()), ValueError, "non-empty"),
    (dict(val_texts=[]), ValueError, "val_texts is empty"),
])
def test_ngram_logreg_bad_inputs(change, error, match):
    args = dict(train_texts=["a b", "b c", "c d", "d e"], train_labels=[0, 1, 0, 1],
                val_texts=["a b", "c d"], val_labels=[0, 0]) | change
    with pytest.raises(error, match=match):
        ngram_logreg(args.pop("train_texts"), args.pop("train_labels"), args.pop("val_texts"),
                     args.pop("val_labels"), **args)


@pytest.mark.parametrize("train, val, match", [
    (torch.ones(4, 3, dtype=torch.long), torch.ones(2, 3), "float matrix"),
    (torch.ones(4, 3), torch.ones(2, 5), "3 columns"),
    (torch.full((4, 3), float("nan")), torch.ones(2, 3), "finite"),
])
def test_linear_probe_bad_features(train, val, match):
    with pytest.raises(ValueError, match=match):
        linear_probe(train, [0, 1, 0, 1], val, [0, 1])
