"""One shared encoder, several task heads: what "multi-task" really means for a Transformer.

Multi-*head* attention (several attention heads inside one layer) and multi-*task* learning
(several training objectives sharing one encoder) are different things; this module is the second.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "MultiTaskModel", "MultiTaskOutput", "SequenceClassificationHead", "TokenClassificationHead",
    "NextItemHead", "LinearPerTask", "mean_pool",
]

IGNORE = -100  # label value that a loss skips (padding, positions without a target)


def mean_pool(hidden: Tensor, key_mask: Tensor | None) -> Tensor:
    """Average ``hidden (B, L, d)`` over real tokens (``key_mask (B, L)`` True/1) → ``(B, d)``."""
    if key_mask is None:
        return hidden.mean(dim=1)
    weights = key_mask.to(hidden.dtype).unsqueeze(-1)  # (B, L, 1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class SequenceClassificationHead(nn.Module):
    """One label per sequence: pool (first token, or mean over real tokens), dropout, linear."""

    def __init__(self, d_model: int, num_classes: int, *, pooling: str = "cls", dropout: float = 0.1) -> None:
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise ValueError(f"pooling must be 'cls' or 'mean', got {pooling!r}")
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(d_model, num_classes)

    def forward(self, hidden: Tensor, key_mask: Tensor | None = None) -> Tensor:
        """``hidden (B, L, d)`` → logits ``(B, num_classes)``."""
        pooled = hidden[:, 0] if self.pooling == "cls" else mean_pool(hidden, key_mask)  # (B, d)
        return self.classifier(self.dropout(pooled))

    def loss(self, logits: Tensor, labels: Tensor, key_mask: Tensor | None = None) -> Tensor:
        return _cross_entropy(logits, labels)


def _cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """Mean cross-entropy of ``logits (N, C)`` over the labels ``(N,)`` that are not ``IGNORE``.

    A batch without any label of this task (possible when tasks are labelled on different examples)
    gives a loss of 0 that still backpropagates, where ``F.cross_entropy`` would give NaN.
    """
    if not (labels != IGNORE).any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits, labels, ignore_index=IGNORE)


class TokenClassificationHead(nn.Module):
    """One label per token (tagging); padding positions never count in the loss."""

    def __init__(self, d_model: int, num_classes: int, *, dropout: float = 0.1) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(d_model, num_classes)

    def forward(self, hidden: Tensor, key_mask: Tensor | None = None) -> Tensor:
        """``hidden (B, L, d)`` → logits ``(B, L, num_classes)``."""
        return self.classifier(self.dropout(hidden))

    def loss(self, logits: Tensor, labels: Tensor, key_mask: Tensor | None = None) -> Tensor:
        if key_mask is not None:
            labels = labels.masked_fill(~key_mask.bool(), IGNORE)
        return _cross_entropy(logits.flatten(0, 1), labels.flatten())


class NextItemHead(nn.Module):
    """At every position, scores for the next item (as in SASRec): ``(B, L, d) → (B, L, num_items)``.

    Pass the encoder's item embedding as ``tied_embedding`` to score items by a dot product with
    their own embeddings, as SASRec does. That dot product is divided by √d_model, as attention
    scores are: with the encoder's N(0, 1) embeddings the raw products have a spread of about
    √d_model, which makes the first softmax nearly one-hot and training very slow.
    """

    def __init__(self, d_model: int, num_items: int, *, tied_embedding: nn.Embedding | None = None) -> None:
        super().__init__()
        if tied_embedding is not None and tuple(tied_embedding.weight.shape) != (num_items, d_model):
            raise ValueError(
                f"tied_embedding must be ({num_items}, {d_model}) = (num_items, d_model), "
                f"got {tuple(tied_embedding.weight.shape)}"
            )
        self.tied = tied_embedding
        self.proj = None if tied_embedding is not None else nn.Linear(d_model, num_items, bias=False)

    def forward(self, hidden: Tensor, key_mask: Tensor | None = None) -> Tensor:
        if self.tied is not None:
            return hidden @ self.tied.weight.T / self.tied.embedding_dim ** 0.5  # (B, L, num_items)
        return self.proj(hidden)

    def loss(self, logits: Tensor, labels: Tensor, key_mask: Tensor | None = None) -> Tensor:
        if key_mask is not None:
            labels = labels.masked_fill(~key_mask.bool(), IGNORE)
        return _cross_entropy(logits.flatten(0, 1), labels.flatten())


@dataclass
class MultiTaskOutput:
    """Per-task ``logits`` and ``losses``, the weighted total ``loss``, and attention weights if asked."""

    logits: dict[str, Tensor]
    losses: dict[str, Tensor] = field(default_factory=dict)
    loss: Tensor | None = None
    attentions: tuple[Tensor, ...] | None = None


class MultiTaskModel(nn.Module):
    """A shared encoder with named task heads and a weighted sum of their losses.

    ``encoder(input_ids, embeds=, key_mask=, causal=, need_weights=)`` must return an object with
    ``last_hidden_state (B, L, d)`` (as :class:`~course_attn.TransformerEncoder` does). Each head
    maps that to its logits and has a ``loss(logits, labels, key_mask)``.
    """

    def __init__(self, encoder: nn.Module, heads: dict[str, nn.Module], loss_weights: dict[str, float] | None = None):
        super().__init__()
        if not heads:
            raise ValueError("MultiTaskModel needs at least one task head")
        loss_weights = dict(loss_weights or {})
        unknown = set(loss_weights) - set(heads)
        if unknown:
            raise ValueError(f"loss_weights names unknown tasks {sorted(unknown)}; tasks are {sorted(heads)}")
        self.encoder = encoder
        self.heads = nn.ModuleDict(heads)
        self.loss_weights = {name: float(loss_weights.get(name, 1.0)) for name in heads}

    def forward(
        self, input_ids: Tensor | None = None, *, embeds: Tensor | None = None, key_mask: Tensor | None = None,
        labels: dict[str, Tensor] | None = None, causal: bool = False, need_weights: bool = False,
    ) -> MultiTaskOutput:
        """Run the encoder once and every head on its output; with ``labels`` (a dict keyed by
        task, any subset of tasks) also compute the losses and their weighted sum."""
        encoded = self.encoder(input_ids, embeds=embeds, key_mask=key_mask, causal=causal, need_weights=need_weights)
        hidden = encoded.last_hidden_state  # (B, L, d)
        logits = {name: head(hidden, key_mask) for name, head in self.heads.items()}
        output = MultiTaskOutput(logits=logits, attentions=encoded.attentions)
        if labels:
            unknown = set(labels) - set(self.heads)
            if unknown:
                raise ValueError(f"labels for unknown tasks {sorted(unknown)}; tasks are {sorted(self.heads)}")
            output.losses = {name: self.heads[name].loss(logits[name], y, key_mask) for name, y in labels.items()}
            output.loss = sum(self.loss_weights[name] * loss for name, loss in output.losses.items())
        return output


class LinearPerTask(nn.Module):
    """The baseline for multi-task data: one linear layer (a logistic regression) per task on fixed
    features, ``features (N, F) → {task: (N, C_task)}``.

    No weight serves two tasks, so these are separate classifiers, trained together by one
    :func:`~course_attn.fit` call on ``{"features": (N, F), "labels": {task: (N,)}}`` batches. The
    features may be word counts (:func:`course_attn.text.bag_of_words`) or the frozen embeddings of
    a pretrained encoder (then it is a *linear probe*).
    """

    def __init__(self, num_features: int, num_classes: dict[str, int]) -> None:
        super().__init__()
        if not isinstance(num_features, int) or isinstance(num_features, bool) or num_features <= 0:
            raise ValueError(f"num_features must be a positive int, got {num_features!r}")
        if not num_classes or any(not isinstance(c, int) or c < 2 for c in num_classes.values()):
            raise ValueError(f"num_classes must map each task to a number of classes >= 2, got {num_classes!r}")
        self.num_features = num_features
        self.heads = nn.ModuleDict({task: nn.Linear(num_features, c) for task, c in num_classes.items()})

    def forward(self, features: Tensor, labels: dict[str, Tensor] | None = None) -> MultiTaskOutput:
        """Per-task ``logits``; with ``labels`` (any subset of the tasks) also the losses and their sum."""
        if features.dim() != 2 or features.shape[1] != self.num_features:
            raise ValueError(f"features must be (N, {self.num_features}), got {tuple(features.shape)}")
        output = MultiTaskOutput(logits={task: head(features) for task, head in self.heads.items()})  # {task: (N, C)}
        if labels:
            unknown = set(labels) - set(self.heads)
            if unknown:
                raise ValueError(f"labels for unknown tasks {sorted(unknown)}; tasks are {sorted(self.heads)}")
            output.losses = {task: _cross_entropy(output.logits[task], y) for task, y in labels.items()}
            output.loss = sum(output.losses.values())
        return output
