"""CUDA and MPS paths. These skip where no such device exists (as on CI)."""

import pytest
import torch
import torch.nn.functional as F

import course_attn as ca

DEVICES = [
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
    pytest.param("mps", marks=pytest.mark.skipif(
        not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()), reason="no MPS device")),
]


def half_dtypes(device):
    if device == "cuda" and torch.cuda.is_bf16_supported():
        return [torch.float16, torch.bfloat16]
    return [torch.float16]


@pytest.mark.parametrize("device", DEVICES)
def test_device_picks_the_accelerator(device):
    assert ca.device().type == device


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("backend", ["math", "sdpa"])
def test_module_on_device_matches_cpu(device, backend):
    m = ca.MultiHeadAttention(32, 4, backend=backend).eval()
    x = torch.randn(2, 9, 32)
    key_mask = ca.masks.padding_mask([9, 5], 9)
    expected = m(x, key_mask=key_mask, causal=True)[0]
    out = m.to(device)(x.to(device), key_mask=key_mask.to(device), causal=True)[0]
    assert out.device.type == device
    torch.testing.assert_close(out.cpu(), expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("backend", ["math", "sdpa"])
def test_half_precision_masks_and_empty_rows(device, backend):
    for dtype in half_dtypes(device):
        q, k, v = (torch.randn(2, 4, 64, 32, device=device, dtype=dtype, requires_grad=True) for _ in range(3))
        mask = ca.masks.causal_mask(64, device=device).clone()
        mask[5] = False  # a query with no key at all
        out, _ = ca.scaled_dot_product_attention(q, k, v, mask, backend=backend)
        assert torch.isfinite(out).all() and (out[:, :, 5] == 0).all()
        expected = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=mask | (torch.arange(64, device=device) == 0))
        keep = torch.ones(64, dtype=torch.bool, device=device)
        keep[5] = False
        torch.testing.assert_close(out[:, :, keep].float(), expected[:, :, keep], atol=2e-2, rtol=2e-2)
        out.float().sum().backward()
        assert all(torch.isfinite(t.grad).all() for t in (q, k, v))
