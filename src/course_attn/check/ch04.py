"""Checks for the exercises of chapter 4, the mathematics of attention."""

from __future__ import annotations

import torch

from .. import positional
from ..profiling import peak_extra_bytes
from ._report import exercise, expect_close, expect_tensor, fail, test


@exercise("04_math", 1, "the softmax backward pass")
def softmax_backward(softmax_backward):
    """``softmax_backward(s (..., m), g (..., m)) -> (..., m)``, the gradient by the softmax's input."""
    for shape in [(3, 4, 7), (7,), (5, 1), (2, 50)]:
        with test(f"s and g of shape {shape}: agrees with autograd"):
            z = torch.randn(shape, requires_grad=True)
            g = torch.randn(shape)
            s = z.softmax(dim=-1)
            (expected,) = torch.autograd.grad(s, z, g)
            s = s.detach()
            expect_close(softmax_backward(s, g), expected, atol=1e-6, hints={
                "sum g·s over the last dimension of each row (dim=-1, keepdim=True), "
                "not over the whole tensor": s * (g - (g * s).sum()),
            })
    with test("no (m, m) Jacobian: m = 2048 needs far less than the 16 MiB of one Jacobian"):
        s, g = torch.randn(1, 2048).softmax(-1), torch.randn(1, 2048)
        got = expect_tensor(softmax_backward(s, g), shape=(1, 2048))
        del got
        peak = peak_extra_bytes(softmax_backward, s, g)
        if peak >= 2048 * 2048 * 4:
            fail(f"the call allocated {peak / 2**20:.1f} MiB at its peak: it builds an (m, m) tensor")


@exercise("04_math", 2, "sinusoidal encodings")
def sinusoidal_table(sinusoidal_table):
    """``sinusoidal_table(n_positions, d) -> (n_positions, d)``, as ``SinusoidalPositionalEncoding``."""
    for n, d in [(10, 4), (50, 32), (200, 128), (1, 2)]:
        with test(f"n_positions={n}, d={d}: agrees with SinusoidalPositionalEncoding({d})"):
            expected = positional.SinusoidalPositionalEncoding(d).encoding(torch.arange(n))  # (n, d)
            halves = torch.cat([expected[:, 0::2], expected[:, 1::2]], dim=-1)
            swapped = torch.stack([expected[:, 1::2], expected[:, 0::2]], dim=-1).flatten(1)
            expect_close(sinusoidal_table(n, d), expected, atol=1e-4, hints={
                "interleave: sines in the even columns (0, 2, …), cosines in the odd ones, "
                "not one half each": halves,
                "sines go in the even columns and cosines in the odd ones, not the other way": swapped,
            })


@exercise("04_math", 3, "ALiBi slopes for any number of heads")
def alibi_slopes(alibi_slopes):
    """``alibi_slopes(num_heads) -> list[float]``, as ``positional.ALiBi(num_heads).slopes``."""
    with test("8 heads: 1/2, 1/4, …, 1/256"):
        got = alibi_slopes(8)
        expect_close(_as_tensor(got, 8), torch.tensor([2.0 ** -h for h in range(1, 9)]), atol=1e-8,
                     what="alibi_slopes(8)")
    for heads in (1, 2, 6, 12, 16):
        with test(f"{heads} head{'s' * (heads > 1)}: agrees with positional.ALiBi({heads}).slopes"):
            expected = positional.ALiBi(heads).slopes.double()  # (H,)
            p = 2 ** (heads.bit_length() - 1)
            geometric = torch.tensor([2.0 ** (-8 * h / heads) for h in range(1, heads + 1)], dtype=torch.float64)
            expect_close(_as_tensor(alibi_slopes(heads), heads), expected, atol=1e-8,
                         what=f"alibi_slopes({heads})", hints={
                f"{heads} is not a power of two: take the {p} slopes of {p} heads, then every other "
                f"slope of {2 * p} heads": geometric,
            })


def _as_tensor(slopes, heads: int) -> torch.Tensor:
    """The student's list of slopes as a float64 tensor, with a clear failure if it is not one."""
    if slopes is None:
        fail("the result is None: did you forget to `return` it?")
    try:
        values = torch.as_tensor(slopes, dtype=torch.float64).flatten()
    except (TypeError, ValueError, RuntimeError):
        fail(f"the result is a {type(slopes).__name__}, expected a list of {heads} floats")
    if values.numel() != heads:
        fail(f"got {values.numel()} slopes for {heads} heads, expected one slope per head")
    return values
