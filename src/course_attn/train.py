"""The one training loop every chapter shares: AdamW, warm-up, gradient clipping, a progress bar, a history."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ._validate import flag, integer, number, tensor, torch_device

__all__ = ["History", "fit", "iterate_batches", "accuracy", "warmup_schedule"]


@dataclass
class History:
    """What :func:`fit` recorded: the loss and learning rate of every step, and per-epoch metrics."""

    step_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    epochs: list[dict[str, float]] = field(default_factory=list)

    def metric(self, name: str) -> list[float]:
        """One metric across epochs, e.g. ``history.metric("val_acc")``; a name no epoch recorded is an error."""
        values = [epoch[name] for epoch in self.epochs if name in epoch]
        if self.epochs and not values:
            recorded = sorted({key for epoch in self.epochs for key in epoch})
            raise ValueError(f"no epoch recorded a metric {name!r}; the metrics are {recorded}")
        return values

    def plot(self, ax=None, *, smooth: int = 10):
        """Training loss per step (and its running mean over ``smooth`` steps)."""
        import matplotlib.pyplot as plt

        smooth = integer("smooth", smooth, minimum=1)
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(self.step_loss, alpha=0.35, label="loss per step")
        if len(self.step_loss) >= smooth > 1:
            kernel = torch.ones(smooth) / smooth
            running = torch.conv1d(torch.tensor(self.step_loss)[None, None], kernel[None, None])[0, 0]
            ax.plot(range(smooth - 1, len(self.step_loss)), running, label=f"mean of {smooth}")
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.legend()
        return ax


def iterate_batches(
    data: dict, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None
) -> Iterator[dict]:
    """Batches of ``batch_size`` examples from a dict of tensors sharing their first dim.

    Values may themselves be dicts of tensors (e.g. ``{"labels": {"intent": ..., "topic": ...}}``
    for :class:`~course_attn.MultiTaskModel`); they are sliced the same way.
    """
    batch_size = integer("batch_size", batch_size, minimum=1)
    shuffle = flag("shuffle", shuffle)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    n = _num_examples(data, "data")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for start in range(0, n, batch_size):
        yield _map(data, lambda t, idx=order[start:start + batch_size]: t[idx])


def _num_examples(data, what: str) -> int:
    """The number of examples in a (nested) dict of tensors: their shared first dim."""
    if not isinstance(data, dict):
        raise TypeError(f"{what} must be a dict of tensors, got {type(data).__name__}")
    sizes = {}
    _collect_sizes(data, "", sizes, what)
    if not sizes:
        raise ValueError(f"{what} holds no tensors")
    if len(set(sizes.values())) != 1:
        raise ValueError(f"every tensor in {what} must have the same number of examples, got {sizes}")
    return next(iter(sizes.values()))


def _collect_sizes(data, prefix, sizes, what):
    for name, value in data.items():
        key = f"{what}[{prefix + name!r}]"
        if isinstance(value, dict):
            _collect_sizes(value, f"{prefix}{name}.", sizes, what)
        elif not isinstance(value, Tensor):
            raise TypeError(f"{key} must be a tensor or a dict of tensors, got {type(value).__name__}")
        elif value.dim() == 0:
            raise ValueError(f"{key} must have a first dim that counts the examples, got a 0-d tensor")
        else:
            sizes[prefix + name] = len(value)


def _map(obj, fn):
    """Apply ``fn`` to every tensor in a (nested) dict; leave other values as they are."""
    if isinstance(obj, dict):
        return {k: _map(v, fn) for k, v in obj.items()}
    return fn(obj) if isinstance(obj, Tensor) else obj


def warmup_schedule(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int):
    """Linear warm-up from 0 to the base learning rate over ``warmup_steps``, then linear decay to 0."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    warmup_steps = integer("warmup_steps", warmup_steps, minimum=0)
    total_steps = integer("total_steps", total_steps, minimum=1)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def accuracy(logits: Tensor, labels: Tensor, ignore_index: int = -100) -> float:
    """Share of positions where ``argmax(logits) == labels``, skipping ``ignore_index`` labels.

    ``logits (..., C)`` and integer ``labels (...)``, each label in ``[0, C)`` or ``ignore_index``.
    """
    tensor("logits", logits, kind="float")
    tensor("labels", labels, kind="int")
    ignore_index = integer("ignore_index", ignore_index)
    if labels.shape != logits.shape[:-1]:
        raise ValueError(f"labels must have the shape of logits without its class dim, {tuple(logits.shape[:-1])}, "
                         f"got {tuple(labels.shape)}")
    keep = labels != ignore_index
    if not keep.any():
        raise ValueError("accuracy: every label is ignore_index, nothing to score")
    C, real = logits.shape[-1], labels[keep]
    if int(real.min()) < 0 or int(real.max()) >= C:
        raise ValueError(f"labels must lie in [0, {C}) or be ignore_index={ignore_index}, "
                         f"got values from {int(real.min())} to {int(real.max())}")
    return (logits.argmax(-1)[keep] == labels[keep]).float().mean().item()


def _distributed() -> tuple[int, int]:
    """``(rank, world_size)`` of this process; ``(0, 1)`` outside ``torch.distributed``."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _mean_over_processes(value: Tensor, world: int) -> float:
    if world > 1:
        value = value.clone()
        torch.distributed.all_reduce(value)
        value /= world
    return value.item()


def _warmup_steps(warmup, total: int) -> int:
    """``warmup`` in steps: a fraction of the ``total`` steps below 1, else a whole number of steps."""
    warmup = number("warmup", warmup, low=0)
    if warmup < 1:
        return round(warmup * total)
    if not warmup.is_integer():
        raise ValueError(f"warmup must be a fraction in [0, 1) or a whole number of steps, got {warmup!r}")
    return int(warmup)


def _default_loss(model: nn.Module, batch: dict) -> Tensor:
    output = model(**batch)
    if getattr(output, "loss", None) is None:
        raise ValueError("the model's output has no .loss; pass loss_fn(model, batch) -> loss to fit()")
    return output.loss


def fit(
    model: nn.Module,
    train_data: dict[str, Tensor] | Iterable[dict],
    *,
    epochs: int = 1,
    batch_size: int = 32,
    lr: float = 1e-3,
    weight_decay: float = 0.01,
    warmup: float | int = 0.1,
    clip_grad: float | None = 1.0,
    loss_fn: Callable[[nn.Module, dict], Tensor] | None = None,
    eval_fn: Callable[[nn.Module], dict[str, float]] | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    seed: int = 0,
) -> History:
    """Train ``model`` and return its :class:`History`.

    ``train_data`` is a dict of tensors (shuffled into batches of ``batch_size`` each epoch) or
    a sized, re-iterable collection of batch dicts (a ``DataLoader``). Each batch is moved to
    ``device`` (default: the model's) and given to ``loss_fn(model, batch)``, by default
    ``model(**batch).loss``. ``warmup`` is a number of steps or, below 1, a fraction of all
    steps. ``eval_fn(model)`` runs after each epoch in eval mode without gradients and returns
    metrics to record. The model is left in eval mode.

    Launched with ``torchrun`` (``torch.distributed`` initialized), the model is wrapped in
    ``DistributedDataParallel`` and each process trains on its share of every batch of a dict
    ``train_data``: ``batch_size`` is then the global batch, split evenly across processes (keep it
    divisible by the number of processes), and the recorded losses are averaged over them. A
    ``DataLoader`` must bring its own ``DistributedSampler``. Only rank 0 shows a progress bar.
    """
    from tqdm.auto import tqdm

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("model has no trainable parameters: there is nothing to fit")
    epochs = integer("epochs", epochs, minimum=1)
    batch_size = integer("batch_size", batch_size, minimum=1)
    lr = number("lr", lr, low=0, low_open=True)
    weight_decay = number("weight_decay", weight_decay, low=0)
    clip_grad = None if clip_grad is None else number("clip_grad", clip_grad, low=0, low_open=True)
    progress, seed = flag("progress", progress), integer("seed", seed)
    for name, fn in (("loss_fn", loss_fn), ("eval_fn", eval_fn)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be a function or None, got {type(fn).__name__}")
    device = torch_device("device", device) if device is not None else next(model.parameters()).device
    rank, world = _distributed()
    generator = torch.Generator().manual_seed(seed)  # the same on every process: the same global batches
    if isinstance(train_data, dict):
        steps_per_epoch = math.ceil(_num_examples(train_data, "train_data") / batch_size)

        def batches():
            for batch in iterate_batches(train_data, batch_size, shuffle=True, generator=generator):
                yield _map(batch, lambda t: t.tensor_split(world)[rank]) if world > 1 else batch
    else:
        sized = isinstance(train_data, Sized) and isinstance(train_data, Iterable)
        if not sized or isinstance(train_data, (Tensor, Iterator)):
            raise TypeError("train_data must be a dict of tensors or a sized, re-iterable collection of batch "
                            f"dicts (a DataLoader), got {type(train_data).__name__}")
        steps_per_epoch = len(train_data)

        def batches():
            return iter(train_data)
    if steps_per_epoch == 0:
        raise ValueError("train_data is empty: there is nothing to train on")
    total = steps_per_epoch * epochs
    warmup_steps = _warmup_steps(warmup, total)

    model.to(device)
    loss_fn = loss_fn or _default_loss
    trained = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        trained = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]  # biases, LayerNorm
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=lr
    )
    schedule = warmup_schedule(optimizer, max(1, warmup_steps), total)
    history = History()
    bar = tqdm(total=total, disable=not progress or rank > 0, desc="training", unit="step")
    for epoch in range(epochs):
        model.train()
        epoch_losses = []
        for batch in batches():
            if not isinstance(batch, dict):
                raise TypeError(f"train_data must yield batches that are dicts of tensors, got {type(batch).__name__}")
            batch = _map(batch, lambda t: t.to(device))
            loss = tensor("the loss", loss_fn(trained, batch), dims=0, kind="float", shape="(a scalar)")
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} at step {len(history.step_loss)}; "
                                         "try a lower lr, more warm-up or gradient clipping")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # with DDP this also averages the gradients over the processes
            if clip_grad is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
            history.lr.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            schedule.step()
            value = _mean_over_processes(loss.detach(), world)
            history.step_loss.append(value)
            epoch_losses.append(value)
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{value:.4f}")
        record = {"epoch": epoch + 1, "train_loss": sum(epoch_losses) / max(1, len(epoch_losses))}
        if eval_fn is not None:
            model.eval()
            with torch.no_grad():
                metrics = eval_fn(model)
            if not isinstance(metrics, dict):
                raise TypeError(f"eval_fn must return a dict of metrics, got {type(metrics).__name__}")
            record.update(metrics)
        history.epochs.append(record)
    bar.close()
    model.eval()
    return history
