"""The baselines a practitioner tries first, tuned on a validation split (needs scikit-learn).

* :func:`ngram_logreg`: TF-IDF word or character n-grams and a logistic regression, the n-gram range
  and the inverse regularization ``C`` chosen on validation; the strong default for short texts.
* :func:`linear_probe`: a logistic regression on fixed features, ``C`` chosen on validation; on the
  frozen sentence embeddings of a pretrained encoder (:func:`course_attn.pretrained.sentence_embeddings`)
  this is the "pretrained encoder with a linear head" baseline.

Both fit on the training split only, score every setting on validation and keep the best; the test
split is for the caller to touch once, with :meth:`Tuned.score`::

    bow = ngram_logreg(train_texts, train_y, val_texts, val_y)
    print(bow.params, bow.val_score)    # {'ngram_range': (1, 2), 'C': 10.0} 0.87
    test_accuracy = bow.score(test_texts, test_y)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
try:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import Pipeline
    from threadpoolctl import threadpool_limits
except ImportError as error:  # pragma: no cover - scikit-learn is pinned in requirements.txt
    raise ImportError("course_attn.baselines needs scikit-learn: pip install 'course-attn[baselines]' "
                      "(or pip install scikit-learn)") from error

from ._validate import integer, number, one_of

__all__ = ["METRICS", "Tuned", "linear_probe", "ngram_logreg"]

METRICS = {
    "accuracy": accuracy_score,
    "macro_f1": lambda y, p: f1_score(y, p, average="macro"),
}


@dataclass
class Tuned:
    """A model chosen on validation: the fitted ``model``, its ``params``, its ``val_score`` and the
    validation score of every setting tried (``grid``: a list of ``(params, score)``)."""

    model: object
    params: dict
    val_score: float
    metric: str
    grid: list = field(default_factory=list)

    def predict(self, inputs) -> np.ndarray:
        """Class ids for a list of texts (n-gram model) or a feature matrix ``(N, F)`` (probe)."""
        return self.model.predict(_features(inputs) if _is_matrix(inputs) else _texts("inputs", inputs))

    def predict_proba(self, inputs) -> np.ndarray:
        """Class probabilities ``(N, C)``."""
        return self.model.predict_proba(_features(inputs) if _is_matrix(inputs) else _texts("inputs", inputs))

    def score(self, inputs, labels) -> float:
        """The tuning metric on ``inputs`` and their ``labels``."""
        labels = _labels("labels", labels, len(inputs))
        return float(METRICS[self.metric](labels, self.predict(inputs)))


def _is_matrix(x) -> bool:
    return isinstance(x, (torch.Tensor, np.ndarray))


def _texts(name: str, texts) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"{name} must be a list of strings (wrap a single text in a list), got {type(texts).__name__}")
    if not texts:
        raise ValueError(f"{name} is empty")
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise TypeError(f"{name} must hold strings, got {type(texts[bad]).__name__} at index {bad}")
    return list(texts)


def _features(x) -> np.ndarray:
    array = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"features must be a float matrix (N, F), got dtype {array.dtype} and shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("features must be finite (no NaN or inf)")
    return array


def _labels(name: str, labels, n: int) -> np.ndarray:
    array = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must be a 1-D sequence of integer class ids, got dtype {array.dtype}, "
                        f"shape {array.shape}")
    if len(array) != n:
        raise ValueError(f"{name} has {len(array)} entries for {n} inputs")
    return array


def _check_pair(split: str, inputs, labels, as_texts: bool):
    inputs = _texts(f"{split}_texts", inputs) if as_texts else _features(inputs)
    return inputs, _labels(f"{split}_labels", labels, len(inputs))


def _grid(values, name: str, low: float) -> list[float]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise ValueError(f"{name} must be a non-empty sequence of numbers, got {values!r}")
    return [number(f"{name}[{i}]", v, low=low, low_open=True) for i, v in enumerate(values)]


def _select(candidates, train, val, metric: str) -> Tuned:
    """Fit every ``(params, make_model)`` on ``train``, score on ``val``, keep the best (first on ties)."""
    (x_train, y_train), (x_val, y_val) = train, val
    if len(np.unique(y_train)) < 2:
        raise ValueError("train_labels must hold at least two classes")
    best, grid = None, []
    for params, make_model in candidates:
        with threadpool_limits(1):  # BLAS threads only slow these small fits down (and fight torch's)
            model = make_model().fit(x_train, y_train)
        score = float(METRICS[metric](y_val, model.predict(x_val)))
        grid.append((params, score))
        if best is None or score > best.val_score:
            best = Tuned(model=model, params=params, val_score=score, metric=metric)
    best.grid = grid
    return best


def ngram_logreg(train_texts: Sequence[str], train_labels, val_texts: Sequence[str], val_labels, *,
                 analyzer: str = "word", ngram_ranges: Sequence[tuple[int, int]] = ((1, 1), (1, 2), (1, 3)),
                 Cs: Sequence[float] = (0.3, 1.0, 3.0, 10.0, 30.0), min_df: int = 1,
                 metric: str = "accuracy", max_iter: int = 2000) -> Tuned:
    """TF-IDF n-grams (sublinear term frequency) and a logistic regression, the n-gram range and
    ``C`` chosen on validation by ``metric`` (``"accuracy"`` or ``"macro_f1"``).

    ``analyzer="word"`` splits on words (scikit-learn's default token pattern, lower-cased);
    ``"char_wb"`` takes character n-grams inside word boundaries; ``"char"`` takes character n-grams
    across the text (the usual choice for Chinese, which has no spaces between words).
    """
    train = _check_pair("train", train_texts, train_labels, as_texts=True)
    val = _check_pair("val", val_texts, val_labels, as_texts=True)
    analyzer = one_of("analyzer", analyzer, ("word", "char", "char_wb"))
    metric = one_of("metric", metric, tuple(METRICS))
    min_df = integer("min_df", min_df, minimum=1)
    max_iter = integer("max_iter", max_iter, minimum=1)
    if isinstance(ngram_ranges, (str, bytes)) or not isinstance(ngram_ranges, Sequence) or not ngram_ranges:
        raise ValueError(f"ngram_ranges must be a non-empty sequence of (low, high) pairs, got {ngram_ranges!r}")
    for r in ngram_ranges:
        if (not isinstance(r, tuple) or len(r) != 2 or not all(isinstance(n, int) and not isinstance(n, bool) for n in r)
                or not 1 <= r[0] <= r[1]):
            raise ValueError(f"every ngram range must be a pair (low, high) of ints with 1 <= low <= high, got {r!r}")
    Cs = _grid(Cs, "Cs", low=0.0)

    def make(ngram_range, C):
        return lambda: Pipeline([
            ("tfidf", TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, min_df=min_df, sublinear_tf=True)),
            ("logreg", LogisticRegression(C=C, max_iter=max_iter)),
        ])

    candidates = [({"ngram_range": r, "C": C}, make(r, C)) for r in ngram_ranges for C in Cs]
    return _select(candidates, train, val, metric)


def linear_probe(train_features, train_labels, val_features, val_labels, *,
                 Cs: Sequence[float] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0),
                 metric: str = "accuracy", max_iter: int = 2000) -> Tuned:
    """A logistic regression on fixed features ``(N, F)`` (tensor or array), ``C`` chosen on
    validation by ``metric``. On a frozen encoder's embeddings, this is a linear probe."""
    train = _check_pair("train", train_features, train_labels, as_texts=False)
    val = _check_pair("val", val_features, val_labels, as_texts=False)
    if train[0].shape[1] != val[0].shape[1]:
        raise ValueError(f"train_features have {train[0].shape[1]} columns, val_features {val[0].shape[1]}")
    metric = one_of("metric", metric, tuple(METRICS))
    max_iter = integer("max_iter", max_iter, minimum=1)
    Cs = _grid(Cs, "Cs", low=0.0)
    candidates = [({"C": C}, lambda C=C: LogisticRegression(C=C, max_iter=max_iter)) for C in Cs]
    return _select(candidates, train, val, metric)
