"""Small-text plumbing for models trained from scratch: a word vocabulary and bag-of-words features.

Pretrained models bring their own tokenizer (see :mod:`course_attn.pretrained`); the small
encoders the chapters train from scratch use this word-level one::

    vocab = WordVocab.build(train_texts, min_count=2)
    batch = vocab.encode(texts)            # {"input_ids": (N, L), "key_mask": (N, L)}
    features = bag_of_words(texts, vocab)  # (N, len(vocab)) word counts, for a baseline
    batches = LengthBatches(vocab, texts, {"intent": y})  # train_data for course_attn.fit
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

from ._validate import flag, integer, tensor

__all__ = ["WordVocab", "LengthBatches", "tokenize", "bag_of_words"]

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def tokenize(text: str) -> list[str]:
    """Lower-cased words and single punctuation marks: ``"Where's my card?!"`` → ``["where's", "my", "card", "?", "!"]``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _WORD.findall(text.lower())


class WordVocab:
    """A word ↔ id table with ``[PAD]`` = 0, ``[UNK]`` = 1 and ``[CLS]`` = 2 reserved."""

    PAD, UNK, CLS = "[PAD]", "[UNK]", "[CLS]"

    def __init__(self, words: Sequence[str]) -> None:
        _check_not_one_str("words", words)
        words = list(words)
        for i, word in enumerate(words):
            if not isinstance(word, str):
                raise TypeError(f"words[{i}] must be a str, got {type(word).__name__}")
        self.itos = [self.PAD, self.UNK, self.CLS, *(w for w in words if w not in (self.PAD, self.UNK, self.CLS))]
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("words must not repeat")

    @classmethod
    def build(cls, texts: Iterable[str], *, min_count: int = 1, max_size: int | None = None) -> "WordVocab":
        """The words of ``texts`` seen at least ``min_count`` times, most frequent first (ties alphabetical)."""
        _check_not_one_str("texts", texts)
        min_count = integer("min_count", min_count, minimum=1)
        max_size = None if max_size is None else integer("max_size", max_size, minimum=0)
        counts = Counter(word for text in texts for word in tokenize(text))
        words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls(words[:max_size] if max_size is not None else words)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, texts: Sequence[str], *, max_len: int | None = None, add_cls: bool = True) -> dict[str, Tensor]:
        """Token ids padded to the longest text (or cut to ``max_len``), with ``[CLS]`` first if ``add_cls``.

        Returns ``{"input_ids": (N, L) long, "key_mask": (N, L) bool}``, ``key_mask`` True for real tokens.
        """
        _check_not_one_str("texts", texts)
        max_len = None if max_len is None else integer("max_len", max_len, minimum=1)
        add_cls = flag("add_cls", add_cls)
        rows = []
        for text in texts:
            ids = [self.stoi.get(w, 1) for w in tokenize(text)]
            ids = ([2] if add_cls else []) + ids
            rows.append(ids[:max_len] if max_len is not None else ids)
        L = max((len(r) for r in rows), default=0)
        input_ids = torch.zeros(len(rows), L, dtype=torch.long)  # (N, L), 0 = [PAD]
        for i, ids in enumerate(rows):
            input_ids[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        key_mask = torch.arange(L).unsqueeze(0) < torch.tensor([len(r) for r in rows]).unsqueeze(1)  # (N, L)
        return {"input_ids": input_ids, "key_mask": key_mask}

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Words for ``ids`` (ints, or a 1-D integer tensor), padding dropped."""
        if isinstance(ids, Tensor):
            ids = tensor("ids", ids, dims=1, kind="int").tolist()
        words = []
        for n, i in enumerate(ids):
            i = integer(f"ids[{n}]", i, minimum=0)
            if i >= len(self):
                raise ValueError(f"ids[{n}] must be a word id in [0, {len(self)}) (len(vocab)), got {i}")
            if i != 0:
                words.append(self.itos[i])
        return words


def _check_not_one_str(name: str, texts) -> None:
    if isinstance(texts, str):
        raise TypeError(f"{name} must be a sequence of strings, got a single str; wrap it in a list")


def _check_vocab(vocab) -> None:
    if not isinstance(vocab, WordVocab):
        raise TypeError(f"vocab must be a WordVocab, got {type(vocab).__name__}")


def bag_of_words(texts: Sequence[str], vocab: WordVocab) -> Tensor:
    """Word counts ``(N, len(vocab))``: the order-blind features of a bag-of-words baseline."""
    _check_vocab(vocab)
    encoded = vocab.encode(texts, add_cls=False)
    counts = torch.zeros(len(texts), len(vocab))
    counts.scatter_add_(1, encoded["input_ids"], encoded["key_mask"].float())
    counts[:, 0] = 0.0  # [PAD] is not a word
    return counts


class LengthBatches:
    """Padded batches of texts of similar length, visited in a new random order every epoch.

    Sorting by length before batching keeps padding, and the attention wasted on it, small. Each
    batch is ``{"input_ids": (b, L_batch), "key_mask": (b, L_batch), "labels": {task: (b,)}}``;
    pass the object to :func:`course_attn.fit` as ``train_data``. The batches are encoded once;
    ``seed`` fixes the order in which they come.
    """

    def __init__(self, vocab: WordVocab, texts: Sequence[str], labels: dict[str, Tensor], *,
                 batch_size: int = 64, seed: int = 0) -> None:
        _check_vocab(vocab)
        if isinstance(texts, str) or not isinstance(texts, Sequence) or any(not isinstance(t, str) for t in texts):
            raise TypeError("texts must be a sequence of strings")
        if not texts:
            raise ValueError("texts is empty: there is nothing to batch")
        batch_size, seed = integer("batch_size", batch_size, minimum=1), integer("seed", seed)
        if not isinstance(labels, dict):
            raise TypeError(f"labels must be a dict {{task: (N,) tensor}}, got {type(labels).__name__}")
        for task, y in labels.items():
            if not isinstance(y, Tensor) or y.dim() != 1 or len(y) != len(texts):
                shape = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
                raise ValueError(f"labels[{task!r}] must be a ({len(texts)},) tensor, one label per text, got {shape}")
        order = sorted(range(len(texts)), key=lambda i: len(tokenize(texts[i])))
        self.batches = []
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = vocab.encode([texts[i] for i in idx])  # (b, L_batch)
            batch["labels"] = {task: y[idx] for task, y in labels.items()}  # {task: (b,)}
            self.batches.append(batch)
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        order = torch.randperm(len(self.batches), generator=self.generator)
        return (self.batches[i] for i in order.tolist())
