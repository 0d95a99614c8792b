"""What a call costs: its peak extra memory and its running time.

For example::

    from course_attn import profiling
    nbytes = profiling.peak_extra_bytes(fn, q, k, v)       # high-water mark of one call
    seconds = profiling.median_time(fn, q, k, v, repeat=5)  # median of repeated calls
    p = profiling.growth_exponent(lengths, seconds)         # 2.0 for a cost that grows as L**2
    sweep = profiling.attention_sweep([256, 512, 1024], ["math", "sdpa"])  # both, per (backend, L)

Memory is read from the PyTorch profiler's allocation events on the CPU and from
the CUDA caching allocator's peak counter on a GPU, so both count the bytes that
tensors ask for, not what the operating system reports.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor

from ._validate import integer, torch_device

__all__ = ["peak_extra_bytes", "median_time", "growth_exponent", "synchronize", "attention_sweep"]

SUPPORTED = ("cpu", "cuda")  # for peak memory; timing also takes "mps"


def synchronize(device: torch.device | str | None) -> None:
    """Wait for the device's queued work (CUDA and MPS run asynchronously); a no-op on the CPU."""
    kind = None if device is None else torch_device("device", device).type
    if kind == "cuda":
        torch.cuda.synchronize(device)
    elif kind == "mps":
        torch.mps.synchronize()


def peak_extra_bytes(fn: Callable[..., Any], *args: Any, device: torch.device | str | None = None) -> int:
    """Bytes allocated at the high-water mark of one call ``fn(*args)``, beyond what existed before it.

    Temporaries that ``fn`` frees before returning still count toward the peak
    (the scores of an attention call, say); memory alive before the call does not.
    The result tensor counts, since it is allocated during the call.

    ``device`` is ``"cpu"`` or ``"cuda"`` (or a ``torch.device``); by default
    the device of the first tensor among ``args``, else the CPU.

    On the CPU the allocations are read from the profiler (``profile_memory=True``);
    on CUDA from ``torch.cuda.max_memory_allocated``, which this call resets.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    device = _resolve_device(device, args, SUPPORTED, "peak memory")
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn(*args)
        synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    from torch.profiler import ProfilerActivity, profile

    prof = profile(activities=[ProfilerActivity.CPU], profile_memory=True)
    with _quiet_stderr():  # the profiler's C++ side logs "profiler_start" to fd 2
        prof.start()
    try:
        fn(*args)
    finally:
        with _quiet_stderr():
            prof.stop()
    events = sorted(
        (e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"),
        key=lambda e: e.start_ns(),
    )  # +nbytes for an allocation, -nbytes for a free, in time order
    live = peak = 0
    for e in events:
        live += e.nbytes()
        peak = max(peak, live)
    return peak


def median_time(
    fn: Callable[..., Any],
    *args: Any,
    repeat: int = 5,
    warmup: int = 1,
    device: torch.device | str | None = None,
) -> float:
    """Median wall-clock seconds of ``repeat`` calls ``fn(*args)``, after ``warmup`` untimed calls.

    The median shrugs off the occasional slow call that a busy machine produces.
    On CUDA and MPS each call is bracketed by a synchronization, so the time
    covers the kernels and not just their launch. ``device`` defaults to the
    device of the first tensor among ``args``, else the CPU.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    repeat, warmup = integer("repeat", repeat, minimum=1), integer("warmup", warmup, minimum=0)
    device = _resolve_device(device, args, (*SUPPORTED, "mps"), "timing")
    for _ in range(warmup):
        fn(*args)
    times = []
    for _ in range(repeat):
        synchronize(device)
        start = time.perf_counter()
        fn(*args)
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def growth_exponent(sizes, costs) -> float:
    """The exponent ``p`` of the least-squares fit ``cost ≈ c · size**p``: the slope of the costs
    against the sizes on log–log axes (2 for a cost that grows quadratically)."""
    x, y = _numbers("sizes", sizes), _numbers("costs", costs)
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(f"need at least two (size, cost) pairs of equal length, got {len(x)} sizes and {len(y)} costs")
    if not ((x > 0) & x.isfinite()).all() or not ((y > 0) & y.isfinite()).all():
        raise ValueError(f"sizes and costs must be positive (and finite) to fit on log-log axes, "
                         f"got sizes {x.tolist()} and costs {y.tolist()}")
    if x.unique().numel() < 2:
        raise ValueError("sizes must not all be equal: a slope needs two different sizes")
    lx, ly = x.log(), y.log()
    lx = lx - lx.mean()
    return float((lx * (ly - ly.mean())).sum() / (lx * lx).sum())


def _numbers(name: str, values) -> Tensor:
    """``values`` (a list, array or tensor of numbers) as a flat float64 tensor."""
    try:
        return torch.as_tensor(values, dtype=torch.float64).flatten()
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r}") from None


def _resolve_device(device, args, supported, what) -> torch.device:
    if device is None:
        device = next((a.device for a in args if isinstance(a, Tensor)), torch.device("cpu"))
    device = torch_device("device", device)
    if device.type not in supported:
        raise ValueError(f"device must be one of {supported} for {what}, got {str(device)!r}")
    return device


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null (C++ log lines would otherwise reach a notebook's output)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (an embedded interpreter)
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def attention_sweep(lengths, backends=("math", "sdpa"), *, batch: int = 1, heads: int = 2, head_dim: int = 32,
                    repeat: int = 3, single_above: int | None = None, max_length: dict | None = None,
                    generator: torch.Generator | int = 0) -> dict:
    """Time and peak extra memory of one self-attention call against the sequence length.

    For every ``L`` in ``lengths`` and every backend of :func:`~course_attn.scaled_dot_product_attention`,
    random ``q, k, v (batch, heads, L, head_dim)`` go through one call under ``torch.inference_mode``:
    :func:`median_time` of ``repeat`` calls (one call for ``L > single_above``) and
    :func:`peak_extra_bytes`. ``max_length`` maps a backend to the longest ``L`` it is run at (e.g.
    ``{"math": 2048}``: its ``L x L`` matrices would not fit beyond). Returns
    ``{"seconds": {(backend, L): s}, "peak": {(backend, L): bytes}}``, without the skipped pairs.
    """
    from ._validate import one_of
    from .functional import BACKENDS, scaled_dot_product_attention

    lengths = [integer("lengths", L, minimum=1) for L in lengths]
    if not lengths:
        raise ValueError("lengths must not be empty")
    backends = list(backends)
    for b in backends:
        one_of("backends", b, tuple(x for x in BACKENDS if x != "auto"))
    batch, heads = integer("batch", batch, minimum=1), integer("heads", heads, minimum=1)
    head_dim, repeat = integer("head_dim", head_dim, minimum=1), integer("repeat", repeat, minimum=1)
    max_length = dict(max_length or {})
    g = torch.Generator().manual_seed(generator) if isinstance(generator, int) else generator

    def attend(q, k, v, backend):
        return scaled_dot_product_attention(q, k, v, backend=backend)[0]

    seconds, peak = {}, {}
    with torch.inference_mode():
        for L in lengths:
            q, k, v = (torch.randn(batch, heads, L, head_dim, generator=g) for _ in range(3))
            for b in backends:
                if L > max_length.get(b, L):
                    continue
                times = 1 if single_above is not None and L > single_above else repeat
                seconds[b, L] = median_time(attend, q, k, v, b, repeat=times)
                peak[b, L] = peak_extra_bytes(attend, q, k, v, b)
    return {"seconds": seconds, "peak": peak}
