"""Shared test setup: deterministic torch and a headless matplotlib."""

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

FP32 = dict(atol=1e-5, rtol=1e-5)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def reference_causal(L, S):
    """Bottom-right aligned causal mask built independently of course_attn (True = may attend)."""
    return torch.ones(L, S).tril(diagonal=S - L).bool()
