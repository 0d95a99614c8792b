"""One shared encoder, several task heads: what "multi-task" really means for a Transformer.

Multi-*head* attention (several attention heads inside one layer) and multi-*task* learning
(several training objectives sharing one encoder) are different things; this module is the second.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._validate import integer, number, one_of, tensor

__all__ = [
    "MultiTaskModel", "MultiTaskOutput", "SequenceClassificationHead", "TokenClassificationHead",
    "NextItemHead", "LinearPerTask", "UncertaintyWeighting", "mean_pool",
]

IGNORE = -100  # label value that a loss skips (padding, positions without a target)


def mean_pool(hidden: Tensor, key_mask: Tensor | None) -> Tensor:
    """Average ``hidden (B, L, d)`` over real tokens (``key_mask (B, L)`` True/1) → ``(B, d)``."""
    tensor("hidden", hidden, dims=3, kind="float", shape="(B, L, d)")
    if key_mask is None:
        return hidden.mean(dim=1)
    weights = _check_key_mask(key_mask, hidden.shape[:2]).to(hidden.dtype).unsqueeze(-1)  # (B, L, 1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def _check_key_mask(key_mask, shape: torch.Size) -> Tensor:
    """``key_mask`` of ``shape`` (bool, or 0/1 integers; True/1 = real token) as a bool tensor."""
    tensor("key_mask", key_mask, kind="bool_or_int", shape="(B, L)")
    if key_mask.shape != shape:
        raise ValueError(f"key_mask must be (B, L) = {tuple(shape)}, True/1 for real tokens; "
                         f"got {tuple(key_mask.shape)}")
    if key_mask.dtype != torch.bool and not ((key_mask == 0) | (key_mask == 1)).all():
        raise ValueError("key_mask must hold only 0 and 1 (1 = real token), like a tokenizer's attention_mask")
    return key_mask.bool()


def _check_hidden(hidden, d_model: int) -> None:
    """``hidden (..., d_model)``: floats, with the head's width last."""
    tensor("hidden", hidden, kind="float", shape="(..., d_model)")
    if hidden.shape[-1:] != (d_model,):
        raise ValueError(f"hidden must be (..., d_model={d_model}), got shape {tuple(hidden.shape)}")


class SequenceClassificationHead(nn.Module):
    """One label per sequence: pool (first token, or mean over real tokens), dropout, linear."""

    def __init__(self, d_model: int, num_classes: int, *, pooling: str = "cls", dropout: float = 0.1) -> None:
        super().__init__()
        self.d_model = integer("d_model", d_model, minimum=1)
        self.pooling = one_of("pooling", pooling, ("cls", "mean"))
        self.dropout = nn.Dropout(number("dropout", dropout, low=0, high=1, high_open=True))
        self.classifier = nn.Linear(d_model, integer("num_classes", num_classes, minimum=2))

    def forward(self, hidden: Tensor, key_mask: Tensor | None = None) -> Tensor:
        """``hidden (B, L, d)`` → logits ``(B, num_classes)``."""
        tensor("hidden", hidden, dims=3, shape="(B, L, d)")
        _check_hidden(hidden, self.d_model)
        pooled = hidden[:, 0] if self.pooling == "cls" else mean_pool(hidden, key_mask)  # (B, d)
        return self.classifier(self.dropout(pooled))

    def loss(self, logits: Tensor, labels: Tensor, key_mask: Tensor | None = None) -> Tensor:
        return _cross_entropy(logits, labels)


def _cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """Mean cross-entropy of ``logits (..., C)`` over the labels ``(...)`` that are not ``IGNORE``.

    A batch without any label of this task (possible when tasks are labelled on different examples)
    gives a loss of 0 that still backpropagates, where ``F.cross_entropy`` would give NaN.
    """
    tensor("labels", labels, kind="int")
    if labels.shape != logits.shape[:-1]:
        raise ValueError(f"labels must be {tuple(logits.shape[:-1])}, one class id per row of the logits "
                         f"{tuple(logits.shape)}, got {tuple(labels.shape)}")
    real = labels[labels != IGNORE]
    if not real.numel():
        return logits.sum() * 0.0
    C = logits.shape[-1]
    if int(real.min()) < 0 or int(real.max()) >= C:
        raise ValueError(f"labels must lie in [0, {C}) or be {IGNORE} (ignored), "
                         f"got values from {int(real.min())} to {int(real.max())}")
    return F.cross_entropy(logits.flatten(0, -2), labels.flatten(), ignore_index=IGNORE)


def _without_padding(labels: Tensor, key_mask: Tensor | None) -> Tensor:
    """``labels (B, L)`` with ``IGNORE`` where ``key_mask`` marks padding."""
    if key_mask is None:
        return labels
    tensor("labels", labels, kind="int")
    return labels.masked_fill(~_check_key_mask(key_mask, labels.shape), IGNORE)


class TokenClassificationHead(nn.Module):
    """One label per token (tagging); padding positions never count in the loss."""

    def __init__(self, d_model: int, num_classes: int, *, dropout: float = 0.1) -> None:
        super().__init__()
        self.d_model = integer("d_model", d_model, minimum=1)
        self.dropout = nn.Dropout(number("dropout", dropout, low=0, high=1, high_open=True))
        self.classifier = nn.Linear(d_model, integer("num_classes", num_classes, minimum=2))

    def forward(self, hidden: Tensor, key_mask: Tensor | None = None) -> Tensor:
        """``hidden (B, L, d)`` → logits ``(B, L, num_classes)``."""
        _check_hidden(hidden, self.d_model)
        return self.classifier(self.dropout(hidden))

    def loss(self, logits: Tensor, labels: Tensor, key_mask: Tensor | None = None) -> Tensor:
        return _cross_entropy(logits, _without_padding(labels, key_mask))


class NextItemHead(nn.Module):
    """At every position, scores for the next item (as in SASRec): ``(B, L, d) → (B, L, num_items)``.

    Pass the encoder's item embedding as ``tied_embedding`` to score items by a dot product with
    their own embeddings, as SASRec does. That dot product is divided by √d_model, as attention
    scores are: with the encoder's N(0, 1) embeddings the raw products have a spread of about
    √d_model, which makes the first softmax nearly one-hot and training very slow.
    """

    def __init__(self, d_model: int, num_items: int, *, tied_embedding: nn.Embedding | None = None) -> None:
        super().__init__()
        self.d_model = integer("d_model", d_model, minimum=1)
        num_items = integer("num_items", num_items, minimum=1)
        if tied_embedding is not None and not isinstance(tied_embedding, nn.Embedding):
            raise TypeError(f"tied_embedding must be an nn.Embedding or None, got {type(tied_embedding).__name__}")
        if tied_embedding is not None and tuple(tied_embedding.weight.shape) != (num_items, d_model):
            raise ValueError(
                f"tied_embedding must be ({num_items}, {d_model}) = (num_items, d_model), "
                f"got {tuple(tied_embedding.weight.shape)}"
            )
        self.tied = tied_embedding
        self.proj = None if tied_embedding is not None else nn.Linear(d_model, num_items, bias=False)

    def forward(self, hidden: Tensor, key_mask: Tensor | None = None) -> Tensor:
        _check_hidden(hidden, self.d_model)
        if self.tied is not None:
            return hidden @ self.tied.weight.T / self.tied.embedding_dim ** 0.5  # (B, L, num_items)
        return self.proj(hidden)

    def loss(self, logits: Tensor, labels: Tensor, key_mask: Tensor | None = None) -> Tensor:
        return _cross_entropy(logits, _without_padding(labels, key_mask))


class UncertaintyWeighting(nn.Module):
    """Loss weights learned with the model, from each task's homoscedastic uncertainty (Kendall, Gal &
    Cipolla, CVPR 2018).

    Each task ``t`` has a learnable log-variance :math:`s_t = \\log \\sigma_t^2` (``log_vars``,
    starting at ``init``). A classification loss :math:`L_t` (a cross-entropy) enters the total as
    the paper's classification form, its eq. (10) with :math:`s = \\log\\sigma^2`:

    .. math:: e^{-s_t} L_t + \\tfrac12 s_t ,

    a task named in ``regression`` (a squared error) as the Gaussian form, eq. (7):
    :math:`\\tfrac12 e^{-s_t} L_t + \\tfrac12 s_t`. For a fixed loss :math:`L_t` the total is smallest
    at :math:`s_t = \\log 2L_t` (classification) or :math:`\\log L_t` (regression), so a task whose loss
    stays high ends up with a small weight. Many implementations write :math:`e^{-s_t} L_t + s_t`,
    which settles at weights twice these. ``weights()`` gives the factor in front of each loss now.

    Pass it to :class:`~course_attn.MultiTaskModel` as ``loss_weights``; its parameters then train
    with the model (no weight decay: they are 0-dimensional). A task without any label in a batch
    (all ``-100``) is left out of that batch's total: its :math:`\\tfrac12 s_t` alone would push its
    weight up for nothing.
    """

    def __init__(self, tasks, *, regression=(), init: float = 0.0) -> None:
        super().__init__()
        if isinstance(tasks, (str, bytes)) or not isinstance(tasks, Iterable):
            raise TypeError(f"tasks must be a list of task names, got {type(tasks).__name__}")
        tasks = list(tasks)
        if not tasks:
            raise ValueError("tasks must name at least one task")
        for i, task in enumerate(tasks):
            if not isinstance(task, str):
                raise TypeError(f"tasks[{i}] must be a task name (str), got {type(task).__name__}")
        if len(set(tasks)) != len(tasks):
            raise ValueError(f"tasks must be distinct, got {tasks}")
        if isinstance(regression, (str, bytes)) or not isinstance(regression, Iterable):
            raise TypeError(f"regression must be a list of task names, got {type(regression).__name__}")
        regression = set(regression)
        unknown = regression - set(tasks)
        if unknown:
            raise ValueError(f"regression names unknown tasks {sorted(unknown)}; tasks are {tasks}")
        init = number("init", init)
        self.regression = frozenset(regression)
        self.log_vars = nn.ParameterDict({t: nn.Parameter(torch.tensor(init)) for t in tasks})

    def _scale(self, task: str) -> float:
        return 0.5 if task in self.regression else 1.0

    def forward(self, losses: dict[str, Tensor]) -> Tensor:
        """The weighted total of ``losses`` (a dict of scalar losses for some of the tasks)."""
        if not isinstance(losses, dict):
            raise TypeError(f"losses must be a dict {{task: scalar loss}}, got {type(losses).__name__}")
        if not losses:
            raise ValueError("losses is empty: there is nothing to weigh")
        unknown = set(losses) - set(self.log_vars)
        if unknown:
            raise ValueError(f"losses for unknown tasks {sorted(unknown)}; tasks are {list(self.log_vars)}")
        total = 0.0
        for task, loss in losses.items():
            tensor(f"losses[{task!r}]", loss, dims=0, kind="float", shape="(a scalar)")
            s = self.log_vars[task]
            total = total + self._scale(task) * torch.exp(-s) * loss + 0.5 * s
        return total

    def weights(self) -> dict[str, float]:
        """The factor in front of each task's loss: :math:`e^{-s_t}`, or :math:`\\tfrac12 e^{-s_t}`
        for a regression task."""
        return {t: self._scale(t) * math.exp(-s.item()) for t, s in self.log_vars.items()}


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
    maps that to its logits and has a ``loss(logits, labels, key_mask)``. ``loss_weights`` is a dict
    of fixed weights (1 for a task it leaves out) or an
    :class:`~course_attn.multitask.UncertaintyWeighting` over the same tasks, learned with the model.
    """

    def __init__(self, encoder: nn.Module, heads: dict[str, nn.Module],
                 loss_weights: dict[str, float] | UncertaintyWeighting | None = None):
        super().__init__()
        if not isinstance(encoder, nn.Module):
            raise TypeError(f"encoder must be an nn.Module, got {type(encoder).__name__}")
        if not isinstance(heads, dict):
            raise TypeError(f"heads must be a dict {{task: head module}}, got {type(heads).__name__}")
        if not heads:
            raise ValueError("MultiTaskModel needs at least one task head")
        for task, head in heads.items():
            if not isinstance(head, nn.Module):
                raise TypeError(f"heads[{task!r}] must be an nn.Module, got {type(head).__name__}")
        loss_weights = {} if loss_weights is None else loss_weights
        self.encoder = encoder
        self.heads = nn.ModuleDict(heads)
        if isinstance(loss_weights, UncertaintyWeighting):
            if set(loss_weights.log_vars) != set(heads):
                raise ValueError(f"loss_weights (an UncertaintyWeighting) has tasks {sorted(loss_weights.log_vars)}; "
                                 f"the heads are {sorted(heads)}")
            self.weighting = loss_weights  # a submodule: its log-variances train with the model
            self.loss_weights = None
            return
        if not isinstance(loss_weights, dict):
            raise TypeError(f"loss_weights must be a dict {{task: weight}} or None, got {type(loss_weights).__name__} "
                            "(or an UncertaintyWeighting)")
        unknown = set(loss_weights) - set(heads)
        if unknown:
            raise ValueError(f"loss_weights names unknown tasks {sorted(unknown)}; tasks are {sorted(heads)}")
        self.weighting = None
        self.loss_weights = {name: number(f"loss_weights[{name!r}]", loss_weights.get(name, 1.0), low=0)
                             for name in heads}

    def forward(
        self, input_ids: Tensor | None = None, *, embeds: Tensor | None = None, key_mask: Tensor | None = None,
        labels: dict[str, Tensor] | None = None, causal: bool = False, need_weights: bool = False,
    ) -> MultiTaskOutput:
        """Run the encoder once and every head on its output; with ``labels`` (a dict keyed by
        task, any subset of tasks) also compute the losses and their weighted sum."""
        _check_labels(labels, self.heads)
        encoded = self.encoder(input_ids, embeds=embeds, key_mask=key_mask, causal=causal, need_weights=need_weights)
        hidden = encoded.last_hidden_state  # (B, L, d)
        logits = {name: head(hidden, key_mask) for name, head in self.heads.items()}
        output = MultiTaskOutput(logits=logits, attentions=encoded.attentions)
        if labels:
            output.losses = {name: self.heads[name].loss(logits[name], y, key_mask) for name, y in labels.items()}
            if self.weighting is None:
                output.loss = sum(self.loss_weights[name] * loss for name, loss in output.losses.items())
            else:
                labelled = {name: loss for name, loss in output.losses.items() if bool((labels[name] != IGNORE).any())}
                output.loss = self.weighting(labelled) if labelled else sum(output.losses.values())
        return output


def _check_labels(labels, tasks) -> None:
    """``labels`` is None or a dict keyed by some of ``tasks``."""
    if labels is None:
        return
    if not isinstance(labels, dict):
        raise TypeError(f"labels must be a dict {{task: labels}} or None, got {type(labels).__name__}")
    unknown = set(labels) - set(tasks)
    if unknown:
        raise ValueError(f"labels for unknown tasks {sorted(unknown)}; tasks are {sorted(tasks)}")


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
        self.num_features = integer("num_features", num_features, minimum=1)
        if not isinstance(num_classes, dict):
            raise TypeError(f"num_classes must be a dict {{task: number of classes}}, got {type(num_classes).__name__}")
        if not num_classes:
            raise ValueError("num_classes must name at least one task")
        self.heads = nn.ModuleDict({task: nn.Linear(num_features, integer(f"num_classes[{task!r}]", c, minimum=2))
                                    for task, c in num_classes.items()})

    def forward(self, features: Tensor, labels: dict[str, Tensor] | None = None) -> MultiTaskOutput:
        """Per-task ``logits``; with ``labels`` (any subset of the tasks) also the losses and their sum."""
        tensor("features", features, dims=2, kind="float", shape=f"(N, {self.num_features})")
        if features.shape[1] != self.num_features:
            raise ValueError(f"features must be (N, {self.num_features}), got {tuple(features.shape)}")
        _check_labels(labels, self.heads)
        output = MultiTaskOutput(logits={task: head(features) for task, head in self.heads.items()})  # {task: (N, C)}
        if labels:
            output.losses = {task: _cross_entropy(output.logits[task], y) for task, y in labels.items()}
            output.loss = sum(output.losses.values())
        return output
