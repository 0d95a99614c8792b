"""Checks for the exercises of chapter 7, tools."""

from __future__ import annotations

import torch
from torch import nn

from ..attention import MultiHeadAttention
from ..config import TransformerConfig
from ..models import TransformerDecoder
from ..runtime import device as best_device
from ._report import (
    exercise, expect_close, expect_equal, expect_number, expect_raises, expect_tensor, expect_tuple, fail, test,
)


def _available(name: str) -> bool:
    if name == "cuda":
        return torch.cuda.is_available()
    if name == "mps":
        return torch.backends.mps.is_available()
    return True


@exercise("07_tools", 1, "a device from a list of preferences")
def pick_device(pick_device):
    """``pick_device(preferences, tensor) -> (torch.device, tensor moved there)``; ``ValueError`` if none fits."""
    t = torch.arange(4.0)
    with test('["cpu"]: the CPU, and the tensor unchanged'):
        device, moved = expect_tuple(pick_device(["cpu"], t), 2, names="(device, tensor)")
        expect_equal(device, torch.device("cpu"), what="the device")
        expect_close(moved, t, atol=0, rtol=0, what="the tensor")
    with test('["cuda", "mps", "cpu"]: the same choice as ca.device()'):
        device, moved = expect_tuple(pick_device(["cuda", "mps", "cpu"], t), 2, names="(device, tensor)")
        if not isinstance(device, torch.device):
            fail(f"the device is a {type(device).__name__}, expected a torch.device")
        expect_equal(device.type, best_device().type, what="the device's type")
        moved = expect_tensor(moved, shape=t.shape, what="the moved tensor")
        expect_equal(moved.device.type, device.type, what="the device of the moved tensor")
        expect_close(moved.cpu(), t, atol=0, rtol=0, what="the moved tensor")
    for name in ("cuda", "mps"):
        if _available(name):
            with test(f'["{name}"]: {name} is available here, so it is chosen'):
                device, _ = expect_tuple(pick_device([name], t), 2, names="(device, tensor)")
                expect_equal(getattr(device, "type", device), name, what="the device's type")
        else:
            with test(f'["{name}"]: {name} is not available here, so ValueError'):
                expect_raises(ValueError, pick_device, [name], t)
    for bad in (["tpu", "cpu"], ["gpu"], []):
        with test(f"{bad}: ValueError" + (" (an unknown name, even before an available one)" if bad[1:] else "")):
            expect_raises(ValueError, pick_device, bad, t)


@exercise("07_tools", 2, "count the parameters of a model")
def count_parameters(count_parameters):
    """``count_parameters(model, trainable_only=False) -> int``, each shared tensor counted once."""
    with test("nn.Linear(10, 5): 55 parameters"):
        expect_number(count_parameters(nn.Linear(10, 5)), 55, what="count_parameters(nn.Linear(10, 5))")
    with test("ca.MultiHeadAttention(32, 4): 4 × (32 × 32 + 32)"):
        expect_number(count_parameters(MultiHeadAttention(32, 4)), 4 * (32 * 32 + 32),
                      what="count_parameters(ca.MultiHeadAttention(32, 4))")
    with test("a decoder whose output layer shares the token embeddings counts that matrix once"):
        config = TransformerConfig(vocab_size=50, d_model=16, num_heads=2, num_layers=1)
        tied = TransformerDecoder(config, cross_attention=False)
        listed = sum(t.numel() for t in tied.state_dict().values())
        expect_number(count_parameters(tied), listed - 50 * 16, what="count_parameters(tied decoder)")
    frozen = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    frozen[0].requires_grad_(False)
    with test("a half-frozen model: 30 in all"):
        expect_number(count_parameters(frozen), 30, what="count_parameters(frozen)")
    with test("a half-frozen model: 10 trainable"):
        expect_number(count_parameters(frozen, trainable_only=True), 10,
                      what="count_parameters(frozen, trainable_only=True)")
