"""The convolutional baselines a practitioner tries first on images and on signals.

* :class:`ImageCNN`: two blocks of 3 x 3 convolution, ReLU and 2 x 2 max pooling, then a linear
  classifier on the flattened feature map (the LeNet / Keras-tutorial shape for MNIST).
* :class:`SignalCNN`: two 1-D convolutions over time with ReLU, global max pooling over the real
  time steps, then a linear classifier (the "fully convolutional" time-series baseline of Wang, Yan
  & Oates, 2017, with max instead of average pooling).

Both build in two assumptions that a Transformer has to learn from data: **locality** (a unit sees
a small neighbourhood) and **translation equivariance** (the same kernel slides everywhere, so a
shifted input gives a shifted feature map). Global max pooling then makes the signal model's
answer invariant to *where* in time a pattern occurs::

    cnn = ImageCNN(num_classes=10, channels=(16, 32))
    logits = cnn(images)                          # (B, 28, 28) or (B, 1, 28, 28) -> (B, 10)
    net = SignalCNN(in_channels=12, num_classes=9, channels=64)
    logits = net(frames, key_mask=mask)           # frames (B, T, 12), mask (B, T) -> (B, 9)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ._validate import integer, number, tensor

__all__ = ["ImageCNN", "SignalCNN"]


def _channel_pair(channels) -> tuple[int, int]:
    if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence) or len(channels) != 2:
        raise TypeError(f"channels must be a pair (c1, c2) of positive ints, got {channels!r}")
    return tuple(integer(f"channels[{i}]", c, minimum=1) for i, c in enumerate(channels))


class ImageCNN(nn.Module):
    """A small CNN for grey or colour images: ``(B, H, W)`` or ``(B, C_in, H, W)`` → logits ``(B, C)``.

    ``trunk``: ``conv3x3(C_in → c1)``, ReLU, ``maxpool2``, ``conv3x3(c1 → c2)``, ReLU, ``maxpool2``
    (``padding=1``, so each block halves the side); ``head``: dropout, linear on the flattened
    ``(c2, H/4, W/4)`` map. ``image_size`` is ``(H, W)``, both divisible by 4.
    """

    def __init__(self, num_classes: int = 10, *, channels: Sequence[int] = (16, 32), in_channels: int = 1,
                 image_size: tuple[int, int] = (28, 28), dropout: float = 0.0) -> None:
        super().__init__()
        num_classes = integer("num_classes", num_classes, minimum=2)
        c1, c2 = _channel_pair(channels)
        self.in_channels = integer("in_channels", in_channels, minimum=1)
        if isinstance(image_size, (str, bytes)) or not isinstance(image_size, Sequence) or len(image_size) != 2:
            raise TypeError(f"image_size must be a pair (H, W) of ints, got {image_size!r}")
        self.image_size = tuple(integer(f"image_size[{i}]", s, minimum=4) for i, s in enumerate(image_size))
        if any(s % 4 for s in self.image_size):
            raise ValueError(f"image_size must be (H, W) with both sides divisible by 4 (two 2 x 2 poolings), "
                             f"got {image_size!r}")
        dropout = number("dropout", dropout, low=0, high=1, high_open=True)
        self.trunk = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        h, w = self.image_size[0] // 4, self.image_size[1] // 4
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(c2 * h * w, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        """Images ``x (B, H, W)`` or ``(B, C_in, H, W)`` → logits ``(B, num_classes)``."""
        tensor("x", x, dims=(3, 4), kind="float", shape="(B, H, W) or (B, C_in, H, W)")
        if x.dim() == 3:
            x = x.unsqueeze(1)  # (B, 1, H, W)
        if x.shape[1] != self.in_channels or tuple(x.shape[2:]) != self.image_size:
            raise ValueError(f"x must be images (B, {self.in_channels}, {self.image_size[0]}, {self.image_size[1]}), "
                             f"got {tuple(x.shape)}")
        return self.head(self.trunk(x))  # trunk: (B, c2, H/4, W/4) -> (B, C)


class SignalCNN(nn.Module):
    """A 1-D CNN over time: frames ``(B, T, F)`` (time first, like tokens) → logits ``(B, C)``.

    ``trunk``: ``conv1d(F → c, k)``, ReLU, ``conv1d(c → c, k)``, ReLU (``padding=k // 2``, so the
    length stays ``T``); then the maximum of each channel over the real time steps (``key_mask
    (B, T)``, ``True`` = real frame; padded frames never win the maximum), dropout and a linear
    classifier. ``kernel_size`` is odd.
    """

    def __init__(self, in_channels: int, num_classes: int, *, channels: int = 64, kernel_size: int = 3,
                 dropout: float = 0.0) -> None:
        super().__init__()
        in_channels = integer("in_channels", in_channels, minimum=1)
        num_classes = integer("num_classes", num_classes, minimum=2)
        channels = integer("channels", channels, minimum=1)
        kernel_size = integer("kernel_size", kernel_size, minimum=1)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (so the length stays T), got {kernel_size}")
        self.in_channels = in_channels
        pad = kernel_size // 2
        self.trunk = nn.Sequential(
            nn.Conv1d(in_channels, channels, kernel_size, padding=pad), nn.ReLU(),
            nn.Conv1d(channels, channels, kernel_size, padding=pad), nn.ReLU(),
        )
        dropout = number("dropout", dropout, low=0, high=1, high_open=True)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels, num_classes))

    def features(self, x: Tensor, key_mask: Tensor | None = None) -> Tensor:
        """The trunk's feature map ``(B, c, T)`` of frames ``x (B, T, F)``, zero at padded frames
        (which are zeroed on input too, so a padded series gives the features of the series alone)."""
        tensor("x", x, dims=3, kind="float", shape="(B, T, F)")
        if x.shape[-1] != self.in_channels:
            raise ValueError(f"x must be frames (B, T, {self.in_channels}), got {tuple(x.shape)}")
        mask = _check_mask(key_mask, x.shape[:2])  # (B, T) or None
        x = x.transpose(1, 2)  # (B, F, T)
        if mask is None:
            return self.trunk(x)  # (B, c, T)
        h = x * mask[:, None]  # (B, F, T)
        for layer in self.trunk:
            h = layer(h)
            if isinstance(layer, nn.Conv1d):
                h = h * mask[:, None]  # (B, c, T): padding stays zero, as at the sequence's ends
        return h

    def forward(self, x: Tensor, key_mask: Tensor | None = None) -> Tensor:
        """Frames ``x (B, T, F)``, ``key_mask (B, T)`` → logits ``(B, num_classes)``."""
        h = self.features(x, key_mask)  # (B, c, T)
        if key_mask is not None:
            h = h.masked_fill(~key_mask.bool()[:, None], float("-inf"))  # padding never wins
        return self.head(h.amax(dim=-1))  # (B, c) -> (B, C)


def _check_mask(key_mask, shape: torch.Size) -> Tensor | None:
    """``key_mask (B, T)`` bool (``True`` = real frame), with at least one real frame per row."""
    if key_mask is None:
        return None
    tensor("key_mask", key_mask, dims=2, kind="bool", shape="(B, T)")
    if key_mask.shape != shape:
        raise ValueError(f"key_mask must be (B, T) = {tuple(shape)}, True for real frames; got {tuple(key_mask.shape)}")
    if not key_mask.any(dim=1).all():
        raise ValueError("key_mask has a row without any real frame: every series needs at least one")
    return key_mask.float()
