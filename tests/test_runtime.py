import numpy as np
import pytest
import torch

import course_attn as ca


def test_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert ca.device() == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert ca.device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert ca.device() == torch.device("cuda")


def test_device_is_usable_here():
    x = torch.ones(2, device=ca.device())
    assert x.sum().item() == 2


def test_seed_everything_repeats_every_stream():
    def draw():
        return torch.rand(3), np.random.rand(3), __import__("random").random()

    ca.seed_everything(7)
    first = draw()
    ca.seed_everything(7)
    second = draw()
    assert torch.equal(first[0], second[0]) and np.array_equal(first[1], second[1]) and first[2] == second[2]
    g = ca.seed_everything(7)
    assert torch.equal(torch.rand(3, generator=g), torch.rand(3, generator=torch.Generator().manual_seed(7)))
    with pytest.raises(TypeError, match="seed must be an int"):
        ca.seed_everything(1.5)
