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


FUSED_OPS = ("_scaled_dot_product_flash_attention", "_scaled_dot_product_efficient_attention",
             "_scaled_dot_product_cudnn_attention")


def fused_ops_called(fn):
    """Names of PyTorch's fused attention operators that ``fn()`` dispatched to."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    return {e.key for e in prof.key_averages() if any(op in e.key for op in FUSED_OPS)}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_sdpa_backend_dispatches_to_a_fused_cuda_kernel(dtype):
    if dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
        pytest.skip("no bf16 on this GPU")
    q, k, v = (torch.randn(2, 8, 512, 64, device="cuda", dtype=dtype) for _ in range(3))
    assert fused_ops_called(lambda: ca.scaled_dot_product_attention(q, k, v, causal=True)), \
        "causal attention without weights must not fall back to the math kernel"
    bias = ca.positional.ALiBi(8).to("cuda").score_bias(q, torch.arange(512, device="cuda"),
                                                      torch.arange(512, device="cuda"), 0.125)
    called = fused_ops_called(lambda: ca.scaled_dot_product_attention(q, k, v, bias))
    assert any("efficient" in name or "cudnn" in name for name in called), \
        f"an additive bias should run in the memory-efficient kernel, got {called}"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_chunked_backend_on_cuda_matches_sdpa():
    q, k, v = (torch.randn(1, 4, 1000, 64, device="cuda") for _ in range(3))
    fused, _ = ca.scaled_dot_product_attention(q, k, v, causal=True, backend="sdpa")
    chunked, _ = ca.scaled_dot_product_attention(q, k, v, causal=True, backend="chunked")
    torch.testing.assert_close(chunked, fused, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("backend", ["math", "sdpa", "chunked"])
def test_half_precision_weights_and_positions_on_device(device, backend):
    """fp16 scores that fit only after scaling, a model cast to half with RoPE and ALiBi, and
    grouped-query heads: each compared with float32 on the same device."""
    q = torch.full((1, 1, 2, 64), 8.0, device=device)
    k = torch.full((1, 1, 3, 64), 400.0, device=device)
    v = torch.randn(1, 1, 3, 8, device=device)
    out, _ = ca.scaled_dot_product_attention(q.half(), k.half(), v.half(), backend=backend)
    assert torch.isfinite(out).all()
    for position in ("rope", "alibi"):
        scheme = ca.positional.build(position, d_model=64, num_heads=8)
        m = ca.MultiHeadAttention(64, 8, num_kv_heads=2, position=scheme, backend=backend).to(device).eval()
        x = torch.randn(1, 700, 64, device=device)
        expected, _ = m(x, causal=True)
        for dtype in half_dtypes(device):
            got, _ = m.to(dtype)(x.to(dtype), causal=True)
            torch.testing.assert_close(got.float(), expected, atol=5e-2, rtol=5e-2)
            m.float()
