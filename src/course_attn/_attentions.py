"""Input checks shared by the tools that read a model's per-layer attention weights."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor


def per_layer(attentions, stacked: str) -> list[Tensor]:
    """``attentions`` as a list with one tensor per layer.

    It may be a list/tuple of tensors (what a model returns with ``need_weights=True``) or one
    tensor stacked along a first layer dimension, of the shape ``stacked`` names, e.g.
    ``"(num_layers, H, L, L)"``. Only the container is checked here; the shapes of the layers
    are the caller's business.
    """
    if isinstance(attentions, Tensor):
        if attentions.dim() != stacked.count(",") + 1:
            raise ValueError(
                f"attentions given as one tensor must be {stacked}, got shape {tuple(attentions.shape)}"
            )
        return list(attentions.unbind(0))
    if not isinstance(attentions, Sequence) or isinstance(attentions, str):
        raise TypeError(
            f"attentions must be a list/tuple of per-layer tensors or one {stacked} tensor, "
            f"got {type(attentions).__name__}"
        )
    if not attentions:
        raise ValueError("attentions is empty: pass the model's attentions, one tensor per layer")
    for i, a in enumerate(attentions):
        if a is None:
            raise TypeError(f"attentions[{i}] is None: call the model with need_weights=True to get the weights")
        if not isinstance(a, Tensor):
            raise TypeError(f"attentions[{i}] must be a torch.Tensor, got {type(a).__name__}")
    return list(attentions)
