"""Attention rollout (Abnar & Zuidema, "Quantifying Attention Flow in Transformers", ACL 2020).

Raw attention weights of one layer say how a layer mixes *its own inputs*, which after the first
layer are already mixtures of tokens. Rollout follows the mixing back to the input tokens. For
each layer ``l`` (first layer first) it

1. fuses the heads (``head_fusion="mean"`` is the paper's choice) into ``W_l (B, L, L)``;
2. adds the identity for the residual connection and renormalizes every row,
   ``A_l = (W_l + I) / rowsum`` (for rows that sum to one this is the paper's ``0.5 W + 0.5 I``);
3. multiplies from the first layer up: ``R_1 = A_1``, ``R_l = A_l @ R_{l-1}``.

Row ``i`` of the result ``R_L`` is a distribution over the input tokens: how much of token ``i``'s
last hidden state traces back to each input token, *if* information flowed only along the
attention weights and the residual path, mixed linearly. That assumption ignores the values, the
feed-forward layers and every non-linearity, so rollout is a heuristic, not an explanation.

    out = encoder(ids, key_mask=mask, need_weights=True)
    rollout = attention_rollout(out.attentions, key_mask=mask)   # (B, L, L)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ._attentions import per_layer
from ._validate import flag, one_of, tensor

__all__ = ["attention_rollout", "HEAD_FUSIONS"]

HEAD_FUSIONS = ("mean", "max", "min")


def attention_rollout(
    attentions: Sequence[Tensor] | Tensor,
    key_mask: Tensor | None = None,
    *,
    add_residual: bool = True,
    head_fusion: str = "mean",
) -> Tensor:
    """Roll the per-layer attention weights out to the input tokens → ``(B, L, L)``.

    ``attentions`` holds one ``(B, H, L, L)`` tensor of attention probabilities per layer, the
    first layer first (the ``attentions`` of an encoder called with ``need_weights=True``), or
    one ``(num_layers, B, H, L, L)`` tensor. ``key_mask (B, L)`` is ``True``/1 for real tokens
    (a tokenizer's ``attention_mask``): padding columns are dropped before the rows are
    renormalized, and padding rows and columns of the result are 0.

    ``add_residual=False`` multiplies the raw (head-fused, renormalized) matrices, without the
    identity. ``head_fusion`` is ``"mean"`` (the paper), ``"max"`` or ``"min"`` over heads.

    Every real row of the result is non-negative and sums to one. The result is float32 (or
    float64 for float64 inputs).
    """
    layers = _check_attentions(attentions)
    add_residual = flag("add_residual", add_residual)
    head_fusion = one_of("head_fusion", head_fusion, HEAD_FUSIONS)
    B, _, L, _ = layers[0].shape
    dtype = torch.promote_types(layers[0].dtype, torch.float32)  # accumulate half inputs in float32
    real = _check_key_mask(key_mask, B, L, layers[0].device)  # (B, L) bool, or None
    eye = torch.eye(L, dtype=dtype, device=layers[0].device)  # (L, L)
    if real is not None:
        keep = (real[:, :, None] & real[:, None, :]).to(dtype)  # (B, L, L): real query and real key
        eye = eye * keep  # (B, L, L): no residual path through padding

    rollout = None
    for weights in layers:
        w = weights.to(dtype)  # (B, H, L, L)
        if head_fusion == "mean":
            w = w.mean(dim=1)  # (B, L, L)
        elif head_fusion == "max":
            w = w.amax(dim=1)
        else:
            w = w.amin(dim=1)
        if real is not None:
            w = w * keep  # padding rows and columns → 0
        if add_residual:
            w = w + eye
        rows = w.sum(dim=-1, keepdim=True)  # (B, L, 1)
        w = torch.where(rows > 0, w / rows.clamp(min=torch.finfo(dtype).tiny), 0.0)  # rows sum to 1
        rollout = w if rollout is None else w @ rollout  # (B, L, L): A_l @ R_{l-1}
    return rollout


def _check_attentions(attentions) -> list[Tensor]:
    """A non-empty list of same-shaped ``(B, H, L, L)`` floating tensors of non-negative weights."""
    attentions = per_layer(attentions, "(num_layers, B, H, L, L)")
    for i, a in enumerate(attentions):
        if not a.dtype.is_floating_point:
            raise TypeError(f"attentions[{i}] must be floating point, got dtype {a.dtype}")
        if a.dim() != 4 or a.shape[-1] != a.shape[-2]:
            raise ValueError(
                f"attentions[{i}] must be self-attention weights of shape (B, H, L, L), "
                f"got {tuple(a.shape)}"
            )
        if a.shape != attentions[0].shape:
            raise ValueError(
                f"every layer's weights must have one shape; attentions[0] is "
                f"{tuple(attentions[0].shape)} but attentions[{i}] is {tuple(a.shape)}"
            )
        if a.device != attentions[0].device:
            raise ValueError(f"attentions[{i}] is on {a.device} but attentions[0] is on {attentions[0].device}")
        if not torch.isfinite(a).all() or (a < 0).any():
            raise ValueError(
                f"attentions[{i}] must hold attention probabilities (finite, >= 0), "
                f"got values from {a.min().item():.3g} to {a.max().item():.3g}"
            )
    return attentions


def _check_key_mask(key_mask, B: int, L: int, device) -> Tensor | None:
    """``key_mask (B, L)`` of bools or 0/1 numbers → bool ``(B, L)``."""
    if key_mask is None:
        return None
    tensor("key_mask", key_mask, shape="(B, L)")
    if tuple(key_mask.shape) != (B, L):
        raise ValueError(f"key_mask must have shape (B, L) = {(B, L)}, got {tuple(key_mask.shape)}")
    if key_mask.dtype != torch.bool:
        if key_mask.is_complex() or not ((key_mask == 0) | (key_mask == 1)).all():
            raise ValueError("key_mask must be boolean or hold only 0 and 1 (1 = real token)")
        key_mask = key_mask != 0
    return key_mask.to(device)
